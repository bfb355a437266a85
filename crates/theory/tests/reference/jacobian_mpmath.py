#!/usr/bin/env python3
"""High-precision reference for randnet_theory::exact::jacobian_cumulants.

The law (docs/theory.md §2.3): ‖Ju‖² = Π_{l=1}^{L+1} (C_W/n_{l−1}) X_l with independent
X_l ~ χ²_{K_l}, K_l ~ Bin(n_l, 1/2) for ReLU hidden layers (χ²_0 = 0: a dead layer gives
‖Ju‖ = 0, kept in the law), K_l = n_l for linear hidden layers and K_{L+1} = n_out for the
readout. So the raw moments are

    E‖Ju‖^j = (C_W^{L+1} / Π_{l=0}^{L} n_l)^{j/2} Π_l E[X_l^{j/2}],
    E[(χ²_k)^p] = 2^p Γ(k/2 + p)/Γ(k/2),

and the cumulants follow from κ_n = μ_n − Σ_{k<n} C(n−1, k−1) κ_k μ_{n−k}. That conversion
cancels catastrophically when the law is concentrated (it loses about 6·log10(E J/sd J) digits
in κ6), which is why this script works with PREC decimal digits (50): at N = 100 000 it loses
~16 of them and keeps ~34, far beyond the double precision it is compared with.

Usage: python3 jacobian_mpmath.py > jacobian_mpmath.txt   (needs `pip install mpmath`)

Output, one case a line: relu cw widths(comma-separated) κ1 κ2 κ3 κ4 κ5 κ6 (30 significant
digits each). crates/theory/tests/jacobian_precision.rs reads the committed output.
"""

import mpmath as mp

PREC = 50
mp.mp.dps = PREC

CASES = [
    # Single χ_N factors: widths [1, N], linear, C_W = 1 gives ‖Ju‖ = χ_N exactly.
    (False, "1", [1, 1]),
    (False, "1", [1, 2]),
    (False, "1", [1, 7]),
    (False, "1", [1, 16]),
    (False, "1", [1, 50]),
    (False, "1", [1, 2000]),
    (False, "1", [1, 100000]),
    # ReLU nets (C_W = 2), small and large.
    (True, "2", [1, 1, 1]),
    (True, "2", [3, 4, 4, 2]),
    (True, "1.3", [5, 16, 9, 16, 3]),
    (True, "2", [8, 64, 64, 64, 1]),
    (True, "2", [16, 2000, 2000, 1]),
    (True, "2", [4, 100000, 1]),
    # Linear nets.
    (False, "1", [16, 5000, 1]),
    (False, "0.7", [3, 12, 5, 4]),
]


def chi2_power(k, p):
    """E[(χ²_k)^p], p > 0 (0 for k = 0)."""
    if k == 0:
        return mp.mpf(0)
    h = mp.mpf(k) / 2
    return mp.power(2, p) * mp.exp(mp.loggamma(h + p) - mp.loggamma(h))


def binomial_chi2_power(n, p):
    """E[(χ²_K)^p], K ~ Bin(n, 1/2)."""
    half_n = mp.power(2, -n)
    total = mp.mpf(0)
    for k in range(1, n + 1):
        total += mp.binomial(n, k) * half_n * chi2_power(k, p)
    return total


def cumulants(relu, cw, widths):
    cw = mp.mpf(cw)
    depth = len(widths) - 2
    scale = cw ** (depth + 1)
    for n in widths[: depth + 1]:
        scale /= n
    mu = [mp.mpf(1)] * 7
    for j in range(1, 7):
        p = mp.mpf(j) / 2
        m = mp.power(scale, p)
        for n in widths[1 : depth + 1]:
            m *= binomial_chi2_power(n, p) if relu else chi2_power(n, p)
        m *= chi2_power(widths[depth + 1], p)
        mu[j] = m
    kap = [mp.mpf(0)] * 7
    for n in range(1, 7):
        s = mu[n]
        for k in range(1, n):
            s -= mp.binomial(n - 1, k - 1) * kap[k] * mu[n - k]
        kap[n] = s
    return kap[1:]


def main():
    print(f"# jacobian_mpmath.py, mpmath {mp.__version__}, {PREC} digits")
    print("# relu cw widths kappa1 kappa2 kappa3 kappa4 kappa5 kappa6")
    for relu, cw, widths in CASES:
        kap = cumulants(relu, cw, widths)
        ks = " ".join(mp.nstr(k, 30, min_fixed=1, max_fixed=0) for k in kap)
        print(f"{int(relu)} {cw} {','.join(map(str, widths))} {ks}")


if __name__ == "__main__":
    main()
