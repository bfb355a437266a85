//! Shared by the GPU test files: one GPU context per test binary, or `None` (the tests then print
//! SKIP and return) when the machine has no adapter at all. CI installs lavapipe, so there they run.

use randnet_sampler::gpu::{available_adapters, AdapterPreference, GpuContext};
use std::sync::OnceLock;

pub fn ctx() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    CTX.get_or_init(|| {
        if available_adapters().is_empty() {
            eprintln!("SKIP: no GPU adapter (install mesa-vulkan-drivers for lavapipe)");
            return None;
        }
        let c = GpuContext::new(AdapterPreference::default()).expect("GPU context");
        eprintln!("GPU tests on: {}", c.adapter_summary());
        Some(c)
    })
    .as_ref()
}
