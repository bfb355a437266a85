//! Activation patterns over the triangle: exact enumeration of the regions (recursive splitting
//! by the units' zero lines) and the grid lower bound (distinct patterns at centroids).

use super::clip::clip;
use super::{GeometryEngine, GeometryScratch};
use std::collections::HashSet;

impl GeometryEngine {
    /// Exact number of activation patterns over the triangle of network `net`; `leaf` is called
    /// with the vertices (in the triangle's (s, t) coordinates, x = x_0 + s (x_1 − x_0) +
    /// t (x_2 − x_0)) of every final region.
    pub fn patterns_exact(
        &self,
        net: u64,
        s: &mut GeometryScratch,
        leaf: &mut dyn FnMut(&[[f64; 2]]),
    ) -> usize {
        self.load(net, s);
        self.patterns_exact_loaded(s, leaf)
    }

    /// Distinct activation patterns at the centroids of the `m`² sub-triangles of the uniform
    /// subdivision of the triangle (a lower bound of the exact count).
    pub fn patterns_grid(&self, net: u64, s: &mut GeometryScratch, m: usize) -> usize {
        self.load(net, s);
        self.patterns_grid_loaded(s, m)
    }

    pub(super) fn patterns_exact_loaded(
        &self,
        s: &GeometryScratch,
        leaf: &mut dyn FnMut(&[[f64; 2]]),
    ) -> usize {
        let n0 = self.widths[0];
        let mut a = vec![0.0; 3 * n0];
        for (j, v) in self.tri.iter().enumerate() {
            a[j * n0..(j + 1) * n0].copy_from_slice(v);
        }
        let tri = vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        self.split_rec(s, 1, &tri, &a, &[], leaf)
    }

    /// Depth-first: splits `poly` (on which a^{l−1} = a, coefficient blocks [const, s, t]) by the
    /// zero lines of the units of layer l and recurses; returns the number of final regions.
    fn split_rec(
        &self,
        s: &GeometryScratch,
        l: usize,
        poly: &[[f64; 2]],
        a: &[f64],
        z_prev: &[f64],
        leaf: &mut dyn FnMut(&[[f64; 2]]),
    ) -> usize {
        let depth = self.problem.spec.depth();
        if l > depth {
            leaf(poly);
            return 1;
        }
        let n = self.widths[l];
        let mut z = Vec::new();
        self.layer(l, s, a, 3, 3, 0, z_prev, &mut z);
        let words = n.div_ceil(64);
        // (vertices, sign bits of layer l)
        let mut list: Vec<(Vec<[f64; 2]>, Vec<u64>)> = vec![(poly.to_vec(), vec![0; words])];
        if self.kinked(l) {
            let mut next = Vec::new();
            let mut vals = Vec::new();
            for i in 0..n {
                let (c, ds, dt) = (z[i], z[n + i], z[2 * n + i]);
                let eps = 1e-12 * (c.abs() + ds.abs() + dt.abs());
                next.clear();
                for (verts, bits) in list.drain(..) {
                    vals.clear();
                    vals.extend(verts.iter().map(|v| c + ds * v[0] + dt * v[1]));
                    let pos = vals.iter().any(|&v| v > eps);
                    let neg = vals.iter().any(|&v| v < -eps);
                    if pos && neg {
                        let (pv, nv) = clip(&verts, &vals, eps);
                        let mut pb = bits.clone();
                        pb[i / 64] |= 1 << (i % 64);
                        next.push((pv, pb));
                        next.push((nv, bits));
                    } else {
                        let mut b = bits;
                        if pos {
                            b[i / 64] |= 1 << (i % 64);
                        }
                        next.push((verts, b));
                    }
                }
                std::mem::swap(&mut list, &mut next);
            }
        } else {
            // No kink: the sign does not change the map; mark all positive (slope p = m).
            for w in list[0].1.iter_mut() {
                *w = u64::MAX;
            }
        }
        let (p, m) = self.slopes[l];
        let mut an = vec![0.0; 3 * n];
        let mut count = 0;
        for (verts, bits) in &list {
            for i in 0..n {
                let sl = if bits[i / 64] >> (i % 64) & 1 == 1 {
                    p
                } else {
                    m
                };
                an[i] = sl * z[i];
                an[n + i] = sl * z[n + i];
                an[2 * n + i] = sl * z[2 * n + i];
            }
            count += self.split_rec(s, l + 1, verts, &an, &z, leaf);
        }
        count
    }

    pub(super) fn patterns_grid_loaded(&self, s: &GeometryScratch, m: usize) -> usize {
        let depth = self.problem.spec.depth();
        let n0 = self.widths[0];
        let mf = m as f64;
        let mut pts: Vec<[f64; 2]> = Vec::with_capacity(m * m);
        for i in 0..m {
            for j in 0..m - i {
                pts.push([(i as f64 + 1.0 / 3.0) / mf, (j as f64 + 1.0 / 3.0) / mf]);
                if i + j + 1 < m {
                    pts.push([(i as f64 + 2.0 / 3.0) / mf, (j as f64 + 2.0 / 3.0) / mf]);
                }
            }
        }
        let mut seen: HashSet<(u64, u64)> = HashSet::new();
        const CHUNK: usize = 256;
        let mut z = Vec::new();
        let mut z_prev = Vec::new();
        for chunk in pts.chunks(CHUNK) {
            let cols = chunk.len();
            let mut a = vec![0.0; cols * n0];
            for (c, p) in chunk.iter().enumerate() {
                for j in 0..n0 {
                    a[c * n0 + j] = self.tri[0][j] + p[0] * self.tri[1][j] + p[1] * self.tri[2][j];
                }
            }
            let mut h = vec![(0x9E37_79B9_7F4A_7C15u64, 0xD1B5_4A32_D192_ED03u64); cols];
            z_prev.clear();
            for l in 1..=depth {
                self.layer(l, s, &a, cols, 1, 0, &z_prev, &mut z);
                let n = self.widths[l];
                let act = self.acts[l];
                if self.kinked(l) {
                    for (c, hc) in h.iter_mut().enumerate() {
                        for w in z[c * n..(c + 1) * n].chunks(64) {
                            let mut bits = 0u64;
                            for (b, &v) in w.iter().enumerate() {
                                if v > 0.0 {
                                    bits |= 1 << b;
                                }
                            }
                            hc.0 = mix(hc.0 ^ bits);
                            hc.1 = mix(hc.1.wrapping_add(bits).rotate_left(17));
                        }
                    }
                }
                a.clear();
                a.extend(z.iter().map(|&v| act.eval(v).0));
                std::mem::swap(&mut z, &mut z_prev);
            }
            seen.extend(h);
        }
        seen.len()
    }
}

/// SplitMix64's finalizer.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
