//! One wgpu context per run: adapter choice, device and queue with the adapter's own limits,
//! bind-group layouts and compiled pipelines (cached), error capture, buffer read-back.

use crate::activation::LayerActivation;
use crate::SamplerError;
use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};

use super::shaders;

/// Which adapter [`GpuContext::new`] may pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterPreference {
    /// Accept a CPU adapter (Mesa's lavapipe, `DeviceType::Cpu`) when no hardware GPU exists.
    /// `--backend gpu` sets this (CI runs the GPU kernels on lavapipe); `auto` does not.
    pub allow_cpu_adapter: bool,
    /// Only adapters whose name contains this (case-insensitive) — `--adapter SUBSTRING`.
    /// An adapter named explicitly is accepted even when it is a CPU adapter.
    pub adapter_substring: Option<String>,
}

impl Default for AdapterPreference {
    fn default() -> Self {
        AdapterPreference {
            allow_cpu_adapter: true,
            adapter_substring: None,
        }
    }
}

/// A short description of an adapter, for listings and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    /// "discrete", "integrated", "virtual", "cpu" or "other".
    pub device_type: &'static str,
    /// "vulkan", "metal", "dx12", ...
    pub backend: String,
    pub driver: String,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {}", self.name, self.device_type, self.backend)?;
        if !self.driver.is_empty() {
            write!(f, ", {}", self.driver)?;
        }
        write!(f, ")")
    }
}

fn type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

fn summary(info: &wgpu::AdapterInfo) -> AdapterSummary {
    AdapterSummary {
        name: info.name.clone(),
        device_type: type_name(info.device_type),
        backend: info.backend.to_string(),
        driver: info.driver.clone(),
    }
}

/// Preference rank: lower is better; hardware GPUs first.
fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn is_hardware_type(t: wgpu::DeviceType) -> bool {
    matches!(
        t,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

fn gpu_err(msg: impl Into<String>) -> SamplerError {
    SamplerError::Gpu(msg.into())
}

fn new_instance() -> wgpu::Instance {
    // WGPU_BACKEND etc. from the environment may narrow the backends.
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter wgpu can see on this machine (for `--adapter` help and error messages).
pub fn available_adapters() -> Vec<AdapterSummary> {
    let instance = new_instance();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| summary(&a.get_info()))
        .collect()
}

/// The device, queue, layouts and pipelines of one run. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct GpuContext {
    inner: Arc<Inner>,
}

struct Inner {
    info: wgpu::AdapterInfo,
    device: wgpu::Device,
    queue: wgpu::Queue,
    limits: wgpu::Limits,
    dense_layout: wgpu::BindGroupLayout,
    dense_pipeline_layout: wgpu::PipelineLayout,
    probe_layout: wgpu::BindGroupLayout,
    probe_pipeline_layout: wgpu::PipelineLayout,
    pipelines: Mutex<HashMap<String, wgpu::ComputePipeline>>,
    /// First uncaptured device error (validation, out of memory, internal) or device loss.
    error: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.inner.info.name)
            .field("device_type", &self.inner.info.device_type)
            .field("backend", &self.inner.info.backend)
            .finish()
    }
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32, dynamic_size: Option<u64>) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic_size.is_some(),
            min_binding_size: dynamic_size.and_then(wgpu::BufferSize::new),
        },
        count: None,
    }
}

/// The uniform block of the probe kernels (`Probe` in shaders/philox_probe.wgsl).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ProbeParams {
    key: [u32; 2],
    n: u32,
    kind: u32,
    p: f32,
    m: f32,
    pad: [u32; 2],
}

impl GpuContext {
    /// Opens the preferred adapter: a hardware GPU (discrete, then integrated, then virtual)
    /// first, else — if `prefer.allow_cpu_adapter` — a CPU adapter such as lavapipe. The device
    /// is created with the adapter's own limits (storage binding and buffer sizes, workgroup
    /// storage and invocations), not WebGPU's defaults.
    pub fn new(prefer: AdapterPreference) -> Result<Self, SamplerError> {
        let instance = new_instance();
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let listing = |adapters: &[wgpu::Adapter]| -> String {
            if adapters.is_empty() {
                "none".to_string()
            } else {
                adapters
                    .iter()
                    .map(|a| summary(&a.get_info()).to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        };
        let wanted = prefer.adapter_substring.as_ref().map(|s| s.to_lowercase());
        let mut candidates: Vec<&wgpu::Adapter> = adapters
            .iter()
            .filter(|a| {
                let info = a.get_info();
                match &wanted {
                    Some(w) => info.name.to_lowercase().contains(w.as_str()),
                    None => prefer.allow_cpu_adapter || is_hardware_type(info.device_type),
                }
            })
            .collect();
        candidates.sort_by_key(|a| rank(a.get_info().device_type));
        let adapter = match candidates.first() {
            Some(a) => (*a).clone(),
            None => {
                let why = match &prefer.adapter_substring {
                    Some(s) => format!("no GPU adapter's name contains '{s}'"),
                    None if adapters.is_empty() => "no GPU adapter found (is a Vulkan driver \
                        installed? on a machine without a GPU, Mesa's lavapipe: \
                        apt-get install mesa-vulkan-drivers libvulkan1)"
                        .to_string(),
                    None => "no hardware GPU adapter found and CPU adapters are not allowed here"
                        .to_string(),
                };
                return Err(gpu_err(format!(
                    "{why}; adapters seen: {}",
                    listing(&adapters)
                )));
            }
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("randnet"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
            gpu_err(format!(
                "could not open a device on adapter {}: {e}",
                info.name
            ))
        })?;
        let error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        {
            let error = error.clone();
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                let mut slot = error.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_none() {
                    *slot = Some(format!("GPU error: {e}"));
                }
            }));
        }
        {
            let error = error.clone();
            device.set_device_lost_callback(move |reason, msg| {
                if reason == wgpu::DeviceLostReason::Destroyed {
                    return;
                }
                let mut slot = error.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_none() {
                    *slot = Some(format!("GPU device lost ({reason:?}): {msg}"));
                }
            });
        }

        let dense_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("dense"),
            entries: &[
                // One block of parameters per dispatch, selected by a dynamic offset.
                uniform_entry(0, Some(super::dense::PARAMS_BYTES)),
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(3, false),
                storage_entry(4, false),
            ],
        });
        let dense_pipeline_layout =
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("dense"),
                bind_group_layouts: &[Some(&dense_layout)],
                immediate_size: 0,
            });
        let probe_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("probe"),
            entries: &[
                uniform_entry(0, None),
                storage_entry(1, true),
                storage_entry(2, false),
                storage_entry(3, false),
            ],
        });
        let probe_pipeline_layout =
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("probe"),
                bind_group_layouts: &[Some(&probe_layout)],
                immediate_size: 0,
            });
        Ok(GpuContext {
            inner: Arc::new(Inner {
                info,
                device,
                queue,
                limits,
                dense_layout,
                dense_pipeline_layout,
                probe_layout,
                probe_pipeline_layout,
                pipelines: Mutex::new(HashMap::new()),
                error,
            }),
        })
    }

    /// The adapter's name, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 19.1.7, 256 bits)".
    pub fn adapter_name(&self) -> &str {
        &self.inner.info.name
    }

    /// Name, type, backend and driver of the adapter in use.
    pub fn adapter_summary(&self) -> AdapterSummary {
        summary(&self.inner.info)
    }

    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.inner.info
    }

    /// True for a hardware GPU (discrete, integrated or virtual), false for a CPU adapter.
    pub fn is_hardware(&self) -> bool {
        is_hardware_type(self.inner.info.device_type)
    }

    /// The limits the device was opened with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.inner.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }

    pub(crate) fn dense_layout(&self) -> &wgpu::BindGroupLayout {
        &self.inner.dense_layout
    }

    /// A bind group of the layout every engine kernel shares: binding 0 the uniform parameters
    /// (`PARAMS_BYTES` at a dynamic offset), then four storage buffers (in the dense kernel: the
    /// layer table, the inputs, the scratch and the output; other kernels give them their own
    /// roles).
    pub(crate) fn engine_bind_group(
        &self,
        label: &str,
        params: &wgpu::Buffer,
        storage: [&wgpu::Buffer; 4],
    ) -> wgpu::BindGroup {
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: params,
                offset: 0,
                size: wgpu::BufferSize::new(super::dense::PARAMS_BYTES),
            }),
        }];
        for (i, b) in storage.into_iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        self.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: self.dense_layout(),
            entries: &entries,
        })
    }

    /// The first device error since the context was made, as a [`SamplerError::Gpu`].
    pub fn check(&self) -> Result<(), SamplerError> {
        let slot = self.inner.error.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some(e) => Err(gpu_err(e.clone())),
            None => Ok(()),
        }
    }

    /// A compute pipeline for `source`'s `entry`, compiled once per context and cached.
    pub(crate) fn pipeline(
        &self,
        label: &str,
        source: &str,
        entry: &str,
        dense: bool,
    ) -> Result<wgpu::ComputePipeline, SamplerError> {
        let cache_key = format!("{entry}\n{source}");
        let mut cache = self
            .inner
            .pipelines
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(&cache_key) {
            return Ok(p.clone());
        }
        let device = &self.inner.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let layout = if dense {
            &self.inner.dense_pipeline_layout
        } else {
            &self.inner.probe_pipeline_layout
        };
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: Some(layout),
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err(format!(
                "the WGSL kernel '{label}' did not compile: {e}"
            )));
        }
        cache.insert(cache_key, pipeline.clone());
        Ok(pipeline)
    }

    /// Creates a buffer, turning an allocation failure into a clear error.
    pub(crate) fn buffer(
        &self,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer, SamplerError> {
        let device = &self.inner.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let scope2 = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16),
            usage,
            mapped_at_creation: false,
        });
        let validation = pollster::block_on(scope2.pop());
        let oom = pollster::block_on(scope.pop());
        if let Some(e) = oom.or(validation) {
            return Err(SamplerError::TooLarge(format!(
                "could not allocate {size} bytes of GPU memory for '{label}' on {}: {e}",
                self.inner.info.name
            )));
        }
        Ok(buf)
    }

    /// Waits for `submission`, maps `buf[..bytes]` and hands its bytes to `f`.
    /// Encodes one chunk of an engine: `params` (one `P` per dispatch, each at its own aligned
    /// dynamic offset of `params_buf`), one dispatch of `workgroups` per block in order, then a
    /// copy of the first `out_bytes` of `out` into `staging`; submits it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn submit_blocks<P: bytemuck::Pod>(
        &self,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        bind: &wgpu::BindGroup,
        params_buf: &wgpu::Buffer,
        align: usize,
        params: &[P],
        workgroups: u32,
        out: &wgpu::Buffer,
        staging: &wgpu::Buffer,
        out_bytes: u64,
    ) -> wgpu::SubmissionIndex {
        let size = std::mem::size_of::<P>();
        let mut block = vec![0u8; align * params.len()];
        for (i, p) in params.iter().enumerate() {
            block[i * align..i * align + size].copy_from_slice(bytemuck::bytes_of(p));
        }
        self.queue().write_buffer(params_buf, 0, &block);
        let mut enc = self
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(label),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            for i in 0..params.len() {
                pass.set_bind_group(0, bind, &[(i * align) as u32]);
                pass.dispatch_workgroups(workgroups, 1, 1);
            }
        }
        enc.copy_buffer_to_buffer(out, 0, staging, 0, out_bytes);
        self.queue().submit([enc.finish()])
    }

    /// Reads `out.len()` f32 values of a submitted chunk from `staging` into `out` as f64.
    pub(crate) fn read_f32(
        &self,
        staging: &wgpu::Buffer,
        submission: wgpu::SubmissionIndex,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        self.read_mapped(staging, (out.len() * 4) as u64, submission, |b| {
            let vals: &[f32] = bytemuck::cast_slice(b);
            for (o, v) in out.iter_mut().zip(vals) {
                *o = *v as f64;
            }
        })
    }

    pub(crate) fn read_mapped<R>(
        &self,
        buf: &wgpu::Buffer,
        bytes: u64,
        submission: wgpu::SubmissionIndex,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, SamplerError> {
        let (tx, rx) = mpsc::channel();
        let slice = buf.slice(..bytes);
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.inner
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: None,
            })
            .map_err(|e| gpu_err(format!("waiting for the GPU failed: {e}")))?;
        // The map callback runs inside poll; make sure it has run.
        let mapped = loop {
            match rx.try_recv() {
                Ok(r) => break r,
                Err(mpsc::TryRecvError::Empty) => {
                    self.inner
                        .device
                        .poll(wgpu::PollType::wait_indefinitely())
                        .map_err(|e| gpu_err(format!("waiting for the GPU failed: {e}")))?;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.check()?;
                    return Err(gpu_err("reading GPU results back failed"));
                }
            }
        };
        self.check()?;
        mapped.map_err(|e| gpu_err(format!("reading GPU results back failed: {e}")))?;
        let r = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| gpu_err(format!("reading GPU results back failed: {e}")))?;
            f(&view)
        };
        buf.unmap();
        Ok(r)
    }

    fn run_probe(
        &self,
        label: &str,
        source: &str,
        entry: &str,
        params: ProbeParams,
        input: &[[u32; 4]],
        out_f_vec4s: usize,
    ) -> Result<(Vec<[u32; 4]>, Vec<f32>), SamplerError> {
        let pipeline = self.pipeline(label, source, entry, false)?;
        let device = &self.inner.device;
        let queue = &self.inner.queue;
        let n = input.len();
        let u_bytes = (n * 16) as u64;
        let f_bytes = (out_f_vec4s * 16) as u64;
        use wgpu::BufferUsages as U;
        let pbuf = self.buffer("probe params", 32, U::UNIFORM | U::COPY_DST)?;
        let ibuf = self.buffer("probe in", u_bytes, U::STORAGE | U::COPY_DST)?;
        let ubuf = self.buffer("probe out u", u_bytes, U::STORAGE | U::COPY_SRC)?;
        let fbuf = self.buffer("probe out f", f_bytes, U::STORAGE | U::COPY_SRC)?;
        let staging = self.buffer(
            "probe staging",
            u_bytes + f_bytes,
            U::MAP_READ | U::COPY_DST,
        )?;
        queue.write_buffer(&pbuf, 0, bytemuck::bytes_of(&params));
        queue.write_buffer(&ibuf, 0, bytemuck::cast_slice(input));
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &self.inner.probe_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: pbuf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: ibuf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: ubuf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: fbuf.as_entire_binding(),
                },
            ],
        });
        let mut enc =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(label),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups((n as u32).div_ceil(64), 1, 1);
        }
        enc.copy_buffer_to_buffer(&ubuf, 0, &staging, 0, u_bytes);
        enc.copy_buffer_to_buffer(&fbuf, 0, &staging, u_bytes, f_bytes);
        let idx = queue.submit([enc.finish()]);
        self.read_mapped(&staging, u_bytes + f_bytes, idx, |bytes| {
            let words: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[..u_bytes as usize]);
            let vals: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[u_bytes as usize..]);
            let words = words
                .chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect();
            (words, vals)
        })
    }

    /// Runs the WGSL Philox4x32-10 (shaders/philox.wgsl, normal.wgsl) on `counters` under `key`:
    /// for each counter the four words and the values of each weight law, in the order
    /// gaussian (Box–Muller), uniform, rademacher. A test hook for the CPU twin.
    pub fn philox_probe(
        &self,
        key: [u32; 2],
        counters: &[[u32; 4]],
    ) -> Result<Vec<PhiloxProbe>, SamplerError> {
        if counters.is_empty() {
            return Ok(Vec::new());
        }
        let params = ProbeParams {
            key,
            n: counters.len() as u32,
            kind: 0,
            p: 0.0,
            m: 0.0,
            pad: [0; 2],
        };
        let (words, vals) = self.run_probe(
            "philox_probe",
            &shaders::philox_probe_source(),
            "philox_probe",
            params,
            counters,
            3 * counters.len(),
        )?;
        Ok(words
            .into_iter()
            .enumerate()
            .map(|(n, words)| {
                let v = &vals[12 * n..12 * n + 12];
                PhiloxProbe {
                    words,
                    gaussian: [v[0], v[1], v[2], v[3]],
                    uniform: [v[4], v[5], v[6], v[7]],
                    rademacher: [v[8], v[9], v[10], v[11]],
                }
            })
            .collect())
    }

    /// Runs the WGSL activation (shaders/activation.wgsl) on `ts`: (sigma(t), sigma'(t)) in f32.
    /// A test hook for the CPU twin.
    pub fn activation_probe(
        &self,
        act: LayerActivation,
        ts: &[f32],
    ) -> Result<Vec<(f32, f32)>, SamplerError> {
        if ts.is_empty() {
            return Ok(Vec::new());
        }
        let (kind, p, m) = super::dense::act_code(act);
        let mut input: Vec<[u32; 4]> = Vec::with_capacity(ts.len().div_ceil(4));
        for chunk in ts.chunks(4) {
            let mut v = [0u32; 4];
            for (e, t) in chunk.iter().enumerate() {
                v[e] = t.to_bits();
            }
            input.push(v);
        }
        let params = ProbeParams {
            key: [0; 2],
            n: input.len() as u32,
            kind,
            p,
            m,
            pad: [0; 2],
        };
        let (_, vals) = self.run_probe(
            "activation_probe",
            &shaders::activation_probe_source(),
            "activation_probe",
            params,
            &input,
            2 * input.len(),
        )?;
        Ok((0..ts.len())
            .map(|i| {
                let (n, e) = (i / 4, i % 4);
                (vals[8 * n + e], vals[8 * n + 4 + e])
            })
            .collect())
    }
}

/// One Philox block computed by the WGSL code: the words and the values of each weight law.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhiloxProbe {
    pub words: [u32; 4],
    pub gaussian: [f32; 4],
    pub uniform: [f32; 4],
    pub rademacher: [f32; 4],
}
