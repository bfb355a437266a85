//! Arc lengths of `θ ↦ A cos θ + B sin θ + C`: exact total variation for one readout unit,
//! adaptive 7-point Gauss–Legendre quadrature of the speed otherwise.

use super::ARC_QUAD_RTOL;
use std::f64::consts::PI;

/// Length of θ ↦ A cos θ + B sin θ + C on [ta, tb] (blocks [A, B, C] of `nout` values each):
/// exact for one unit (total variation between the critical points), adaptive Gauss–Legendre
/// quadrature of the speed ‖−A sin θ + B cos θ‖ otherwise.
pub(super) fn arc_length(blk: &[f64], nout: usize, ta: f64, tb: f64) -> f64 {
    if nout == 1 {
        let (a, b, c) = (blk[0], blk[1], blk[2]);
        let f = |t: f64| a * t.cos() + b * t.sin() + c;
        // f' = 0 at θ = atan2(b, a) + kπ.
        let phi = b.atan2(a);
        let mut pts = vec![ta];
        let mut k = ((ta - phi) / PI).floor() - 1.0;
        loop {
            let t = phi + k * PI;
            if t >= tb {
                break;
            }
            if t > ta {
                pts.push(t);
            }
            k += 1.0;
        }
        pts.push(tb);
        return pts.windows(2).map(|w| (f(w[1]) - f(w[0])).abs()).sum();
    }
    let speed = |t: f64| -> f64 {
        let (sn, cs) = t.sin_cos();
        (0..nout)
            .map(|j| {
                let v = -sn * blk[j] + cs * blk[nout + j];
                v * v
            })
            .sum::<f64>()
            .sqrt()
    };
    let scale = (0..2 * nout).map(|j| blk[j] * blk[j]).sum::<f64>().sqrt();
    let tol = ARC_QUAD_RTOL * scale.max(f64::MIN_POSITIVE) * (tb - ta);
    adaptive_gl(&speed, ta, tb, tol, 0)
}

const GL7_X: [f64; 7] = [
    -0.949_107_912_342_758_5,
    -0.741_531_185_599_394_4,
    -0.405_845_151_377_397_2,
    0.0,
    0.405_845_151_377_397_2,
    0.741_531_185_599_394_4,
    0.949_107_912_342_758_5,
];
const GL7_W: [f64; 7] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
    0.381_830_050_505_118_9,
    0.279_705_391_489_276_7,
    0.129_484_966_168_869_7,
];

fn gl7(f: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let (m, h) = (0.5 * (a + b), 0.5 * (b - a));
    h * GL7_X
        .iter()
        .zip(GL7_W)
        .map(|(x, w)| w * f(m + h * x))
        .sum::<f64>()
}

fn adaptive_gl(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64, depth: u32) -> f64 {
    let whole = gl7(f, a, b);
    let m = 0.5 * (a + b);
    let halves = gl7(f, a, m) + gl7(f, m, b);
    if (whole - halves).abs() <= tol || depth >= 40 {
        return halves;
    }
    adaptive_gl(f, a, m, 0.5 * tol, depth + 1) + adaptive_gl(f, m, b, 0.5 * tol, depth + 1)
}
