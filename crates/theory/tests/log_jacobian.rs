//! The law of log_jacobian_norm: the polygamma function against known values and statrs, and
//! the cumulants of ln‖Ju‖ against their closed forms where the law is a single ln χ².

use randnet_problem::{Activation, NetworkSpec};
use randnet_theory::{polygamma, predict_named, Kind};

/// ψ^{(m)}(1): −γ, π²/6, −2ζ(3), π⁴/15, −24ζ(5), 8π⁶/63 (Abramowitz & Stegun 6.4.2).
#[test]
fn polygamma_at_one() {
    use std::f64::consts::PI;
    let zeta3 = 1.202_056_903_159_594_2;
    let zeta5 = 1.036_927_755_143_369_9;
    let want = [
        -0.577_215_664_901_532_9,
        PI * PI / 6.0,
        -2.0 * zeta3,
        PI.powi(4) / 15.0,
        -24.0 * zeta5,
        8.0 * PI.powi(6) / 63.0,
    ];
    for (m, w) in want.iter().enumerate() {
        let got = polygamma(m, 1.0);
        // 20 recurrence steps and a 7-term series: a few ulp of rounding.
        assert!(
            ((got - w) / w).abs() < 1e-14,
            "psi^({m})(1) = {got}, want {w}"
        );
    }
}

/// ψ(x) against statrs' digamma over the arguments the laws use (k/2 for k = 1..10⁴).
#[test]
fn digamma_matches_statrs() {
    for x in [0.5, 1.5, 3.0, 7.25, 19.5, 20.0, 64.0, 5000.0] {
        let (a, b) = (polygamma(0, x), statrs::function::gamma::digamma(x));
        assert!((a - b).abs() < 1e-13 * b.abs().max(1.0), "{x}: {a} vs {b}");
    }
}

/// ψ^{(m)}(x + 1) = ψ^{(m)}(x) + (−1)^m m!/x^{m+1} across the switch to the series (x = 20).
#[test]
fn polygamma_recurrence_holds_across_the_series_switch() {
    for m in 1..=5 {
        let fact: f64 = (1..=m).map(|i| i as f64).product();
        for x in [18.5, 19.25, 19.75, 25.0] {
            let lhs = polygamma(m, x + 1.0);
            let rhs =
                polygamma(m, x) + if m % 2 == 0 { 1.0 } else { -1.0 } * fact / x.powi(m as i32 + 1);
            assert!(
                ((lhs - rhs) / rhs).abs() < 1e-13,
                "m={m} x={x}: {lhs} vs {rhs}"
            );
        }
    }
}

/// L = 0: ln‖Ju‖ = ½ ln(C_W/n0) + ½ ln χ²_{n_out}, cumulants ½(ψ(n/2) + ln 2) and
/// 2^{−j} ψ^{(j−1)}(n/2). Linear nets add one such term per layer.
#[test]
fn single_chi2_laws_are_closed_form() {
    for (hidden, n_out, act) in [
        (vec![], 3, Activation::Relu),
        (vec![], 1, Activation::Linear),
        (vec![5, 7], 2, Activation::Linear),
    ] {
        let spec = NetworkSpec::builder(4, hidden.clone())
            .output_dim(n_out)
            .activation(act)
            .cw(1.5)
            .build()
            .unwrap();
        let xs = vec![vec![1.0, 0.0, 0.5, -1.0]];
        let widths = spec.layer_widths();
        let mut mean = 0.0;
        let mut var = 0.0;
        let mut k4 = 0.0;
        for l in 1..widths.len() {
            let h = widths[l] as f64 / 2.0;
            mean += 0.5 * ((1.5 / widths[l - 1] as f64).ln() + polygamma(0, h) + 2f64.ln());
            var += 0.25 * polygamma(1, h);
            k4 += polygamma(3, h) / 16.0;
        }
        let p = |stat| predict_named(&spec, &xs, "log_jacobian_norm[0]", stat).unwrap();
        assert_eq!(p("mean").kind, Kind::Exact);
        for (stat, want) in [("mean", mean), ("variance", var), ("kappa4", k4)] {
            let got = p(stat).value;
            assert!(
                ((got - want) / want).abs() < 1e-12,
                "{hidden:?} {act}: {stat} {got} vs {want}"
            );
        }
    }
}

/// One ReLU unit per hidden layer: K_l conditioned on K_l ≥ 1 is 1, so each layer is a ln χ²_1.
#[test]
fn width_one_relu_layers_condition_to_chi2_one() {
    let spec = NetworkSpec::builder(3, vec![1, 1]).build().unwrap();
    let xs = vec![vec![1.0, 2.0, 0.0]];
    let v = predict_named(&spec, &xs, "log_jacobian_norm[0]", "variance").unwrap();
    let want = 0.25 * (2.0 * polygamma(1, 0.5) + polygamma(1, 0.5));
    assert!(
        ((v.value - want) / want).abs() < 1e-12,
        "{} vs {want}",
        v.value
    );
}

/// Theory only where the product law holds: ReLU with or without biases (the same law:
/// docs/theory.md §2.3), not tanh.
#[test]
fn biases_keep_the_law_tanh_has_none() {
    let xs = vec![vec![1.0, 2.0, 0.0]];
    let plain = NetworkSpec::builder(3, vec![4, 4]).build().unwrap();
    let biased = NetworkSpec::builder(3, vec![4, 4]).cb(0.1).build().unwrap();
    for stat in ["mean", "variance", "kappa4"] {
        let a = predict_named(&plain, &xs, "log_jacobian_norm[0]", stat).unwrap();
        let b = predict_named(&biased, &xs, "log_jacobian_norm[0]", stat).unwrap();
        assert_eq!(a.value.to_bits(), b.value.to_bits(), "{stat}");
        assert_eq!(b.kind, Kind::Exact);
    }
    let tanh = NetworkSpec::builder(3, vec![4, 4])
        .activation(Activation::Tanh)
        .build()
        .unwrap();
    assert!(predict_named(&tanh, &xs, "log_jacobian_norm[0]", "mean").is_none());
}
