//! Value stability, in the style of the `rand` crate's value-stability tests: the random stream
//! (docs/rng.md) and every CPU engine's per-network values for fixed seeds are public API, pinned
//! here BIT FOR BIT (`f64::to_bits`, Philox words) as hex literals.
//!
//! The golden values were captured once from the code as it was when this file was written (the
//! reference by definition). A failure here means the public stream changed, or an engine now
//! gives a seed's networks different numbers: that is a breaking change, to be made on purpose
//! only and announced in docs/rng.md (then update the literals here).
//!
//! Pinned: the weights of each law (Gaussian, Uniform, Rademacher) of layer 1 and layer 3, a bias
//! row, the Philox words and derived keys (networks below and beyond 2^32, docs/rng.md "Networks
//! beyond 2^32"), drawn and angle inputs, the Jacobian direction u, the matrix-free engine's
//! forward and backward factor streams, and the full value vectors of the dense, matrix-free and
//! geometry engines for a handful of problems. The last test shows that the values depend neither
//! on the thread count nor on how networks are split into batches.

use randnet_problem::{
    Curve, InputSpec, NetworkSpec, Observe, Parameterization, Residual, WeightLaw,
};
use randnet_sampler::inputs::{fill_layer0, resolve_inputs};
use randnet_sampler::philox::{key_of_seed, philox4x32_10};
use randnet_sampler::stream::{fill_row, network_key, network_stream, tag, Purpose};
use randnet_sampler::{BatchSampler, CpuDense, CpuGeometry, CpuMatrixFree, Problem};

/// The two seeds of the stream pins.
const SEEDS: [u64; 2] = [42, 0x5EED_0000_0000_002A];
/// Two networks: one below 2^32 (key = the seed) and one beyond (hi = 3, a derived key).
const NETS: [u64; 2] = [1000, (3 << 32) + 17];
/// The networks of the engine pins.
const ENGINE_NETS: [u64; 3] = [0, 1000, (1 << 32) + 1000];
const LAWS: [WeightLaw; 3] = [
    WeightLaw::Gaussian,
    WeightLaw::Uniform,
    WeightLaw::Rademacher,
];

// ---------------------------------------------------------------------------------------------
// What is pinned, computed from the public API.

/// Elements 0..len of row `row` of stream (`purpose`, `layer`) of network `net`, filled from a
/// row of `fill_len` elements (a long row takes the lane-batched Gaussian fill, a short one the
/// block-by-block one; both must give the same bits).
#[allow(clippy::too_many_arguments)]
fn stream_row(
    seed: u64,
    net: u64,
    purpose: Purpose,
    layer: u32,
    row: u32,
    law: WeightLaw,
    len: usize,
    fill_len: usize,
) -> Vec<f64> {
    let (key, net32) = network_stream(seed, net);
    let mut v = vec![0.0; fill_len.max(len)];
    fill_row(key, net32, tag(purpose, layer), row, law, &mut v);
    v.truncate(len);
    v
}

/// Ŵ^1 row 0, elements 0..8.
fn layer1(seed: u64, net: u64, law: WeightLaw, fill_len: usize) -> Vec<f64> {
    stream_row(seed, net, Purpose::Weight, 1, 0, law, 8, fill_len)
}

/// Ŵ^3 row 2, elements 0..6.
fn layer3(seed: u64, net: u64, law: WeightLaw, fill_len: usize) -> Vec<f64> {
    stream_row(seed, net, Purpose::Weight, 3, 2, law, 6, fill_len)
}

/// β^2, elements 0..5 (biases are Gaussian whatever the weight law).
fn bias2(seed: u64, net: u64, fill_len: usize) -> Vec<f64> {
    stream_row(
        seed,
        net,
        Purpose::Bias,
        2,
        0,
        WeightLaw::Gaussian,
        5,
        fill_len,
    )
}

/// Matrix-free factor stream (`purpose`, `layer`): its first 6 normals (row 0).
fn mf_stream(seed: u64, net: u64, purpose: Purpose, layer: u32, fill_len: usize) -> Vec<f64> {
    stream_row(
        seed,
        net,
        purpose,
        layer,
        0,
        WeightLaw::Gaussian,
        6,
        fill_len,
    )
}

/// The four Philox words of the network's first weight counter `[c0, tag(Weight, 1), 0, 0]`.
fn first_words(seed: u64, net: u64) -> [u32; 4] {
    let (key, net32) = network_stream(seed, net);
    philox4x32_10([net32, tag(Purpose::Weight, 1), 0, 0], key)
}

/// The unit Jacobian direction u (n0 = 5) of network `net`, as every engine draws it.
fn jacobian_u(seed: u64, net: u64) -> Vec<f64> {
    let n0 = 5;
    let (key, net32) = network_stream(seed, net);
    let inputs = vec![vec![0.0; n0], vec![1.0; n0]];
    let mut u = Vec::new();
    let mut in0 = vec![0.0; 2 * inputs.len() * n0];
    fill_layer0(key, net32, &inputs, true, &mut u, &mut in0);
    // The two tangent columns are the same u.
    assert_eq!(in0[2 * n0..3 * n0], in0[3 * n0..4 * n0]);
    in0[2 * n0..3 * n0].to_vec()
}

fn spec(
    hidden: Vec<usize>,
    activation: &str,
    cb: f64,
    parameterization: Parameterization,
    residual: Option<Residual>,
    weights: WeightLaw,
) -> NetworkSpec {
    NetworkSpec::new(
        4,
        hidden,
        1,
        activation.parse().unwrap(),
        None,
        cb,
        parameterization,
        residual,
        weights,
    )
    .unwrap()
}

fn problem(spec: NetworkSpec, inputs: usize, observe: Observe, seed: u64) -> Problem {
    Problem {
        inputs: resolve_inputs(&InputSpec::Random { count: inputs }, spec.input_dim, seed),
        spec,
        observe,
        seed,
    }
}

/// output[0..2], ntk[0,0], ntk[0,1], ntk[1,1], sqnorm[1..=4, 0..2], jacobian_norm[0..2]: 15 values.
/// (Built with the CLI's own parser, the public way to name observables.)
fn all() -> Observe {
    Observe::parse_list("output,ntk,sqnorm,jacobian").unwrap()
}

/// (a) relu, width 8, depth 3, no bias, NTK parameterization, Gaussian weights.
fn relu_problem() -> Problem {
    let s = spec(
        vec![8; 3],
        "relu",
        0.0,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    );
    problem(s, 2, all(), SEEDS[1])
}

/// (b) tanh, C_b = 0.1, residual alpha = 0.5.
fn tanh_residual_problem() -> Problem {
    let s = spec(
        vec![8; 3],
        "tanh",
        0.1,
        Parameterization::Ntk,
        Some(Residual::Alpha(0.5)),
        WeightLaw::Gaussian,
    );
    problem(s, 2, all(), SEEDS[1])
}

/// (c) uniform weights, standard parameterization (relu, C_b = 0.1).
fn uniform_standard_problem() -> Problem {
    let s = spec(
        vec![8; 3],
        "relu",
        0.1,
        Parameterization::Standard,
        None,
        WeightLaw::Uniform,
    );
    problem(s, 2, all(), SEEDS[0])
}

/// (c') Rademacher weights (tanh, C_b = 0.1, NTK parameterization).
fn rademacher_problem() -> Problem {
    let s = spec(
        vec![8; 3],
        "tanh",
        0.1,
        Parameterization::Ntk,
        None,
        WeightLaw::Rademacher,
    );
    problem(s, 2, all(), SEEDS[0])
}

/// (e) geometry: relu 4 -> 6 -> 6 -> 1 with bias, 3 drawn inputs, on `curve`.
fn geometry_problem(curve: Curve) -> Problem {
    let s = spec(
        vec![6; 2],
        "relu",
        0.1,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    );
    let mut observe = Observe::parse_list("length_distortion,regions,patterns").unwrap();
    observe.curve = curve;
    problem(s, 3, observe, SEEDS[1])
}

#[derive(Clone, Copy, Debug)]
enum Engine {
    Dense,
    MatrixFree,
    Geometry,
}

fn engine(kind: Engine, p: &Problem) -> Box<dyn BatchSampler> {
    match kind {
        Engine::Dense => Box::new(CpuDense::new(p).unwrap()),
        Engine::MatrixFree => Box::new(CpuMatrixFree::new(p).unwrap()),
        Engine::Geometry => Box::new(CpuGeometry::new(p).unwrap()),
    }
}

/// The value vector of each network of `nets`, each sampled alone.
fn per_network(kind: Engine, p: &Problem, nets: &[u64]) -> Vec<Vec<f64>> {
    let mut e = engine(kind, p);
    nets.iter()
        .map(|&net| {
            let mut out = vec![0.0; e.n_values()];
            e.sample_batch(net, 1, &mut out).unwrap();
            out
        })
        .collect()
}

/// Every engine pin: (name, engine, problem).
fn engine_cases() -> Vec<(&'static str, Engine, Problem)> {
    vec![
        ("dense relu", Engine::Dense, relu_problem()),
        (
            "dense tanh residual",
            Engine::Dense,
            tanh_residual_problem(),
        ),
        (
            "dense uniform standard",
            Engine::Dense,
            uniform_standard_problem(),
        ),
        ("dense rademacher", Engine::Dense, rademacher_problem()),
        ("matrix-free relu", Engine::MatrixFree, relu_problem()),
        (
            "matrix-free tanh residual",
            Engine::MatrixFree,
            tanh_residual_problem(),
        ),
        (
            "geometry segment",
            Engine::Geometry,
            geometry_problem(Curve::Segment),
        ),
        (
            "geometry circle",
            Engine::Geometry,
            geometry_problem(Curve::Circle),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// The pinned values (captured once from the code; see the module comment). Changing any of them
// is a change to the public stream or to an engine and must be announced in docs/rng.md.

/// Gaussian Ŵ^1 row 0, elements 0..8, [seed][network] over SEEDS x NETS.
#[rustfmt::skip]
const GAUSSIAN_LAYER1: [[[u64; 8]; 2]; 2] = [
    [
        [
            0x3feec7f053aebe43, 0x3f85a8c87b0595c7, 0xbfebe8c5f3a1e413, 0xbff08570d7921535,
            0xbff1ad8b6d1b8a91, 0xbfd263dfff642187, 0xbff43680ac053465, 0xbffdf7bc1341e51f,
        ],
        [
            0x3ff5d2be06b8b2ca, 0x3ff8de6342d367ed, 0xbfe7135c73f43188, 0xbfe53be4d4735b78,
            0xbff49c7bb95c179c, 0x3fec1c648568a49e, 0xbfe98df7a239084e, 0x3f7b9ab5c922eee5,
        ],
    ],
    [
        [
            0x3fba40e60c82da8a, 0xbfc9ffe8da26b979, 0x3feb34b43734afb3, 0xbffebb7d742e4698,
            0x3febb70b544d9aeb, 0x3fda330a0b796751, 0x3ff809f4f835e824, 0xbfe12e02f8369f91,
        ],
        [
            0x3fe29d153d016763, 0xbfdb0888271f41af, 0x3fdfd494396ff7c3, 0xbfd26288bff9cf67,
            0x3febb6dd9aac2bab, 0xbfe83fc02cb485d7, 0x3feb5559ff9ed77d, 0xbfdfcdec47e656ba,
        ],
    ],
];

/// Gaussian Ŵ^3 row 2, elements 0..6.
#[rustfmt::skip]
const GAUSSIAN_LAYER3: [[[u64; 6]; 2]; 2] = [
    [
        [
            0xbff2868142604249, 0x3ff26f31b2e790af, 0xbfec2006e83ffbe1, 0xbff083e4b0058dd7,
            0x3fdac77475962b87, 0xbfe97155aeb51f4e,
        ],
        [
            0xbfe3ebbf6e4e485e, 0xbfd4ac9dcd213d3e, 0x3fd2c31269397472, 0x3fbeb8f494fed98c,
            0xbffaa87f61f9064d, 0xbff6049397895cab,
        ],
    ],
    [
        [
            0xbfed8e95a692f7a0, 0xbfea68cae38af56a, 0x3fe26e7bb272b111, 0x3fe6900c96104d39,
            0xbfea520f7342a808, 0xbffb9ebc6b0d3899,
        ],
        [
            0xbfe1b77be19a3564, 0xbfcd3f642851f83e, 0x3fd640ca6332d821, 0x3fa7c87c06fb8fe8,
            0x3faf11484b67f94a, 0xbfd21d2f85d4e251,
        ],
    ],
];

/// Uniform Ŵ^1 row 0, elements 0..8.
#[rustfmt::skip]
const UNIFORM_LAYER1: [[[u64; 8]; 2]; 2] = [
    [
        [
            0x3fdcbaeea2ee37a6, 0xbffb9da709f5bae7, 0xbfd5eae0f8b947b1, 0x3fdead6d8ab82e39,
            0x3fb2c94a164b5404, 0x3fc1f49f666b8329, 0xbff764cc7552d30d, 0x3fe13e6728806b21,
        ],
        [
            0xbff52de5dea3be16, 0xbff435c62766e331, 0x3fda5010d0aab00c, 0x3fda3f40ab3999fa,
            0xbfe68de0e3de839c, 0xbfd51e321ac1e646, 0x3fe928929420281a, 0xbf730ea55704b080,
        ],
    ],
    [
        [
            0x3ffa4bdf44b37568, 0x3ff1fb125e87a2ed, 0xbff59bd8fe8d8849, 0x3ff188428cb1912c,
            0x3fdd445b2fb99244, 0xbff7d1633967a09a, 0xbfe861868287a724, 0x3ff8af7846c58605,
        ],
        [
            0x3fee2f4f771df2f2, 0x3ff62c220f731d93, 0x3ff348fcb4adb8fc, 0x3ff717a958d77ac6,
            0x3fabe98208e7de40, 0x3ff55f3bc485eb77, 0x3fd9341b823c898a, 0x3ff71091821e26bc,
        ],
    ],
];

/// Uniform Ŵ^3 row 2, elements 0..6.
#[rustfmt::skip]
const UNIFORM_LAYER3: [[[u64; 6]; 2]; 2] = [
    [
        [
            0xbfea39b9ccc297ae, 0xbfdba039c26d2fa2, 0xbfd66819c496a4ad, 0x3fde89788ecfa768,
            0x3fe29c9bd70e2d77, 0x3ff221373d1b47d6,
        ],
        [
            0x3fef418dfacf1020, 0x3fd0e3ba6e06e707, 0x3ff9002994959d60, 0xbff84905214eecf7,
            0xbff658a45b4957a4, 0x3fd85bf4d0c8a215,
        ],
    ],
    [
        [
            0xbfbf9e0e5ca2a50c, 0x3fd9bafccebf900d, 0x3fe1d0647c08d609, 0xbff3e60e43e8f6f1,
            0xbff2ce607b258152, 0x3fe3de3802592070,
        ],
        [
            0x3ff29c9f6994056a, 0x3fcb9f4f7fe63b97, 0x3ff867c6999e2056, 0xbffa8a9119c5339a,
            0x3ff97052a715687f, 0x3fef705336c4e806,
        ],
    ],
];

/// Rademacher Ŵ^1 row 0, elements 0..8.
#[rustfmt::skip]
const RADEMACHER_LAYER1: [[[u64; 8]; 2]; 2] = [
    [
        [
            0x3ff0000000000000, 0xbff0000000000000, 0xbff0000000000000, 0x3ff0000000000000,
            0x3ff0000000000000, 0x3ff0000000000000, 0xbff0000000000000, 0x3ff0000000000000,
        ],
        [
            0xbff0000000000000, 0xbff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000,
            0xbff0000000000000, 0xbff0000000000000, 0x3ff0000000000000, 0xbff0000000000000,
        ],
    ],
    [
        [
            0x3ff0000000000000, 0x3ff0000000000000, 0xbff0000000000000, 0x3ff0000000000000,
            0x3ff0000000000000, 0xbff0000000000000, 0xbff0000000000000, 0x3ff0000000000000,
        ],
        [
            0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000,
            0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000,
        ],
    ],
];

/// Rademacher Ŵ^3 row 2, elements 0..6.
#[rustfmt::skip]
const RADEMACHER_LAYER3: [[[u64; 6]; 2]; 2] = [
    [
        [
            0xbff0000000000000, 0xbff0000000000000, 0xbff0000000000000, 0x3ff0000000000000,
            0x3ff0000000000000, 0x3ff0000000000000,
        ],
        [
            0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0xbff0000000000000,
            0xbff0000000000000, 0x3ff0000000000000,
        ],
    ],
    [
        [
            0xbff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0xbff0000000000000,
            0xbff0000000000000, 0x3ff0000000000000,
        ],
        [
            0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0xbff0000000000000,
            0x3ff0000000000000, 0x3ff0000000000000,
        ],
    ],
];

/// β^2, elements 0..5.
#[rustfmt::skip]
const BIAS2: [[[u64; 5]; 2]; 2] = [
    [
        [
            0x40021ab430d1ad1f, 0x3fd7b78a109e0431, 0x40039b1158ea096a, 0x3fe2f3d931f98a85,
            0x3ff15886e5c4a92e,
        ],
        [
            0x3fe5715f09b0e33f, 0x3ff95b70efd1586e, 0xbfcb3969958ac5e5, 0xbfbcde7c43b94bb0,
            0xbfcfca5bd3a99759,
        ],
    ],
    [
        [
            0xbfa2515adbc4ecc3, 0xbfe735d55446b9b7, 0x3fd8eebc0c08a33e, 0xbff775ea5e0f89cf,
            0x3ff91bcaa453a14b,
        ],
        [
            0xbfde7a2611bbd991, 0x3febcb3f497fb5be, 0xbffca049bcf670e4, 0xbffadebbd8936fe4,
            0xbfc6326a63492944,
        ],
    ],
];

/// Philox words of counter [c0, tag(Weight, 1), 0, 0] under the network key.
#[rustfmt::skip]
const WORDS: [[[u32; 4]; 2]; 2] = [
    [
        [0xa12cbe20, 0x0072acd2, 0x66b11d64, 0xa36c5be9],
        [0x1e2d53b6, 0x22a75cf9, 0x9e6223cc, 0x9e4eb973],
    ],
    [
        [0xf9752f0d, 0xd30cad6c, 0x1c317da6, 0xd0fa6251],
        [0xc5b57583, 0xe668ef17, 0xd912f76a, 0xeaa8cb7a],
    ],
];

/// Network keys: the seed for network 1000, derived (hi = 3) for 3 * 2^32 + 17.
#[rustfmt::skip]
const KEYS: [[[u32; 2]; 2]; 2] = [
    [
        [0x0000002a, 0x00000000],
        [0x1adfac08, 0xd28043d9],
    ],
    [
        [0x0000002a, 0x5eed0000],
        [0x4b939fad, 0xd60afa3b],
    ],
];

/// The unit Jacobian direction u, n0 = 5.
#[rustfmt::skip]
const JACOBIAN_U: [[[u64; 5]; 2]; 2] = [
    [
        [
            0xbfbaa515a5585b62, 0x3fbf8cc65dd824f2, 0xbfdbb59cf54d6dc6, 0x3fe9f30f56945ecb,
            0xbfd6fb078c172028,
        ],
        [
            0x3fb04abdf7b22b87, 0x3fc535175e0a88a1, 0x3fe981a415398797, 0x3fa704440452b4de,
            0x3fe26a21e9fea849,
        ],
    ],
    [
        [
            0xbfe0ee5510eabc0e, 0xbfe7603dd3f22618, 0xbfd75de9a3d8aa43, 0xbfaffe9a5b062f9a,
            0xbfcc661c4ed44080,
        ],
        [
            0x3fd57b60ab7c6e81, 0x3faffedd30dce908, 0x3fdf8c6dbef30fe7, 0x3fdbb1c987809c5a,
            0xbfe58ac21b432978,
        ],
    ],
];

/// Matrix-free forward factor Z^1 (purpose 5), first 6 draws.
#[rustfmt::skip]
const MF_FORWARD_1: [[[u64; 6]; 2]; 2] = [
    [
        [
            0x3fd1518f7282d93b, 0x3ff8358f8182bb66, 0x3fc72ba389751c89, 0x3fb1361dd52d705a,
            0x3fc9feb728216806, 0xbfe41767d1ec1d62,
        ],
        [
            0xbfe36079772f43c8, 0xbfd9917068692bea, 0xbfa87d36b9d1fd66, 0xbfe91ca1d49a294b,
            0xbff9a762f8b063d3, 0x400cab2e160ccb4e,
        ],
    ],
    [
        [
            0xbfd7e21e732bd607, 0x3fe215dbcbcfc529, 0x3fc9d33ed58fe214, 0xbfda99454a552e9c,
            0xbfd8872802ad7514, 0x3feb3f5cbb1b381d,
        ],
        [
            0x3fc5faa663208bfe, 0xbff0f74c3a34e4e0, 0x3fd7c53502c2fb37, 0xbfea75fb70d1f511,
            0x3fe08f321fd7f6e9, 0xbfe02146d6cc9f85,
        ],
    ],
];

/// Matrix-free forward factor Z^3 (purpose 5), first 6 draws.
#[rustfmt::skip]
const MF_FORWARD_3: [[[u64; 6]; 2]; 2] = [
    [
        [
            0x3fe39f99e89dae21, 0xc0054a7e4e67bc31, 0x3feade2b19339d80, 0xbff26209aba482b0,
            0xbfd4f32c800c3566, 0x4002434032da5b0e,
        ],
        [
            0x3ff1c829a3bae973, 0xbfd192ddca4fe70b, 0x3ff0b39bc3c45df7, 0x3fd350cd99070e2a,
            0x3fcb55320bf3feda, 0x3fb41e430daf3e48,
        ],
    ],
    [
        [
            0x3fd5c989b154faf9, 0xbfeccb9d82154b50, 0xbfed003962df04bf, 0xbfe6a728e798cb0b,
            0x3fcf5f8688624095, 0xbfd7dd0933b00fab,
        ],
        [
            0x3fe481293d038c51, 0x3fc4377dc654b55e, 0xbff71a8088ead8d0, 0x3fd695802c3f9b20,
            0xbff17d0cb05a50d0, 0xbfe1780f593280b5,
        ],
    ],
];

/// Matrix-free backward factor Y^1 (purpose 6), first 6 draws.
#[rustfmt::skip]
const MF_BACKWARD_1: [[[u64; 6]; 2]; 2] = [
    [
        [
            0x3fd47a29d4a8ee92, 0xbfdee4b7d3cedd5e, 0xbfe066619c275262, 0xbff356e8db1f0d8a,
            0xbfd3f7f4bebba8a5, 0xbfef1f7c638ae5ce,
        ],
        [
            0x3ff7f14e3897f36d, 0x3fe4fe199798c07d, 0xbff5ba66990bcad1, 0xbfcc89efa954866d,
            0x3ff6b4e81c3f51fc, 0x3fe1d032498df1e5,
        ],
    ],
    [
        [
            0x3fd67b844bf14b56, 0xbfd5221377eaa178, 0xbff9292ca5f45fd3, 0xbfe06c856e609b31,
            0x3fefd5c4e968e8f1, 0xbff7256ff6d4650c,
        ],
        [
            0x3ff012167a26b0c7, 0x3fe64e39bc020cca, 0x3ff3db9b52010cdf, 0xbfdc05dea2662a8e,
            0x3ff23ae777a7235b, 0xbff7d39874c64ed5,
        ],
    ],
];

/// Matrix-free backward factor Y^3 (purpose 6), first 6 draws.
#[rustfmt::skip]
const MF_BACKWARD_3: [[[u64; 6]; 2]; 2] = [
    [
        [
            0x3fe51d32307ab33b, 0x3ff0a513124afb90, 0xbfecc3038fcaa297, 0xbffbacc8d647a173,
            0x400493fc75bdf672, 0xbff29dad379fcda3,
        ],
        [
            0xbfe1990ed6f0a352, 0xbfcd65ff9f9c9d71, 0x3fcbf75ed5afa79f, 0xbfef0ae53d70346b,
            0xbfed8524e815245c, 0xc00923e37e40e8e7,
        ],
    ],
    [
        [
            0xbfc5784bf3a6a625, 0x3ff0dd89de1144bf, 0xbffcfc7506d7684b, 0xbff478f89cffee76,
            0xbfece44e39e6101b, 0xbfe315919386b5bc,
        ],
        [
            0x3feab944f4c0a79c, 0xbfe1b4c85bed957e, 0xbfdc37decbbc8bad, 0xbff6bcda0aacbad2,
            0x3f81eba2761ed49e, 0x3fd6110541960d6f,
        ],
    ],
];

/// `InputSpec::Random { count: 3 }`, n0 = 5, [seed][input].
#[rustfmt::skip]
const RANDOM_INPUTS: [[[u64; 5]; 3]; 2] = [
    [
        [
            0xbfda0ed457cf9585, 0xbffae981ca7343b8, 0x3ff4bf25c846c495, 0xbfd5875a7eafc889,
            0xbfdd5e4bb8d3af3a,
        ],
        [
            0x3ff38177afc6cfa2, 0x3febed0feacfa3a0, 0xbff8aaafd3b596bd, 0x3fe19f601c692d16,
            0xbfd131426c1ef755,
        ],
        [
            0xbffb361e19474fd2, 0xbfd5f8f7cb843cc8, 0x3fe41251155ed2ff, 0x3fecb1b86f773b48,
            0xbfec7b71ea603302,
        ],
    ],
    [
        [
            0x3fe31abfb7b1652c, 0xbfe30d28335cce3d, 0xbfeca6238ce25dfb, 0xbfd88a2020048072,
            0x3ffd3e5c413ef75c,
        ],
        [
            0xbfc1bbe90e83acb6, 0xbff52f2f06c4bad5, 0xbfd3982cc513f4ee, 0xbfdae9036eef23cb,
            0xbffb83be85e8c1c3,
        ],
        [
            0xbff72ed39e59e044, 0x3ff4194ca6b92066, 0x3ff02eb27bfa69c6, 0xbfd6002b5c1cbfdf,
            0x3fdb444bcbcdc99b,
        ],
    ],
];

/// `InputSpec::Angle { theta: 0.7 }`, n0 = 3.
#[rustfmt::skip]
const ANGLE_INPUTS_07: [[u64; 3]; 2] = [
    [0x3ffbb67ae8584caa, 0x0000000000000000, 0x0000000000000000],
    [0x3ff532285deebe9c, 0x3ff1da63baad188f, 0x0000000000000000],
];

/// `InputSpec::Angle { theta: 2.0 }`, n0 = 4.
#[rustfmt::skip]
const ANGLE_INPUTS_2: [[u64; 4]; 2] = [
    [0x4000000000000000, 0x0000000000000000, 0x0000000000000000, 0x0000000000000000],
    [0xbfeaa22657537205, 0x3ffd18f6ead1b446, 0x0000000000000000, 0x0000000000000000],
];

/// (a) `CpuDense`, relu; rows: networks 0, 1000, 2^32 + 1000 (ENGINE_NETS).
#[rustfmt::skip]
const DENSE_RELU: [[u64; 15]; 3] = [
    [
        0xbfcbc75a80904248, 0xbfcdc54829b2fb62, 0x3fdb64993d664d3e, 0x3fd4a8142edb3e3d,
        0x3fe472e2629bc404, 0x3ff99347a9da8e17, 0x3fd8e41f20a5476a, 0x3fcc733e055bba62,
        0x3fc091f715b5dd1f, 0x3fc2cc65643696f9, 0x3fc747c377b85338, 0x3fa81d42a7926742,
        0x3fabb2530cb88f35, 0x3fd92e39ac0535f6, 0x3fe61471f65405ec,
    ],
    [
        0x3fc354fc6871a94f, 0x3fc1d9df6de22a70, 0x3fef887330b2922e, 0x3ff19f0e7d279cf2,
        0x4010d267408c185a, 0x3ff811437a309320, 0x3fe3aca18ee76f48, 0x3fe0eb8c8da52143,
        0x3fef751a6fb54097, 0x3fcec001c69e44af, 0x3ff86dc24f97eb00, 0x3f975b9ae1e47833,
        0x3f93ea9192353ae0, 0x3faeaf05d431a331, 0x3faaf63efae915d4,
    ],
    [
        0xbfe0b88d7b1cec30, 0xc005e143aa4486d7, 0x3ff3fa2554a08f8e, 0x3ffbdc866de7cd25,
        0x402b4aaac771ca6c, 0x3ffa3d92572584fd, 0x4005051f96d353c2, 0x3fc8114fe937cd5e,
        0x3ff30ce88fe5f3d0, 0x3fc61b39bbe1ee86, 0x4010d1164a19080b, 0x3fd1796bb12c7f29,
        0x401debb51f26d257, 0x3fb9437ae7b225f6, 0x3fef36c8a9d43260,
    ],
];

/// (b) `CpuDense`, tanh, C_b = 0.1, residual alpha 0.5.
#[rustfmt::skip]
const DENSE_TANH_RESIDUAL: [[u64; 15]; 3] = [
    [
        0x3fd8f8df3bd6c413, 0x3fbe2479b898afe4, 0x3ff0105c7c10f4fe, 0x3fe68ff5ebaf77df,
        0x3fe9d71cfda7edb3, 0x3ff1753a798a7f7a, 0x3fd7d46e00c7dbe6, 0x3ff6c5505ff91feb,
        0x3fe40ad013cae214, 0x3ff6d86286d12172, 0x3fe5af80dd50649a, 0x3fc37cde63f6f16d,
        0x3f8c648dcdcca183, 0x3fd4b5b8b2e0042b, 0x3fca6321b06b8c1f,
    ],
    [
        0xbfcbf69482b36d02, 0x3fc097ce18c83260, 0x3ff3310bbf291e20, 0x3fe21ac5e1f9d13a,
        0x3fea1ad6ac8478b2, 0x3fef6b95f2b1a7b4, 0x3fdfd6a909585c5f, 0x3fe57cb75d3cc170,
        0x3fdfb29fd195e3c1, 0x3fd88df9dc6bea18, 0x3fe228c7c86ac985, 0x3fa86f86aa9989b1,
        0x3f91353c7e02e5c0, 0x3fc9abfaefeb2cf4, 0x3fbe4ec307cf9ee3,
    ],
    [
        0x3ff0611ad4be3479, 0x3ff852432951d4a6, 0x3fec646074411359, 0x3fe3114b5557b34f,
        0x3fee095f89dfc304, 0x3ff16aea3298b9d6, 0x3ff9d6bc232bb586, 0x3ff29f100bd49c58,
        0x3ff7078b1dc3c7f4, 0x3ffca09ec26de54e, 0x3ffb560d577566f8, 0x3ff0c482fefce9a5,
        0x40027c3836bb7797, 0x3fd13c71c8c343b4, 0x3fbeb403d7ab6dca,
    ],
];

/// (c) `CpuDense`, uniform weights, standard parameterization.
#[rustfmt::skip]
const DENSE_UNIFORM_STANDARD: [[u64; 15]; 3] = [
    [
        0xbffd3cdb76b92d6c, 0x3fce47f54028eb6c, 0x405774dc78228f20, 0x4018c76938e9a098,
        0x403c5941c37b8676, 0x3ffcff81e4c8efc3, 0x3ff8c2478facab06, 0x3ff7b1c0ff9767c2,
        0x3ff401a6be1b01ce, 0x3fea6980b3087808, 0x3ff1e03afa3c8192, 0x400ab6c1840dfb7d,
        0x3faca78da7f10df2, 0x3fb32c5537fd8071, 0x3fdb7741d8cbec70,
    ],
    [
        0xbfe3533a64139669, 0xbfd18fadda0c4212, 0x401c0297cffaa529, 0x401b3424988cca86,
        0x4040c2e0d0928fa6, 0x3fffdda4c64af12e, 0x400149b1c11e1f14, 0x3fff7ec8ddab6892,
        0x3ff50ffdd7034ef2, 0x3ffa63ef8e20c635, 0x4001015978fe3fe0, 0x3fd7575b9c51e872,
        0x3fb3465baa54ae68, 0x3fac61d81ac6b626, 0x3fab9b8709e403a8,
    ],
    [
        0xc010c0fd4a5ac103, 0xbfedbbdc0cdd8a5a, 0x405ae84ac29cf716, 0x402e69ceabc87401,
        0x4034c911d344375e, 0x40034d4d63a17008, 0x40008ba496c5ac45, 0x401149f3a6119c44,
        0x3ffcf002dae90d56, 0x4027148d61df2582, 0x3fe22931b95df91b, 0x40318b126357c4ee,
        0x3feba0cdb11118ef, 0x3ff9a9bc8ee46890, 0x3fd3cff15b8cb152,
    ],
];

/// (c') `CpuDense`, Rademacher weights.
#[rustfmt::skip]
const DENSE_RADEMACHER: [[u64; 15]; 3] = [
    [
        0xbfcc562fd9558d6b, 0x3fd9cf57926c601e, 0x3feaee05f1b5146e, 0x3fa297a0579f5246,
        0x3feb42913607d57e, 0x3feccaeb3ac4e60a, 0x3fe7bbe315faf436, 0x3fd769438214d72a,
        0x3fee4f639b5fa995, 0x3fdc75e3543a098c, 0x3fe3cdf48bf99b7b, 0x3fa917bbddcd6f83,
        0x3fc4d1384aaf5716, 0x3fc2a2108404f189, 0x3fb47e4eb039fe07,
    ],
    [
        0x3fdf0e9ab8352cbb, 0x3fd4b64b3228998b, 0x3feb390a0f343699, 0x3fbf1e73b83dc596,
        0x3feff733b77db3c0, 0x3ff44046ef013db4, 0x3fef39d419217478, 0x3fe316d9bfde1d5e,
        0x3fe7cccafbed7e3c, 0x3fd961c024257c7e, 0x3fd6d780398cb8f0, 0x3fce24526f344656,
        0x3fbacfd8ed7c025a, 0x3fd61bf71931eb61, 0x3fd0edc9aa907212,
    ],
    [
        0xbfc85358b7e4bd52, 0xbfcd9b45ed2843fa, 0x3feeee2e7e9b15ec, 0x3fcd85a4cac50548,
        0x3fecbaac94b5d3c6, 0x3fee6f4fbae5983c, 0x3fea6c5265f35c87, 0x3fe623919bc86293,
        0x3fd2c1c82582f8fa, 0x3fe2ca1edc972208, 0x3fc99579817c3809, 0x3fa27dde2907061c,
        0x3fab64602bdb3ee3, 0x3fc8dcad26043922, 0x3f918909096d148f,
    ],
];

/// (d) `CpuMatrixFree`, problem (a).
#[rustfmt::skip]
const MATRIX_FREE_RELU: [[u64; 15]; 3] = [
    [
        0xbfe52d534beb4bf4, 0xbfe9464d058b7ed3, 0x4004084d115fc7f3, 0x4001eb2faeb371ab,
        0x4010ee0aae80f03b, 0x3ff96e1a10e1c6c1, 0x3ff252c32bca257c, 0x3fc5fe5f1f221402,
        0x3fd8b8069ebbd00e, 0x3fd958f4a04a7af9, 0x3ff4ed476cf292b5, 0x3fdc077b0d8657fd,
        0x3fe3f672ca5b9b25, 0x3fe83288dcfd4998, 0x3fd8c0a44d6a8a14,
    ],
    [
        0xbfc392d535fa22d8, 0xbfda2bf0bf1cd5e3, 0x3fc40eb284162945, 0x3fc8466d5cb343c0,
        0x3ffe412b7b6c2c1e, 0x3ff31345b1c7cc9f, 0x3ff548b47cb98cce, 0x3fc564597eec38e3,
        0x3fe3eca56f6aa276, 0x3fab89244f50fa4a, 0x3ff8061f0ed9c96e, 0x3f97f1fdde645597,
        0x3fc567a38ca3b036, 0x3fa0539c25023ecd, 0x3fcee76013fc78e9,
    ],
    [
        0xbfad6c13774533f4, 0xbfc58ba9553e2ae1, 0x3fcf664c812f0123, 0x3fd61b3192770b35,
        0x401ae25dba45b260, 0x400fb6d5d079aee6, 0x400904631c963c79, 0x401bf89e1447bd09,
        0x4018efeb2f2400a0, 0x40177f6e4dd2403e, 0x400acfafe1568f04, 0x3f6b0d504b9e58a8,
        0x3f9d035f94ec633f, 0x3fa240436f0787cb, 0x3fe03910c6aea6c6,
    ],
];

/// (d') `CpuMatrixFree`, problem (b).
#[rustfmt::skip]
const MATRIX_FREE_TANH_RESIDUAL: [[u64; 15]; 3] = [
    [
        0xbff20d89338ffcfe, 0xbff26867ca5cdccf, 0x3ff2646997d66532, 0x3feb76fa10251f4b,
        0x3ffca39177cc8656, 0x3febf76179422126, 0x3fe4f148243dbbe0, 0x3fefe54369f43d06,
        0x3fe307d5808cb25c, 0x3fe79b3827f19dca, 0x3fd91de2c4be6b71, 0x3ff45e80279046df,
        0x3ff52d92cf38ef73, 0x3fe4db5654d70ca3, 0x3fe7bdefa1559394,
    ],
    [
        0xbfd870cd6ad2d455, 0xbfc082bf2c74f45f, 0x3ff31ef2afc69289, 0x3fe253d17d36225a,
        0x3fedc4d32bbd5762, 0x3fe4c99e66d34677, 0x3fe76286ac9b1c9e, 0x3fe5daa041824442,
        0x3fe4e5847bc5651f, 0x3fed9eef2abb35bc, 0x3fe8b10d2c107609, 0x3fc2aac1c34ea460,
        0x3f9109aac4688b25, 0x3fbd9d27c4c581df, 0x3fac2ea0fa134f99,
    ],
    [
        0xbfe538ba76ad33fc, 0xbf88b5679e6f57fc, 0x3fec70a504a1d2b0, 0x3fe47d3c7b091b0c,
        0x3ff2524e97b19662, 0x4001b0c13ce9c362, 0x3ffb9660cdb01d1a, 0x40019c448ac65069,
        0x3ffbbe188ce503aa, 0x40025bd52afc53b4, 0x3ff9af6393d3849c, 0x3fdc25b299426f8d,
        0x3f23141fcb26d68b, 0x3fbbaf7b09ecb464, 0x3faa8f2865bed798,
    ],
];

/// (e) `CpuGeometry`, segment: length_distortion, regions, patterns.
#[rustfmt::skip]
const GEOMETRY_SEGMENT: [[u64; 3]; 3] = [
    [0x3fc496985327f7cd, 0x4008000000000000, 0x403a000000000000],
    [0x3fe06f638bdb7f3a, 0x4018000000000000, 0x4028000000000000],
    [0x3fe7a5179ce4f67a, 0x4018000000000000, 0x4039000000000000],
];

/// (e) `CpuGeometry`, circle: length_distortion, regions, patterns.
#[rustfmt::skip]
const GEOMETRY_CIRCLE: [[u64; 3]; 3] = [
    [0x3fe82fa9af8c22a2, 0x4038000000000000, 0x403a000000000000],
    [0x3fd360346b583338, 0x4036000000000000, 0x4028000000000000],
    [0x3fdd4b1ad1fdac1c, 0x4036000000000000, 0x4039000000000000],
];

// ---------------------------------------------------------------------------------------------
// Checks.

/// Bitwise equality with the pinned bits. A failure means the public random stream (or an
/// engine's values for a fixed seed) changed: a breaking change that docs/rng.md must announce.
#[track_caller]
fn assert_bits(got: &[f64], want: &[u64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: number of values");
    for (i, (g, &w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w,
            "{what}, value {i}: got {g:e} ({:#018x}), pinned {:e} ({w:#018x}); the public stream \
             changed: docs/rng.md must say so",
            g.to_bits(),
            f64::from_bits(w)
        );
    }
}

/// Weights of layer 1 (row 0) and layer 3 (row 2) for every law, 2 seeds, 2 networks (one with
/// a derived key), each read from a short row and from a long one (lane-batched Gaussian fill).
#[test]
fn weight_streams_of_every_law() {
    type Layer1 = [[[u64; 8]; 2]; 2];
    type Layer3 = [[[u64; 6]; 2]; 2];
    let pins: [(&Layer1, &Layer3); 3] = [
        (&GAUSSIAN_LAYER1, &GAUSSIAN_LAYER3),
        (&UNIFORM_LAYER1, &UNIFORM_LAYER3),
        (&RADEMACHER_LAYER1, &RADEMACHER_LAYER3),
    ];
    for (law, (l1, l3)) in LAWS.into_iter().zip(pins) {
        for (s, &seed) in SEEDS.iter().enumerate() {
            for (n, &net) in NETS.iter().enumerate() {
                for fill_len in [8, 40] {
                    let what =
                        format!("{law} layer 1, seed {seed:#x}, network {net}, row of {fill_len}");
                    // A failure means the public stream changed: docs/rng.md must say so.
                    assert_bits(&layer1(seed, net, law, fill_len), &l1[s][n], &what);
                }
                for fill_len in [6, 37] {
                    let what =
                        format!("{law} layer 3, seed {seed:#x}, network {net}, row of {fill_len}");
                    // A failure means the public stream changed: docs/rng.md must say so.
                    assert_bits(&layer3(seed, net, law, fill_len), &l3[s][n], &what);
                }
            }
        }
    }
}

/// Biases of layer 2 (always Gaussian).
#[test]
fn bias_stream() {
    for (s, &seed) in SEEDS.iter().enumerate() {
        for (n, &net) in NETS.iter().enumerate() {
            for fill_len in [5, 33] {
                let what = format!("bias 2, seed {seed:#x}, network {net}, row of {fill_len}");
                // A failure means the public stream changed: docs/rng.md must say so.
                assert_bits(&bias2(seed, net, fill_len), &BIAS2[s][n], &what);
            }
        }
    }
}

/// Philox words of each network's first weight counter, and the network keys: the seed below
/// 2^32, a derived key beyond (docs/rng.md, "Networks beyond 2^32").
#[test]
fn philox_words_and_network_keys() {
    for (s, &seed) in SEEDS.iter().enumerate() {
        for (n, &net) in NETS.iter().enumerate() {
            // A failure means the public stream changed: docs/rng.md must say so.
            assert_eq!(
                first_words(seed, net),
                WORDS[s][n],
                "words, seed {seed:#x}, network {net}"
            );
            assert_eq!(
                network_key(seed, net),
                KEYS[s][n],
                "key, seed {seed:#x}, network {net}"
            );
        }
        assert_eq!(
            KEYS[s][0],
            key_of_seed(seed),
            "a network below 2^32 is keyed by the seed"
        );
        assert_ne!(
            KEYS[s][1],
            key_of_seed(seed),
            "a network beyond 2^32 has a derived key"
        );
    }
}

/// Drawn inputs (`InputSpec::Random`, purpose 4, key = the seed) and angle inputs.
#[test]
fn drawn_and_angle_inputs() {
    for (s, &seed) in SEEDS.iter().enumerate() {
        let x = resolve_inputs(&InputSpec::Random { count: 3 }, 5, seed);
        assert_eq!(x.len(), 3);
        for (a, row) in x.iter().enumerate() {
            // A failure means the public stream changed: docs/rng.md must say so.
            assert_bits(
                row,
                &RANDOM_INPUTS[s][a],
                &format!("input {a}, seed {seed:#x}"),
            );
        }
        // The first inputs of a longer draw are the same numbers (inputs are indexed, not
        // sequential).
        let more = resolve_inputs(&InputSpec::Random { count: 5 }, 5, seed);
        assert_eq!(more[..3], x[..]);
    }
    let a = resolve_inputs(&InputSpec::Angle { theta: 0.7 }, 3, SEEDS[0]);
    for (i, row) in a.iter().enumerate() {
        assert_bits(row, &ANGLE_INPUTS_07[i], &format!("angle 0.7 input {i}"));
    }
    let a = resolve_inputs(&InputSpec::Angle { theta: 2.0 }, 4, SEEDS[1]);
    for (i, row) in a.iter().enumerate() {
        assert_bits(row, &ANGLE_INPUTS_2[i], &format!("angle 2.0 input {i}"));
    }
}

/// The unit Jacobian direction u (purpose 3, normalized), as `fill_layer0` gives it to every
/// engine.
#[test]
fn jacobian_direction() {
    for (s, &seed) in SEEDS.iter().enumerate() {
        for (n, &net) in NETS.iter().enumerate() {
            let what = format!("jacobian u, seed {seed:#x}, network {net}");
            // A failure means the public stream changed: docs/rng.md must say so.
            assert_bits(&jacobian_u(seed, net), &JACOBIAN_U[s][n], &what);
        }
    }
}

/// The matrix-free engine's own streams: forward factors Z^l (purpose 5) and backward factors
/// Y^l (purpose 6), layers 1 and 3, the first draws of each (one flat row, row word 0).
#[test]
fn matrix_free_streams() {
    let pins = [
        (Purpose::MatrixFreeForward, 1, &MF_FORWARD_1),
        (Purpose::MatrixFreeForward, 3, &MF_FORWARD_3),
        (Purpose::MatrixFreeBackward, 1, &MF_BACKWARD_1),
        (Purpose::MatrixFreeBackward, 3, &MF_BACKWARD_3),
    ];
    for (purpose, layer, pin) in pins {
        for (s, &seed) in SEEDS.iter().enumerate() {
            for (n, &net) in NETS.iter().enumerate() {
                for fill_len in [6, 48] {
                    let what = format!(
                        "{purpose:?} layer {layer}, seed {seed:#x}, network {net}, row of {fill_len}"
                    );
                    // A failure means the public stream changed: docs/rng.md must say so.
                    assert_bits(
                        &mf_stream(seed, net, purpose, layer, fill_len),
                        &pin[s][n],
                        &what,
                    );
                }
            }
        }
    }
}

fn rows<const N: usize>(a: &'static [[u64; N]; 3]) -> Vec<&'static [u64]> {
    a.iter().map(|r| r.as_slice()).collect()
}

/// Each engine case with its pinned values for [`ENGINE_NETS`].
fn pinned_cases() -> Vec<(&'static str, Engine, Problem, Vec<&'static [u64]>)> {
    let pins = [
        rows(&DENSE_RELU),
        rows(&DENSE_TANH_RESIDUAL),
        rows(&DENSE_UNIFORM_STANDARD),
        rows(&DENSE_RADEMACHER),
        rows(&MATRIX_FREE_RELU),
        rows(&MATRIX_FREE_TANH_RESIDUAL),
        rows(&GEOMETRY_SEGMENT),
        rows(&GEOMETRY_CIRCLE),
    ];
    engine_cases()
        .into_iter()
        .zip(pins)
        .map(|((name, kind, p), pin)| (name, kind, p, pin))
        .collect()
}

/// Every value of one engine case, for networks 0, 1000 and 2^32 + 1000.
fn check_case(index: usize) {
    let (name, kind, p, pin) = pinned_cases().swap_remove(index);
    let got = per_network(kind, &p, &ENGINE_NETS);
    for ((values, want), net) in got.iter().zip(&pin).zip(ENGINE_NETS) {
        // A failure means the public stream (or this engine) changed: docs/rng.md must say so.
        assert_bits(values, want, &format!("{name}, network {net}"));
    }
}

/// (a) dense, relu, width 8, depth 3, 2 drawn inputs, output,ntk,sqnorm,jacobian.
#[test]
fn dense_relu() {
    check_case(0);
}

/// (b) dense, tanh, C_b = 0.1, residual alpha 0.5.
#[test]
fn dense_tanh_residual() {
    check_case(1);
}

/// (c) dense, uniform weights, standard parameterization.
#[test]
fn dense_uniform_standard() {
    check_case(2);
}

/// (c') dense, Rademacher weights.
#[test]
fn dense_rademacher() {
    check_case(3);
}

/// (d) matrix-free, Gaussian relu (problem (a)).
#[test]
fn matrix_free_relu() {
    check_case(4);
}

/// (d') matrix-free, tanh with bias and residual (problem (b)).
#[test]
fn matrix_free_tanh_residual() {
    check_case(5);
}

/// (e) geometry, length_distortion,regions,patterns on the segment x_0 -> x_1.
#[test]
fn geometry_segment() {
    check_case(6);
}

/// (e) geometry on the circle through x_0 and x_1.
#[test]
fn geometry_circle() {
    check_case(7);
}

/// The pinned values do not depend on the thread count or on how networks are split into
/// batches: for every engine case, networks 996..1005 and 2^32 + 998..2^32 + 1003 in one batch
/// (default pool), one network per call on 1 thread, and in batches of 2 on 3 threads give the
/// same bits, and networks 1000 and 2^32 + 1000 give their pinned values.
#[test]
fn values_do_not_depend_on_threads_or_batches() {
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let (one, three) = (pool(1), pool(3));
    for (name, kind, p, pin) in pinned_cases() {
        for (start, count, pinned_row, pin_index) in
            [(996u64, 9usize, 4usize, 1usize), ((1 << 32) + 998, 5, 2, 2)]
        {
            let d = engine(kind, &p).n_values();
            let mut batch = vec![0.0; count * d];
            engine(kind, &p)
                .sample_batch(start, count, &mut batch)
                .unwrap();
            let singles = one.install(|| {
                let mut e = engine(kind, &p);
                let mut out = vec![0.0; count * d];
                for (i, row) in out.chunks_mut(d).enumerate() {
                    e.sample_batch(start + i as u64, 1, row).unwrap();
                }
                out
            });
            let pairs = three.install(|| {
                let mut e = engine(kind, &p);
                let mut out = vec![0.0; count * d];
                for (i, chunk) in out.chunks_mut(2 * d).enumerate() {
                    let n = chunk.len() / d;
                    e.sample_batch(start + 2 * i as u64, n, chunk).unwrap();
                }
                out
            });
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&batch),
                bits(&singles),
                "{name}: one batch vs one network per call on 1 thread"
            );
            assert_eq!(
                bits(&batch),
                bits(&pairs),
                "{name}: one batch vs batches of 2 on 3 threads"
            );
            let row = &batch[pinned_row * d..(pinned_row + 1) * d];
            // A failure means the public stream (or this engine) changed: docs/rng.md must say so.
            assert_bits(
                row,
                pin[pin_index],
                &format!("{name}, network {} in a batch", start + pinned_row as u64),
            );
        }
    }
}

/// The Lyapunov frame stream (purpose 7, layer 0, row = frame column j; docs/rng.md), and the
/// dense engine's `lyapunov:3` row with the other pointwise values, for relu width 8, depth 3.
fn lyapunov_frame(seed: u64, net: u64, j: u32) -> Vec<f64> {
    stream_row(
        seed,
        net,
        Purpose::LyapunovFrame,
        0,
        j,
        WeightLaw::Gaussian,
        4,
        4,
    )
}

fn lyapunov_problem() -> Problem {
    let s = spec(
        vec![8; 3],
        "relu",
        0.0,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    );
    problem(
        s,
        2,
        Observe::parse_list("output,jacobian,lyapunov:3").unwrap(),
        SEEDS[0],
    )
}

/// The frame stream and the dense engine's Lyapunov row are public API like every other stream
/// (network 0 loses rank at column 3: a NaN, which is a missing value).
#[test]
fn lyapunov_frame_and_values_are_pinned() {
    const FRAME: [[u64; 4]; 3] = [
        [
            0x3fb16ba4decadb31,
            0xbfa82e3f672334fd,
            0xbfe36b3efa21e4b3,
            0xbfe4dfd84ff3305b,
        ],
        [
            0x3fcddb3113568db7,
            0x3fece6f5bf960fd1,
            0xbfc209ebb2e455ba,
            0xbfbf0fa1ebf10b4a,
        ],
        [
            0xbfc0124101066da7,
            0xbff05b6376f96556,
            0xbff1191e42ecbe98,
            0x3ff93cb89c410bae,
        ],
    ];
    const ROWS: [[u64; 7]; 3] = [
        [
            0x4002fc15a55a60fe,
            0x0000000000000000,
            0x3fc5e3a97d84da2e,
            0x0000000000000000,
            0xbfd86c40132c9bd7,
            0xbfaa45f85f8fca53,
            0x7ff8000000000000,
        ],
        [
            0xbfb4d12028c73c6f,
            0x3fe6eb2f20909c11,
            0x3fd7d521d139f16d,
            0x3faf9bd3646615b8,
            0xbfa6744520048cb0,
            0xbfd9bfaac55bd2bb,
            0xbfe1b4a657052c6f,
        ],
        [
            0x3ffe920eaf7be5bd,
            0xbfede84fa5dcb8a1,
            0x3fde224fd55daf2b,
            0x3fde595a8ed67002,
            0x3fd13668e5daf2f7,
            0xbff02ebed90fcfc8,
            0xbfe7d8edb7914eb3,
        ],
    ];
    for (j, want) in FRAME.iter().enumerate() {
        assert_bits(
            &lyapunov_frame(SEEDS[0], NETS[0], j as u32),
            want,
            &format!("lyapunov frame row {j}"),
        );
    }
    for (row, want) in per_network(Engine::Dense, &lyapunov_problem(), &ENGINE_NETS)
        .iter()
        .zip(&ROWS)
    {
        assert_bits(row, want, "dense output,jacobian,lyapunov:3");
    }
}

/// The matrix-free engine's `lyapunov:3` rows and the dense engine's `singular_values:3` rows
/// (tanh, C_b = 0.1, n_out = 3): engine values are public API too.
#[test]
fn matrix_free_lyapunov_and_singular_values_are_pinned() {
    const MF: [[u64; 3]; 3] = [
        [0x3f98c53e21f8faf4, 0xbff321cbd77a1935, 0x7ff8000000000000],
        [0x3fcc10e549b126b3, 0xbfa2f3fd963a948f, 0xbf852d23398d7385],
        [0xbfce36bee0630123, 0xbfad7a18de80814d, 0xbfe8848771278a63],
    ];
    const SV: [[u64; 6]; 3] = [
        [
            0x3fee1d30d3192552,
            0x3fd7c9eba6ffeed6,
            0x3f9339e09e1cb027,
            0x3ff2871292b8ff05,
            0x3fdb39be1a95129e,
            0x3fa8625b967aaafe,
        ],
        [
            0x3fee4608e7898683,
            0x3fd8921034559b03,
            0x3f8d03c4cd2c20c8,
            0x3ff02a444f5034d0,
            0x3fdbf67e71b6556d,
            0x3fa21feca6a5be38,
        ],
        [
            0x3fef03a4cc0a79f2,
            0x3fd9542317441ffc,
            0x3fa0212c25741f8b,
            0x3fe69bd47ca566ae,
            0x3fda9ff7ef4e979e,
            0x3f9336906b3a875b,
        ],
    ];
    let mut p = lyapunov_problem();
    p.observe = Observe::parse_list("lyapunov:3").unwrap();
    for (row, want) in per_network(Engine::MatrixFree, &p, &ENGINE_NETS)
        .iter()
        .zip(&MF)
    {
        assert_bits(row, want, "matrix-free lyapunov:3");
    }
    let s = spec(
        vec![6, 6],
        "tanh",
        0.1,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    );
    let s = NetworkSpec { output_dim: 3, ..s };
    let q = problem(
        s,
        2,
        Observe::parse_list("singular_values:3").unwrap(),
        SEEDS[1],
    );
    for (row, want) in per_network(Engine::Dense, &q, &ENGINE_NETS).iter().zip(&SV) {
        assert_bits(row, want, "dense singular_values:3");
    }
}
