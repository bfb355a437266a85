//! Exact finite-width laws for every weight law (gaussian, uniform, rademacher), not only the
//! Gaussian one. Derivations: docs/derivations/weight_laws.md.
//!
//! Conventions (docs/theory.md): W^l = √(C_W/n_{l−1}) Ŵ^l with Ŵ_ij i.i.d., mean 0, variance 1,
//! symmetric, cumulants κ_4(Ŵ) = m4 − 3 and κ_6(Ŵ) = m6 − 15 m4 + 30 (m_k = E Ŵ^k; gaussian
//! (3, 15), uniform on [−√3, √3] (9/5, 27/7), rademacher (1, 1)); biases b^l = √C_b β^l,
//! β ~ N(0, 1).
//!
//! Two results:
//!
//! 1. **Linear nets** (σ(t) = a t, any weight law, any C_b ≥ 0, non-residual): the law of a unit of
//!    z^l given the previous layer's vector y depends on y only through the power sums
//!    p_k(y) = Σ_j y_j^k, because T = Σ_j Ŵ_j y_j has cumulants κ_k(T) = κ_k(Ŵ) p_k(y). So the
//!    conditional moments E[(z_i^l)^{2k} | y] are polynomials in p_2, p_4, p_6, units are
//!    independent given y, and the expectations of the monomials {1, p2, p4, p2², p6, p2p4, p2³}
//!    (weight ≤ 6) of layer l follow exactly from those of layer l−1 (a moment recursion,
//!    [`linear_output_cumulants`]). The input enters through Σx_j², Σx_j⁴, Σx_j⁶, not ‖x‖² alone.
//!
//! 2. **Piecewise-linear σ** (slopes a₊, a₋; relu, leaky-relu, linear, shaped-relu), any symmetric
//!    weight law, any C_b ≥ 0, non-residual: z^l_i is symmetric (flip the signs of row i of Ŵ^l
//!    and of β^l_i), so E σ(z^l_i)² = A2_l E (z^l_i)², A2_l = (a₊² + a₋²)/2, and
//!    E (z^{l+1}_i)² = C_b + C_W A2_l E (z^l_i)², E (z^1_i)² = C_b + C_W ‖x‖²/n0 — the infinite-width
//!    recursion holds exactly at every width and for every law ([`symmetric_pl_output_variance`],
//!    [`symmetric_pl_sqnorm_mean`]). Critical ReLU (C_W = 2, C_b = 0): Var f = 2‖x‖²/n0.
//!
//! Cumulant vectors have the layout of [`crate::exact::jacobian_cumulants`]: index 0 unused (0),
//! κ_1..κ_6 at indices 1..=6; NaN where not derived.

use crate::exact::{cumulants_from_moments, MAXK};
use randnet_problem::{NetworkSpec, WeightLaw};
use std::collections::BTreeMap;

/// Raw moments (m4, m6) = (E Ŵ⁴, E Ŵ⁶) of a standardized weight law.
pub fn law_moments(law: WeightLaw) -> (f64, f64) {
    match law {
        WeightLaw::Gaussian => (3.0, 15.0),
        // Ŵ = √3 (2u − 1): E Ŵ^{2k} = 3^k/(2k + 1).
        WeightLaw::Uniform => (9.0 / 5.0, 27.0 / 7.0),
        WeightLaw::Rademacher => (1.0, 1.0),
    }
}

/// Cumulants (κ_4, κ_6) of a standardized symmetric weight law: κ_4 = m4 − 3,
/// κ_6 = m6 − 15 m4 + 30 (gaussian (0, 0), uniform (−6/5, 48/7), rademacher (−2, 16)).
pub fn law_cumulants(law: WeightLaw) -> (f64, f64) {
    let (m4, m6) = law_moments(law);
    (m4 - 3.0, m6 - 15.0 * m4 + 30.0)
}

/// A monomial p2^a p4^b p6^c in the power sums of a layer's vector (weight 2a + 4b + 6c ≤ 6).
type Mono = (u8, u8, u8);
/// A polynomial in (p2, p4, p6).
type Poly = BTreeMap<Mono, f64>;

fn weight(m: Mono) -> u32 {
    2 * m.0 as u32 + 4 * m.1 as u32 + 6 * m.2 as u32
}

fn poly(terms: &[(Mono, f64)]) -> Poly {
    let mut p = Poly::new();
    for &(m, c) in terms {
        *p.entry(m).or_insert(0.0) += c;
    }
    p
}

fn mul(a: &Poly, b: &Poly) -> Poly {
    let mut p = Poly::new();
    for (&ma, &ca) in a {
        for (&mb, &cb) in b {
            let m = (ma.0 + mb.0, ma.1 + mb.1, ma.2 + mb.2);
            *p.entry(m).or_insert(0.0) += ca * cb;
        }
    }
    p
}

/// E of a polynomial given the expectations of the monomials.
fn expect(p: &Poly, state: &BTreeMap<Mono, f64>) -> f64 {
    p.iter()
        .map(|(m, c)| {
            debug_assert!(weight(*m) <= 6);
            c * state[m]
        })
        .sum()
}

const MONOS: [Mono; 7] = [
    (0, 0, 0),
    (1, 0, 0),
    (2, 0, 0),
    (0, 1, 0),
    (3, 0, 0),
    (1, 1, 0),
    (0, 0, 1),
];

/// The exchangeable mixed moments of one layer's units, z_i = √s T_i + √C_b β_i with
/// T_i = Σ_j Ŵ_ij y_j (rows i.i.d.), as expectations over the previous layer's monomials:
/// (μ2, μ4, μ6, μ22, μ42, μ222) = (E z_1², E z_1⁴, E z_1⁶, E z_1²z_2², E z_1⁴z_2², E z_1²z_2²z_3²).
fn layer_moments(s: f64, cb: f64, k4: f64, k6: f64, state: &BTreeMap<Mono, f64>) -> [f64; 6] {
    // Conditional moments of T given y: E T² = p2, E T⁴ = κ4 p4 + 3 p2²,
    // E T⁶ = κ6 p6 + 15 κ4 p4 p2 + 15 p2³ (κ_odd = 0; μ6 = κ6 + 15 κ4 κ2 + 15 κ2³).
    let t2 = poly(&[((1, 0, 0), 1.0)]);
    let t4 = poly(&[((0, 1, 0), k4), ((2, 0, 0), 3.0)]);
    let t6 = poly(&[((0, 0, 1), k6), ((1, 1, 0), 15.0 * k4), ((3, 0, 0), 15.0)]);
    let one = poly(&[((0, 0, 0), 1.0)]);
    // E z^{2k} | y = Σ_j C(2k, 2j) s^j E T^{2j} C_b^{k−j} (2(k−j) − 1)!!.
    let lin = |terms: &[(&Poly, f64)]| {
        let mut p = Poly::new();
        for (q, c) in terms {
            for (m, v) in q.iter() {
                *p.entry(*m).or_insert(0.0) += c * v;
            }
        }
        p
    };
    let c2 = lin(&[(&t2, s), (&one, cb)]);
    let c4 = lin(&[(&t4, s * s), (&t2, 6.0 * s * cb), (&one, 3.0 * cb * cb)]);
    let c6 = lin(&[
        (&t6, s * s * s),
        (&t4, 15.0 * s * s * cb),
        (&t2, 45.0 * s * cb * cb),
        (&one, 15.0 * cb * cb * cb),
    ]);
    let c22 = mul(&c2, &c2);
    [
        expect(&c2, state),
        expect(&c4, state),
        expect(&c6, state),
        expect(&c22, state),
        expect(&mul(&c4, &c2), state),
        expect(&mul(&c22, &c2), state),
    ]
}

/// The expectations of the monomials of a width-n layer from its exchangeable moments.
fn next_state(n: usize, mm: [f64; 6]) -> BTreeMap<Mono, f64> {
    let [m2, m4, m6, m22, m42, m222] = mm;
    let n = n as f64;
    let mut st = BTreeMap::new();
    st.insert((0, 0, 0), 1.0);
    st.insert((1, 0, 0), n * m2);
    st.insert((0, 1, 0), n * m4);
    st.insert((2, 0, 0), n * m4 + n * (n - 1.0) * m22);
    st.insert((0, 0, 1), n * m6);
    st.insert((1, 1, 0), n * m6 + n * (n - 1.0) * m42);
    st.insert(
        (3, 0, 0),
        n * m6 + 3.0 * n * (n - 1.0) * m42 + n * (n - 1.0) * (n - 2.0) * m222,
    );
    st
}

/// The input's monomials (deterministic).
fn input_state(x: &[f64]) -> BTreeMap<Mono, f64> {
    let p = |k: i32| x.iter().map(|v| v.powi(k)).sum::<f64>();
    let (p2, p4, p6) = (p(2), p(4), p(6));
    MONOS
        .iter()
        .map(|&m| {
            (
                m,
                p2.powi(m.0 as i32) * p4.powi(m.1 as i32) * p6.powi(m.2 as i32),
            )
        })
        .collect()
}

/// The uniform slope a of a linear activation σ(t) = a t on every hidden layer; None when the
/// net is residual or σ is not linear on some layer.
fn linear_slopes(spec: &NetworkSpec) -> Option<Vec<f64>> {
    if spec.residual.is_some() {
        return None;
    }
    spec.hidden
        .iter()
        .map(|&n| match spec.activation.slopes(n) {
            Some((ap, am)) if ap == am => Some(ap),
            _ => None,
        })
        .collect()
}

/// Runs the linear moment recursion up to layer `l` (1..=L+1) and returns that layer's
/// exchangeable moments and monomial expectations.
fn linear_layer(
    spec: &NetworkSpec,
    l: usize,
    x: &[f64],
) -> Option<([f64; 6], BTreeMap<Mono, f64>)> {
    let slopes = linear_slopes(spec)?;
    let widths = spec.layer_widths();
    if x.len() != spec.input_dim || l == 0 || l > spec.depth() + 1 {
        return None;
    }
    let (k4, k6) = law_cumulants(spec.weights);
    let mut state = input_state(x);
    let mut last = None;
    for j in 1..=l {
        // y = σ(z^{j−1}) = a z^{j−1}: p_k(y) = a^k p_k(z), absorbed into s = C_W a²/n_{j−1}.
        let a2 = if j == 1 { 1.0 } else { slopes[j - 2].powi(2) };
        let s = spec.cw * a2 / widths[j - 1] as f64;
        let mm = layer_moments(s, spec.cb, k4, k6, &state);
        state = next_state(widths[j], mm);
        last = Some(mm);
    }
    Some((last?, state))
}

/// Exact cumulants κ_1..κ_6 (index 0 unused) of the readout unit f_0(x) of a non-residual
/// linear net (σ(t) = a t on every hidden layer: linear, leaky-relu:1, shaped-relu:0), for ANY
/// weight law and any C_b ≥ 0, at the spec's finite widths.
///
/// Derivation (docs/derivations/weight_laws.md §1): given the previous layer's vector y, the
/// units z_i = √s Σ_j Ŵ_ij y_j + √C_b β_i (s = C_W a²/n_{l−1}) are i.i.d., and
/// E[z_i^4 | y] = s²(3p2² + κ4(Ŵ) p4) + 6 s C_b p2 + 3 C_b², E[z_i^6 | y] likewise with
/// κ6(Ŵ) p6 (p_k = Σ_j y_j^k). Recursing E[p2], E[p4], E[p2²], E[p6], E[p2 p4], E[p2³] layer by
/// layer gives E f², E f⁴, E f⁶ exactly; odd cumulants vanish (f → −f symmetry). With Gaussian
/// weights and C_b = 0 this reproduces docs/theory.md §2.1 (excess kurtosis 3[Π(1 + 2/n_l) − 1]).
/// Closed forms at C_b = 0, P_k = Σ_j x_j^k, m4 = E Ŵ⁴: L = 0: κ4 = C_W² (m4 − 3) P4/n0²;
/// L = 1: κ4 = C_W⁴/(n0² n1) · [3(m4 − 1) P2² + m4 (m4 − 3) P4].
///
/// None for residual nets, non-linear σ or a mismatched input length.
pub fn linear_output_cumulants(spec: &NetworkSpec, x: &[f64]) -> Option<Vec<f64>> {
    let (mm, _) = linear_layer(spec, spec.depth() + 1, x)?;
    let (m2, m4, m6) = (mm[0], mm[1], mm[2]);
    let mut kap = vec![0.0; MAXK + 1];
    kap[2] = m2;
    kap[4] = m4 - 3.0 * m2 * m2;
    kap[6] = m6 - 15.0 * m4 * m2 + 30.0 * m2 * m2 * m2;
    Some(kap)
}

/// Exact excess kurtosis κ4/κ2² of f_0(x) for a linear net (see [`linear_output_cumulants`]).
pub fn linear_output_excess_kurtosis(spec: &NetworkSpec, x: &[f64]) -> Option<f64> {
    let k = linear_output_cumulants(spec, x)?;
    (k[2] > 0.0).then(|| k[4] / (k[2] * k[2]))
}

/// Exact cumulants of sqnorm[l] = ‖z^l‖²/n_l (l = 1..=L+1, n_{L+1} = n_out) for a non-residual
/// linear net, any weight law, any C_b: κ1, κ2, κ3 from E p2, E p2², E p2³ of the same recursion
/// as [`linear_output_cumulants`]; κ4..κ6 are not derived (NaN).
pub fn linear_sqnorm_cumulants(spec: &NetworkSpec, l: usize, x: &[f64]) -> Option<Vec<f64>> {
    let (_, st) = linear_layer(spec, l, x)?;
    let n = spec.layer_widths()[l] as f64;
    let mu = [
        1.0,
        st[&(1, 0, 0)] / n,
        st[&(2, 0, 0)] / (n * n),
        st[&(3, 0, 0)] / (n * n * n),
    ];
    let k = cumulants_from_moments(&mu);
    let mut kap = vec![f64::NAN; MAXK + 1];
    kap[0] = 0.0;
    kap[1..=3].copy_from_slice(&k[1..=3]);
    Some(kap)
}

/// E (z^l_i)² = K^l for l = 1..=L+1 (the same for every unit i) of a non-residual net with a
/// piecewise-linear activation (relu, leaky-relu, linear, shaped-relu), any symmetric weight law,
/// any C_b ≥ 0: K^1 = C_b + C_W ‖x‖²/n0, K^{l+1} = C_b + C_W (a₊² + a₋²)/2 · K^l with the slopes of
/// σ acting on layer l (width n_l). None otherwise.
fn symmetric_pl_second_moment(spec: &NetworkSpec, l: usize, x: &[f64]) -> Option<f64> {
    if spec.residual.is_some()
        || !spec.activation.is_piecewise_linear()
        || x.len() != spec.input_dim
        || l == 0
        || l > spec.depth() + 1
    {
        return None;
    }
    let x2: f64 = x.iter().map(|v| v * v).sum();
    let mut k = spec.cb + spec.cw * x2 / spec.input_dim as f64;
    for &n in &spec.hidden[..l - 1] {
        let (ap, am) = spec.activation.slopes(n)?;
        k = spec.cb + spec.cw * (ap * ap + am * am) / 2.0 * k;
    }
    Some(k)
}

/// Exact Var f_0(x) (= E f_0², the mean being 0) for a non-residual net with a piecewise-linear
/// activation of slopes (a₊, a₋) (relu, leaky-relu:S, linear, shaped-relu:C), ANY symmetric
/// weight law (all of randnet's are) and any C_b ≥ 0, at the spec's finite widths:
///
///   Var f = K^{L+1},  K^1 = C_b + C_W ‖x‖²/n0,  K^{l+1} = C_b + C_W A2_l K^l,  A2_l = (a₊² + a₋²)/2,
///
/// i.e. the infinite-width NNGP value. Proof (docs/derivations/weight_laws.md §2): z^l_i is
/// symmetric (flip row i of Ŵ^l and β^l_i; nothing else changes), so
/// E σ(z)² = a₊² E[z² 1{z>0}] + a₋² E[z² 1{z<0}] = A2 E z², and
/// E (z^{l+1}_i)² = (C_W/n_l) Σ_j E σ(z^l_j)² + C_b because Ŵ^{l+1} is centred and independent of
/// z^l. Zero-bias critical ReLU (C_W = 2): Var f = 2‖x‖²/n0 exactly, for every width and law.
/// None for residual nets and activations that are not piecewise linear.
pub fn symmetric_pl_output_variance(spec: &NetworkSpec, x: &[f64]) -> Option<f64> {
    symmetric_pl_second_moment(spec, spec.depth() + 1, x)
}

/// Exact E sqnorm[l] = E ‖z^l‖²/n_l = K^l (l = 1..=L+1) under the assumptions of
/// [`symmetric_pl_output_variance`].
pub fn symmetric_pl_sqnorm_mean(spec: &NetworkSpec, l: usize, x: &[f64]) -> Option<f64> {
    symmetric_pl_second_moment(spec, l, x)
}
