//! Test helpers: a tiny deterministic RNG (SplitMix64, Steele, Lea & Flood 2014) and Box–Muller
//! normals, so the tests need no `rand` dependency.
#![allow(dead_code)]

pub struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed,
            spare: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1): 53 random bits, offset by half a step so 0 never occurs.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal by Box–Muller (both outputs used).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }

    /// Chi-square with `k` degrees of freedom: sum of `k` squared standard normals.
    pub fn chi2(&mut self, k: u32) -> f64 {
        (0..k)
            .map(|_| {
                let z = self.normal();
                z * z
            })
            .sum()
    }
}

/// Cumulant kappa_r of chi-square(k): k 2^{r-1} (r-1)!.
pub fn chi2_cumulant(k: u32, r: u32) -> f64 {
    let fact: f64 = (1..r).map(|i| i as f64).product();
    k as f64 * 2f64.powi(r as i32 - 1) * fact
}
