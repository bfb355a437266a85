//! Splitting a convex polygon by the zero line of an affine function.

/// Splits a convex polygon by the line where the affine function with vertex values `vals` is 0;
/// vertices with |value| <= eps lie on the line and go to both sides.
pub(super) fn clip(verts: &[[f64; 2]], vals: &[f64], eps: f64) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let side = |v: f64| -> i8 {
        if v > eps {
            1
        } else if v < -eps {
            -1
        } else {
            0
        }
    };
    let mut pos = Vec::with_capacity(verts.len() + 1);
    let mut neg = Vec::with_capacity(verts.len() + 1);
    let k = verts.len();
    for j in 0..k {
        let (p, vp) = (verts[j], vals[j]);
        let (q, vq) = (verts[(j + 1) % k], vals[(j + 1) % k]);
        let (sp, sq) = (side(vp), side(vq));
        if sp >= 0 {
            pos.push(p);
        }
        if sp <= 0 {
            neg.push(p);
        }
        if sp * sq < 0 {
            let u = vp / (vp - vq);
            let x = [p[0] + u * (q[0] - p[0]), p[1] + u * (q[1] - p[1])];
            pos.push(x);
            neg.push(x);
        }
    }
    (pos, neg)
}
