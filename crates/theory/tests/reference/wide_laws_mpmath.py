#!/usr/bin/env python3
"""High-precision references for three more laws that concentrate at large width
(crates/theory/tests/jacobian_precision.rs, `wide_laws_match_references`).

* sqnorm2 n: sqnorm[2] of a zero-bias ReLU net, C_W = 2, widths n0 = 4, n1 = n2 = n, ‖x‖² = 4:
  sqnorm[2] = 2 · S/(n E Y) · χ²_n/n, S = Σ_{i≤n} relu(g_i)², E(Y/EY)^k = (2k−1)!! 2^{k−1}
  (k ≥ 1), κ_k(S/(nEY)) = n κ_k(Y/EY)/n^k, E(χ²_n/n)^k = Π_{i<k}(n + 2i)/n: all rational, so
  this is EXACT (Python fractions), printed to 25 digits. (`ScaleInvariantNet::sqnorm_cumulants`.)
* circle n: `regions` on the circle for one hidden layer of width n, regions = max(2B, 1),
  B ~ Bin(n, q), q = √(1/2) (n0 = 2, x0 = (1, 0), C_W = 2, C_b = 1; q is taken as the double
  nearest √(1/2), 0.7071067811865476, as the Rust code has it). mpmath, 50 digits.
  (`geometry::circle_regions_one_layer`.)
* logmix n: cumulants of ln χ²_K, K ~ Bin(n, 1/2) conditioned on K ≥ 1 (the ReLU layer term of
  the log-Jacobian and Lyapunov laws; lyapunov[1] of an L = 1 net is ½[ln(C_W/n0) + this]).
  mpmath, 50 digits, raw moments of the mixture from per-K polygamma cumulants.

Usage: python3 wide_laws_mpmath.py > wide_laws_mpmath.txt   (needs `pip install mpmath`)
Output, one case a line: name n κ1 κ2 κ3 κ4 κ5 κ6.
"""

from fractions import Fraction as F
from math import comb

import mpmath as mp

mp.mp.dps = 50


def cum_from_raw(mu):
    kap = [0] * 7
    for n in range(1, 7):
        s = mu[n]
        for k in range(1, n):
            s -= comb(n - 1, k - 1) * kap[k] * mu[n - k]
        kap[n] = s
    return kap


def raw_from_cum(kap):
    mu = [1] + [0] * 6
    for n in range(1, 7):
        mu[n] = sum(comb(n - 1, k - 1) * kap[k] * mu[n - k] for k in range(1, n + 1))
    return mu


def dfact(k):
    r = 1
    for i in range(1, k + 1):
        r *= 2 * i - 1
    return r


def sqnorm2(n, scale=F(2)):
    my = [F(1)] + [F(dfact(k)) * 2 ** (k - 1) for k in range(1, 7)]
    ky = cum_from_raw(my)
    ks = [0] + [ky[k] * n / F(n) ** k for k in range(1, 7)]
    ms = raw_from_cum(ks)
    mc = [F(1)]
    for k in range(1, 7):
        p = F(1)
        for i in range(k):
            p *= F(n + 2 * i, n)
        mc.append(p)
    kap = cum_from_raw([ms[k] * mc[k] for k in range(7)])
    return [mp.mpf(x.numerator) / x.denominator * scale**k for k, x in enumerate(kap)][1:]


def circle(n, q):
    q = mp.mpf(q)
    mu = [mp.mpf(0)] * 7
    for k in range(n + 1):
        w = mp.binomial(n, k) * q**k * (1 - q) ** (n - k)
        v = mp.mpf(1) if k == 0 else mp.mpf(2 * k)
        for m in range(7):
            mu[m] += w * v**m
    return cum_from_raw(mu)[1:]


def logmix(n):
    tail = 1 - mp.mpf(2) ** (-n)
    mu = [mp.mpf(0)] * 7
    for k in range(1, n + 1):
        w = mp.binomial(n, k) * mp.mpf(2) ** (-n) / tail
        if w < mp.mpf(10) ** (-60):
            continue
        h = mp.mpf(k) / 2
        kap = [0, mp.digamma(h) + mp.log(2)] + [mp.polygamma(j - 1, h) for j in range(2, 7)]
        m = raw_from_cum(kap)
        for j in range(7):
            mu[j] += w * m[j]
    return cum_from_raw(mu)[1:]


def main():
    print("# wide_laws_mpmath.py: name n kappa1..kappa6")
    for n in [16, 2000, 100000]:
        print("sqnorm2", n, " ".join(mp.nstr(x, 25) for x in sqnorm2(n)))
    for n in [100, 1000, 10000]:
        print("circle", n, " ".join(mp.nstr(x, 25) for x in circle(n, 0.7071067811865476)))
    for n in [16, 2000, 20000]:
        print("logmix", n, " ".join(mp.nstr(x, 25) for x in logmix(n)))


if __name__ == "__main__":
    main()
