//! Criterion benches of every engine on the canonical configs (docs/performance.md):
//! A = ReLU n0=16 n=256 L=32 K=2, output + NTK; B = ReLU n=1024 L=64 K=1, output;
//! C = exact regions + length distortion along a segment, ReLU n=64 L=8.
//! The GPU dense engine is included when an adapter exists (lavapipe counts).
//! Throughput is reported in networks; `randnet bench` gives the same figures beside the peers.
//! The `generator` group times the Gaussian fill alone on every build this CPU runs (one
//! thread, rows of 256 and 4096; throughput in normals).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use randnet_problem::{Activation, InputSpec, NetworkSpec, Observe, Parameterization, WeightLaw};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::stream::{fill_gauss_on, tag, GeneratorPath, Purpose};
use randnet_sampler::{
    AdapterPreference, BatchSampler, CpuDense, CpuGeometry, CpuMatrixFree, GpuContext, GpuDense,
    Problem,
};

fn problem(n0: usize, n: usize, l: usize, k: usize, observe: &str) -> Problem {
    let spec = NetworkSpec::new(
        n0,
        vec![n; l],
        1,
        Activation::Relu,
        None,
        0.0,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    )
    .unwrap();
    Problem {
        inputs: resolve_inputs(&InputSpec::Random { count: k }, n0, 1),
        spec,
        observe: Observe::parse_list(observe).unwrap(),
        seed: 1,
    }
}

fn bench_sampler(
    c: &mut Criterion,
    group: &str,
    name: &str,
    s: &mut dyn BatchSampler,
    batch: usize,
) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.throughput(Throughput::Elements(batch as u64));
    let mut buf = vec![0.0; batch * s.n_values()];
    let mut start = 0u64;
    g.bench_function(name, |b| {
        b.iter(|| {
            s.sample_batch(start, batch, &mut buf).unwrap();
            start += batch as u64;
        })
    });
    g.finish();
}

fn engines(c: &mut Criterion) {
    let a = problem(16, 256, 32, 2, "output,ntk");
    let b = problem(16, 1024, 64, 1, "output");
    let cfg_c = problem(64, 64, 8, 2, "length_distortion,regions");
    bench_sampler(c, "A", "cpu-dense", &mut CpuDense::new(&a).unwrap(), 16);
    bench_sampler(
        c,
        "A",
        "cpu-matrix-free",
        &mut CpuMatrixFree::new(&a).unwrap(),
        2048,
    );
    bench_sampler(c, "B", "cpu-dense", &mut CpuDense::new(&b).unwrap(), 2);
    bench_sampler(
        c,
        "B",
        "cpu-matrix-free",
        &mut CpuMatrixFree::new(&b).unwrap(),
        2048,
    );
    bench_sampler(
        c,
        "C",
        "cpu-exact-geometry",
        &mut CpuGeometry::new(&cfg_c).unwrap(),
        64,
    );
    if let Ok(ctx) = GpuContext::new(AdapterPreference::default()) {
        let big = ctx.is_hardware();
        bench_sampler(
            c,
            "A",
            "gpu-dense",
            &mut GpuDense::new(&ctx, &a).unwrap(),
            if big { 65536 } else { 8 },
        );
        bench_sampler(
            c,
            "B",
            "gpu-dense",
            &mut GpuDense::new(&ctx, &b).unwrap(),
            if big { 8192 } else { 1 },
        );
    }
}

fn generator(c: &mut Criterion) {
    let mut g = c.benchmark_group("generator");
    for len in [256usize, 4096] {
        g.throughput(Throughput::Elements(len as u64));
        for path in [
            GeneratorPath::Scalar,
            GeneratorPath::Avx2,
            GeneratorPath::Avx512,
        ] {
            if !path.available() {
                continue;
            }
            let mut buf = vec![0.0; len];
            let mut row = 0u32;
            g.bench_function(BenchmarkId::new(path.name(), len), |b| {
                b.iter(|| {
                    let w = tag(Purpose::Weight, 1);
                    fill_gauss_on(path, [3, 0], row, w, 0, &mut buf);
                    row = row.wrapping_add(1);
                    std::hint::black_box(&buf[..]);
                })
            });
        }
    }
    g.finish();
}

// No plots: they need system fonts a fresh machine may lack, and the figures are the numbers.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = engines, generator
}
criterion_main!(benches);
