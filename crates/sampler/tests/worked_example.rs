//! The worked example of docs/rng.md ("Worked example"), recomputed from the definitions the docs
//! give and checked BITWISE against the numbers the doc prints, so the doc cannot drift from the
//! code.
//!
//! Every fenced block of docs/rng.md whose first line is `# checked by
//! crates/sampler/tests/worked_example.rs` holds lines `name = v1 v2 ...` (hex words `0x…`,
//! integers, f64 literals with 17 significant digits, commas and brackets ignored). This test
//! computes every such line itself — from the formulas written in the docs (Philox, uniforms,
//! Box–Muller with the exact ln and sin/cos, drawn inputs, the Jacobian direction, the dense
//! forward and backward pass), each also checked against the crate's own functions — and
//! requires the doc's lines and the computed lines to be the same set with bitwise-equal numbers.
//! On a mismatch it prints the computed block, ready to paste into the doc.

use randnet_problem::{Activation, InputSpec, NetworkSpec, Observe, Parameterization, WeightLaw};
use randnet_sampler::dense::DenseEngine;
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::philox::{key_of_seed, philox4x32_10};
use randnet_sampler::stream::{fill_row, network_stream, normals4, tag, uniform, values4, Purpose};
use randnet_sampler::{fastmath, Problem};

const DOC: &str = include_str!("../../../docs/rng.md");
const MARK: &str = "# checked by crates/sampler/tests/worked_example.rs";

/// The example: seed 7, network 0; n0 = 3, one hidden layer of width 2, 2 readout units, ReLU,
/// C_W = 2 (ReLU's default), C_b = 0.1, ntk parameterization, Gaussian weights, K = 2 drawn
/// inputs, all four pointwise observables.
const SEED: u64 = 7;
const NET: u64 = 0;
const N0: usize = 3;
const N1: usize = 2;
const NOUT: usize = 2;
const CW: f64 = 2.0;
const CB: f64 = 0.1;

// ---------------------------------------------------------------------------------------------
// Independent implementations of the definitions in docs/rng.md and docs/engines.md.

/// Philox4x32-10 as docs/rng.md "Generator" writes it.
fn philox_doc(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (ctr, key);
    for round in 0..10 {
        if round > 0 {
            k = [
                k[0].wrapping_add(0x9E37_79B9),
                k[1].wrapping_add(0xBB67_AE85),
            ];
        }
        let p0 = 0xD251_1F53u64 * c[0] as u64;
        let p1 = 0xCD9E_8D57u64 * c[2] as u64;
        c = [
            ((p1 >> 32) as u32) ^ c[1] ^ k[0],
            p1 as u32,
            ((p0 >> 32) as u32) ^ c[3] ^ k[1],
            p0 as u32,
        ];
    }
    c
}

/// u = ((x >> 8) + 0.5) * 2^-24.
fn uniform_doc(x: u32) -> f64 {
    ((x >> 8) as f64 + 0.5) * (1.0 / 16_777_216.0)
}

/// The natural logarithm of docs/rng.md "Exact f64 transcendentals", step by step:
/// (e, m, s, ln u).
fn ln_doc(x: f64) -> (i64, f64, f64, f64) {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let mut p = 1.0 / 21.0;
    for d in [19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0] {
        p = p * z + 1.0 / d;
    }
    let lnm = 2.0 * s + 2.0 * s * z * p;
    let ef = e as f64;
    let ln = ef * 6.931_471_803_691_238_164_9e-1 + (ef * 1.908_214_929_270_587_700_02e-10 + lnm);
    (e, m, s, ln)
}

/// sin and cos of docs/rng.md "Exact f64 transcendentals": (q, t, sin t, cos t, sin 2πu, cos 2πu).
fn sincos_doc(x: u32) -> (u32, f64, f64, f64, f64, f64) {
    let u = uniform_doc(x);
    let q = ((x >> 8) + (1 << 21)) >> 22;
    let t = std::f64::consts::TAU * (u - q as f64 * 0.25);
    let z = t * t;
    let mut sp = -1.0 / 1_307_674_368_000.0;
    for (sign, d) in [
        (1.0, 6_227_020_800.0),
        (-1.0, 39_916_800.0),
        (1.0, 362_880.0),
        (-1.0, 5040.0),
        (1.0, 120.0),
        (-1.0, 6.0),
    ] {
        sp = if sign > 0.0 {
            sp * z + 1.0 / d
        } else {
            sp * z - 1.0 / d
        };
    }
    let st = t + t * z * sp;
    let mut cp = 1.0 / 20_922_789_888_000.0;
    for (sign, d) in [
        (-1.0, 87_178_291_200.0),
        (1.0, 479_001_600.0),
        (-1.0, 3_628_800.0),
        (1.0, 40_320.0),
        (-1.0, 720.0),
        (1.0, 24.0),
        (-1.0, 2.0),
    ] {
        cp = if sign > 0.0 {
            cp * z + 1.0 / d
        } else {
            cp * z - 1.0 / d
        };
    }
    let ct = 1.0 + z * cp;
    let (sin, cos) = match q & 3 {
        0 => (st, ct),
        1 => (ct, -st),
        2 => (-st, -ct),
        _ => (-ct, st),
    };
    (q, t, st, ct, sin, cos)
}

/// The four normals of one block: Box–Muller on (u0, u1) and (u2, u3).
fn normals_doc(x: [u32; 4]) -> [f64; 4] {
    let r0 = (-2.0 * ln_doc(uniform_doc(x[0])).3).sqrt();
    let r1 = (-2.0 * ln_doc(uniform_doc(x[2])).3).sqrt();
    let a1 = sincos_doc(x[1]);
    let a3 = sincos_doc(x[3]);
    [r0 * a1.5, r0 * a1.4, r1 * a3.5, r1 * a3.4]
}

/// Row `row` of the Gaussian stream (c0, c1): element j is normal j % 4 of block j / 4.
fn row_doc(key: [u32; 2], c0: u32, c1: u32, row: u32, len: usize) -> Vec<f64> {
    (0..len)
        .map(|j| normals_doc(philox_doc([c0, c1, row, (j / 4) as u32], key))[j % 4])
        .collect()
}

/// The dense engine's dot product (docs/engines.md, "Floating-point order").
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n8 = x.len() / 8 * 8;
    let mut acc = [0.0f64; 8];
    for b in (0..n8).step_by(8) {
        for i in 0..8 {
            acc[i] += x[b + i] * y[b + i];
        }
    }
    let mut tail = 0.0;
    for i in n8..x.len() {
        tail += x[i] * y[i];
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Sum of squares from the left (drawn inputs, the Jacobian direction).
fn sumsq(x: &[f64]) -> f64 {
    x.iter().fold(0.0, |s, v| s + v * v)
}

/// ReLU and its derivative as the engine evaluates them (slopes 1 and 0; t <= 0 is the negative
/// side, so relu(-t) = 0 * -t = -0.0).
fn relu(t: f64) -> (f64, f64) {
    if t > 0.0 {
        (1.0 * t, 1.0)
    } else {
        (0.0 * t, 0.0)
    }
}

// ---------------------------------------------------------------------------------------------
// The lines of the example.

#[derive(Debug, Clone, Copy)]
enum Num {
    Hex(u64),
    Int(i64),
    F(f64),
}

impl PartialEq for Num {
    fn eq(&self, o: &Num) -> bool {
        match (self, o) {
            (Num::Hex(a), Num::Hex(b)) => a == b,
            (Num::Int(a), Num::Int(b)) => a == b,
            (Num::F(a), Num::F(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        }
    }
}

/// 17 significant digits, positional (enough to identify every f64).
fn sig17(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let e = v.abs().log10().floor() as i32;
    let s = format!("{:.*}", (16 - e).max(1) as usize, v);
    assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits());
    s
}

fn show(n: &Num) -> String {
    match n {
        Num::Hex(x) if *x <= u32::MAX as u64 => format!("0x{x:08X}"),
        Num::Hex(x) => format!("0x{x:016X}"),
        Num::Int(i) => i.to_string(),
        Num::F(f) => sig17(*f),
    }
}

fn parse(tok: &str) -> Num {
    if let Some(h) = tok.strip_prefix("0x") {
        Num::Hex(u64::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad hex {tok}")))
    } else if tok.contains('.') || tok.contains('e') {
        Num::F(tok.parse().unwrap_or_else(|_| panic!("bad float {tok}")))
    } else {
        Num::Int(tok.parse().unwrap_or_else(|_| panic!("bad integer {tok}")))
    }
}

#[derive(Default)]
struct Lines(Vec<(String, Vec<Num>)>);

impl Lines {
    fn words(&mut self, name: &str, w: &[u32]) {
        self.0
            .push((name.into(), w.iter().map(|&x| Num::Hex(x as u64)).collect()));
    }
    fn ints(&mut self, name: &str, v: &[i64]) {
        self.0
            .push((name.into(), v.iter().map(|&x| Num::Int(x)).collect()));
    }
    fn floats(&mut self, name: &str, v: &[f64]) {
        self.0
            .push((name.into(), v.iter().map(|&x| Num::F(x)).collect()));
    }
    fn bits(&mut self, name: &str, v: &[f64]) {
        self.0.push((
            name.into(),
            v.iter().map(|&x| Num::Hex(x.to_bits())).collect(),
        ));
    }
    fn render(&self) -> String {
        let w = self.0.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        self.0
            .iter()
            .map(|(n, v)| {
                let vals: Vec<String> = v.iter().map(show).collect();
                format!("{n:<w$} = {}\n", vals.join(" "))
            })
            .collect()
    }
}

/// The `name = values` lines of the checked blocks of docs/rng.md.
fn doc_lines() -> Vec<(String, Vec<Num>)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut checked = false;
    for line in DOC.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_block = !in_block;
            checked = false;
            continue;
        }
        if !in_block {
            continue;
        }
        if t == MARK {
            checked = true;
            continue;
        }
        if !checked || t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (name, vals) = t
            .split_once(" = ")
            .unwrap_or_else(|| panic!("docs/rng.md: checked line without ' = ': {t}"));
        let toks = vals
            .split(|c: char| c == ',' || c == '[' || c == ']' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(parse)
            .collect();
        out.push((name.trim().to_string(), toks));
    }
    out
}

fn spec() -> NetworkSpec {
    NetworkSpec::new(
        N0,
        vec![N1],
        NOUT,
        Activation::Relu,
        None,
        CB,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    )
    .unwrap()
}

/// Recomputes every number of the example; asserts on the way that the docs' formulas and the
/// crate's functions agree bitwise.
fn computed() -> Lines {
    let mut l = Lines::default();

    // Philox known-answer vectors (Random123 kat_vectors), as pinned in philox.rs.
    let kats: [([u32; 4], [u32; 2]); 3] = [
        ([0, 0, 0, 0], [0, 0]),
        ([u32::MAX; 4], [u32::MAX; 2]),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
        ),
    ];
    for (i, (c, k)) in kats.iter().enumerate() {
        let out = philox_doc(*c, *k);
        assert_eq!(out, philox4x32_10(*c, *k));
        l.words(&format!("kat{}.counter", i + 1), c);
        l.words(&format!("kat{}.key", i + 1), k);
        l.words(&format!("kat{}.output", i + 1), &out);
    }

    // Seed, key, the first counter of the layer-1 weights.
    let key = [SEED as u32, (SEED >> 32) as u32];
    assert_eq!(key, key_of_seed(SEED));
    assert_eq!(network_stream(SEED, NET), (key, NET as u32));
    let c1w1 = (1u32 << 24) | 1;
    assert_eq!(c1w1, tag(Purpose::Weight, 1));
    l.words("key", &key);
    let ctr = [NET as u32, c1w1, 0, 0];
    l.words("W1.row0.counter", &ctr);
    let x = philox_doc(ctr, key);
    l.words("W1.row0.words", &x);
    let m: Vec<i64> = x.iter().map(|&w| (w >> 8) as i64).collect();
    l.ints("W1.row0.m", &m);
    let u: Vec<f64> = x.iter().map(|&w| uniform_doc(w)).collect();
    for (a, &w) in u.iter().zip(&x) {
        assert_eq!(a.to_bits(), uniform(w).to_bits());
    }
    l.floats("W1.row0.u", &u);

    // Box–Muller, step by step, on (u0, u1).
    let (e, mant, s, ln0) = ln_doc(u[0]);
    assert_eq!(ln0.to_bits(), fastmath::ln(u[0]).to_bits());
    l.ints("ln.e", &[e]);
    l.floats("ln.m", &[mant]);
    l.floats("ln.s", &[s]);
    l.floats("ln(u0)", &[ln0]);
    let r0 = (-2.0 * ln0).sqrt();
    l.floats("r0", &[r0]);
    let (q, t, st, ct, sin1, cos1) = sincos_doc(x[1]);
    assert_eq!((sin1.to_bits(), cos1.to_bits()), {
        let (a, b) = fastmath::sincos_2pi_quadrant(u[1], q);
        (a.to_bits(), b.to_bits())
    });
    l.ints("q1", &[q as i64]);
    l.floats("t1", &[t]);
    l.floats("sin(t1), cos(t1)", &[st, ct]);
    l.floats("sin(2pi u1), cos(2pi u1)", &[sin1, cos1]);
    // The second pair (u2, u3): q3 = 4, a whole turn, so no rotation and t3 < 0.
    let r1 = (-2.0 * ln_doc(u[2]).3).sqrt();
    let (q3, t3, st3, ct3, sin3, cos3) = sincos_doc(x[3]);
    l.floats("ln(u2)", &[ln_doc(u[2]).3]);
    l.floats("r1", &[r1]);
    l.ints("q3", &[q3 as i64]);
    l.floats("t3", &[t3]);
    l.floats("sin(t3), cos(t3)", &[st3, ct3]);
    l.floats("sin(2pi u3), cos(2pi u3)", &[sin3, cos3]);
    let n = normals_doc(x);
    assert_eq!(n.map(f64::to_bits), normals4(x).map(f64::to_bits));
    assert_eq!(n[0].to_bits(), (r0 * cos1).to_bits());
    l.floats("W1.row0.normals", &n);

    // The other two laws on the same block.
    let uni: Vec<f64> = u.iter().map(|&v| 3f64.sqrt() * (2.0 * v - 1.0)).collect();
    let rad: Vec<f64> = x
        .iter()
        .map(|&w| if w < 0x8000_0000 { -1.0 } else { 1.0 })
        .collect();
    assert_eq!(
        uni.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        values4(WeightLaw::Uniform, x).map(f64::to_bits).to_vec()
    );
    assert_eq!(rad, values4(WeightLaw::Rademacher, x).to_vec());
    l.floats("uniform", &uni);
    l.floats("rademacher", &rad);

    // Drawn inputs: purpose 4, c0 = input index, key = the seed.
    let spec = spec();
    let inputs = resolve_inputs(&InputSpec::Random { count: 2 }, N0, SEED);
    let mut xs = Vec::new();
    for a in 0..2u32 {
        let c = [a, 4 << 24, 0, 0];
        assert_eq!(c[1], tag(Purpose::Input, 0));
        let raw = row_doc(key, a, c[1], 0, N0);
        let n2 = sumsq(&raw);
        let scale = (N0 as f64 / n2).sqrt();
        let xa: Vec<f64> = raw.iter().map(|v| v * scale).collect();
        assert_eq!(
            xa.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            inputs[a as usize]
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        );
        l.words(&format!("x{a}.counter"), &c);
        l.floats(&format!("x{a}.raw"), &raw);
        l.floats(&format!("x{a}.norm2"), &[n2]);
        l.floats(&format!("x{a}.scale"), &[scale]);
        l.floats(&format!("x{a}"), &xa);
        xs.push(xa);
    }

    // The Jacobian direction: purpose 3, layer 0, the network's key and c0; unit vector.
    let cu = [NET as u32, 3 << 24, 0, 0];
    assert_eq!(cu[1], tag(Purpose::JacobianDirection, 0));
    let uraw = row_doc(key, cu[0], cu[1], 0, N0);
    let unorm = sumsq(&uraw).sqrt();
    let uu: Vec<f64> = uraw.iter().map(|v| v / unorm).collect();
    l.words("u.counter", &cu);
    l.floats("u.raw", &uraw);
    l.floats("u.norm", &[unorm]);
    l.floats("u", &uu);

    // Weights and biases.
    let what = |c1: u32, row: u32, len: usize| {
        let v = row_doc(key, NET as u32, c1, row, len);
        let mut w = vec![0.0; len];
        fill_row(key, NET as u32, c1, row, WeightLaw::Gaussian, &mut w);
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            w.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        v
    };
    let w1: Vec<Vec<f64>> = (0..N1 as u32)
        .map(|i| what(tag(Purpose::Weight, 1), i, N0))
        .collect();
    let b1 = what(tag(Purpose::Bias, 1), 0, N1);
    let w2: Vec<Vec<f64>> = (0..NOUT as u32)
        .map(|i| what(tag(Purpose::Weight, 2), i, N1))
        .collect();
    let b2 = what(tag(Purpose::Bias, 2), 0, NOUT);
    let s1 = (CW / N0 as f64).sqrt();
    let s2 = (CW / N1 as f64).sqrt();
    let scb = CB.sqrt();
    l.words(
        "W1.row1.counter",
        &[NET as u32, tag(Purpose::Weight, 1), 1, 0],
    );
    l.floats("What1.row0", &w1[0]);
    l.floats("What1.row1", &w1[1]);
    l.floats("s1", &[s1]);
    l.floats("W1.row0", &w1[0].iter().map(|v| s1 * v).collect::<Vec<_>>());
    l.floats("W1.row1", &w1[1].iter().map(|v| s1 * v).collect::<Vec<_>>());
    l.words("beta1.counter", &[NET as u32, tag(Purpose::Bias, 1), 0, 0]);
    l.floats("beta1", &b1);
    l.floats("sqrt(C_b)", &[scb]);
    l.words(
        "W2.row0.counter",
        &[NET as u32, tag(Purpose::Weight, 2), 0, 0],
    );
    l.floats("What2.row0", &w2[0]);
    l.floats("What2.row1", &w2[1]);
    l.floats("s2", &[s2]);
    l.words("beta2.counter", &[NET as u32, tag(Purpose::Bias, 2), 0, 0]);
    l.floats("beta2", &b2);

    // Forward pass (docs/engines.md, "Dense"): z = s (Ŵ_i · a) + sqrt(C_b) β_i for inputs,
    // dz = s (Ŵ_i · da) + 0.0 for tangents.
    let layer = |w: &Vec<Vec<f64>>, s: f64, b: &[f64], a: &[f64], bias: bool| -> Vec<f64> {
        w.iter()
            .enumerate()
            .map(|(i, row)| 1.0 * (s * dot(row, a) + if bias { scb * b[i] } else { 0.0 }))
            .collect()
    };
    let mut outputs = Vec::new();
    let mut sq = vec![Vec::new(); 2];
    let mut jac = Vec::new();
    let mut a1s = Vec::new();
    let mut d1s = Vec::new();
    for a in 0..2 {
        let z1 = layer(&w1, s1, &b1, &xs[a], true);
        let dz1 = layer(&w1, s1, &b1, &uu, false);
        let (a1, d1): (Vec<f64>, Vec<f64>) = z1.iter().map(|&t| relu(t)).unzip();
        let da1: Vec<f64> = d1.iter().zip(&dz1).map(|(d, v)| d * v).collect();
        let z2 = layer(&w2, s2, &b2, &a1, true);
        let dz2 = layer(&w2, s2, &b2, &da1, false);
        l.floats(&format!("z1[x{a}]"), &z1);
        l.floats(&format!("a1[x{a}]"), &a1);
        l.floats(&format!("sigma'(z1[x{a}])"), &d1);
        l.floats(&format!("dz1[x{a}]"), &dz1);
        l.floats(&format!("da1[x{a}]"), &da1);
        l.floats(&format!("z2[x{a}]"), &z2);
        l.floats(&format!("dz2[x{a}]"), &dz2);
        outputs.push(z2[0]);
        sq[0].push(dot(&z1, &z1) / N1 as f64);
        sq[1].push(dot(&z2, &z2) / NOUT as f64);
        jac.push(dot(&dz2, &dz2).sqrt());
        a1s.push(a1);
        d1s.push(d1);
    }

    // Backward pass for readout unit 0: δ^2 = e_0, δ^1 = s2 σ'(z^1) ⊙ Ŵ^2ᵀ δ^2.
    let mut delta1 = Vec::new();
    for d1 in &d1s {
        // Ŵ^2ᵀ e_0 accumulated as the engine does: 0.0 + 1.0 * Ŵ^2[0][j] (row 1 has δ = 0).
        let g: Vec<f64> = w2[0].iter().map(|&w| 0.0 + 1.0 * w).collect();
        let dl: Vec<f64> = (0..N1).map(|j| 1.0 * s2 * d1[j] * g[j]).collect();
        delta1.push(dl);
    }
    l.floats("delta1[x0]", &delta1[0]);
    l.floats("delta1[x1]", &delta1[1]);
    let e0 = [1.0, 0.0];
    let mut ntk = Vec::new();
    for (a, b) in [(0, 0), (0, 1), (1, 1)] {
        // Layer 2 first (l = L+1 down to 1), each term α² [ (C_W/n_{l-1}) (a·a')(δ·δ') + C_b (δ·δ') ].
        let (wf2, wf1) = (CW / N1 as f64, CW / N0 as f64);
        let t2 = 1.0 * 1.0 * (wf2 * dot(&a1s[a], &a1s[b]) * dot(&e0, &e0) + CB * dot(&e0, &e0));
        let dd = dot(&delta1[a], &delta1[b]);
        let t1 = 1.0 * 1.0 * (wf1 * dot(&xs[a], &xs[b]) * dd + CB * dd);
        l.floats(&format!("ntk[{a},{b}].terms"), &[t2, t1]);
        ntk.push(0.0 + t2 + t1);
    }
    l.floats("output", &outputs);
    l.floats("ntk", &ntk);
    l.floats("sqnorm", &[sq[0][0], sq[0][1], sq[1][0], sq[1][1]]);
    l.floats("jacobian_norm", &jac);

    // The engine's values for network 0, in Problem::names() order.
    let problem = Problem {
        spec,
        inputs,
        observe: Observe::parse_list("output,ntk,sqnorm,jacobian").unwrap(),
        seed: SEED,
    };
    let engine = DenseEngine::new(&problem).unwrap();
    let mut out = vec![0.0; problem.n_values()];
    engine.sample(NET, &mut engine.scratch(), &mut out);
    let mine: Vec<f64> = outputs
        .iter()
        .chain(&ntk)
        .chain(&[sq[0][0], sq[0][1], sq[1][0], sq[1][1]])
        .chain(&jac)
        .copied()
        .collect();
    assert_eq!(
        problem.names(),
        [
            "output[0]",
            "output[1]",
            "ntk[0,0]",
            "ntk[0,1]",
            "ntk[1,1]",
            "sqnorm[1,0]",
            "sqnorm[1,1]",
            "sqnorm[2,0]",
            "sqnorm[2,1]",
            "jacobian_norm[0]",
            "jacobian_norm[1]"
        ]
    );
    assert_eq!(
        out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        mine.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "the dense engine differs from the docs' equations: {out:?} vs {mine:?}"
    );
    l.bits("values.bits", &out);
    l
}

#[test]
fn worked_example_matches_docs_bitwise() {
    let mine = computed();
    let doc = doc_lines();
    let rendered = mine.render();
    let ok = doc.len() == mine.0.len()
        && doc
            .iter()
            .zip(&mine.0)
            .all(|((dn, dv), (mn, mv))| dn == mn && dv == mv);
    if !ok {
        for ((dn, dv), (mn, mv)) in doc.iter().zip(&mine.0) {
            if dn != mn || dv != mv {
                eprintln!("first difference: doc `{dn}` {dv:?} vs computed `{mn}` {mv:?}");
                break;
            }
        }
        eprintln!("computed lines (docs/rng.md, the checked blocks, in order):\n{rendered}");
        panic!(
            "docs/rng.md's worked example ({} checked lines) differs from the code ({} lines)",
            doc.len(),
            mine.0.len()
        );
    }
}
