"""docs/figures/delta_ntk_growth.png: the relative change of the NTK after one gradient step,
E[ΔΘ(x,x)] / E[Θ(x,x)], against β = L/n for three widths (Hanin & Nica, "Finite depth and width
corrections to the neural tangent kernel", arXiv 1909.05989: the mean first update relative to the
mean NTK grows exponentially in L/n). Zero-bias ReLU, n0 = 16, one input, target 0, `ntk`
parameterization, one step with η = 0.1/Θ∞(x,x) (the infinite-width NTK grows like L, so a fixed
η would be a larger step for deeper nets; this one moves the output by the same fraction). Filled
markers are the points whose two means (of ΔΘ and of Θ) randnet calls reliable, hollow ones those
whose tails the sample cannot hold (docs/statistics.md, "Reliability"); the CSV beside the figure
has the verdict and the effective networks of every point (docs/training.md, "Figures").

Errors: a delete-one-block jackknife (50 blocks of networks) of the ratio of means, from the
per-network values (samples=True). Run after `pip install .`:
    python examples/figures/delta_ntk_growth.py [NETWORKS]   # ~6 minutes on 2 cores (20000)
    python examples/figures/delta_ntk_growth.py --replot     # from docs/figures/delta_ntk_growth.csv
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import randnet

WIDTHS = [32, 64, 128]
RATIOS = [0.0625, 0.125, 0.25, 0.375, 0.5, 0.75]
NETWORKS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "--replot" else 20000
FIGURES = Path(__file__).resolve().parents[2] / "docs" / "figures"
BLOCKS = 50


def ratio_of_means(delta, theta):
    est = delta.mean() / theta.mean()
    blocks = np.array_split(np.arange(len(delta)), BLOCKS)
    reps = []
    for b in blocks:
        keep = np.ones(len(delta), bool)
        keep[b] = False
        reps.append(delta[keep].mean() / theta[keep].mean())
    reps = np.array(reps)
    se = np.sqrt((BLOCKS - 1) / BLOCKS * ((reps - reps.mean()) ** 2).sum())
    return est, se


def measure():
    rows = []
    for n in WIDTHS:
        for q in RATIOS:
            depth = max(1, round(q * n))
            t = randnet.theory(width=n, depth=depth, inputs=1, observe="ntk", seed=5)
            theta_inf = t[(t.observable == "ntk[0,0]") & (t.statistic == "mean")].theory.iloc[0]
            r = randnet.sample(width=n, depth=depth, inputs=1, step_lr=0.1 / theta_inf,
                               observe="ntk,delta_ntk", networks=NETWORKS, seed=5,
                               samples=True, progress=False)
            s = r.samples
            ok = np.isfinite(s["ntk[0,0]"]) & np.isfinite(s["delta_ntk[0,0]"])
            est, se = ratio_of_means(s["delta_ntk[0,0]"][ok], s["ntk[0,0]"][ok])
            # randnet's verdict on each mean: does the sample hold its tail?
            means = r.estimates[r.estimates.statistic == "mean"].set_index("observable")
            n_eff = min(means.loc["ntk[0,0]", "effective_networks"],
                        means.loc["delta_ntk[0,0]", "effective_networks"])
            reliable = bool(means.loc["ntk[0,0]", "reliable"]
                            and means.loc["delta_ntk[0,0]", "reliable"])
            rows.append((n, depth, depth / n, est, se, float(reliable), n_eff))
            print(f"n={n:4d} L={depth:3d} beta={depth / n:.4f}  E[dTheta]/E[Theta] = {est:.5f} ± "
                  f"{se:.5f}  reliable={reliable} (effective networks {n_eff:.3g})", flush=True)
    rows = np.array(rows)
    np.savetxt(FIGURES / "delta_ntk_growth.csv", rows, delimiter=",",
               header="width,depth,beta,ratio,stderr,reliable,effective_networks", comments="",
               fmt="%.8g")
    return rows


def main():
    if "--replot" in sys.argv:
        rows = np.loadtxt(FIGURES / "delta_ntk_growth.csv", delimiter=",", skiprows=1)
    else:
        rows = measure()
    beta, y, se, n = rows[:, 2], -rows[:, 3], rows[:, 4], rows[:, 0]
    reliable = rows[:, 5] > 0.5
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, (width, marker) in enumerate(zip(WIDTHS, "osD")):
        for ok, fill in [(True, None), (False, "none")]:
            m = (n == width) & (reliable == ok)
            if m.any():
                ax.errorbar(beta[m], y[m], yerr=se[m], fmt=marker, capsize=3, color=f"C{i}",
                            mfc=fill, label=f"n = {width}" + ("" if ok else ", not reliable"))
    ax.set_xlabel("β = L / n")
    ax.set_ylabel("−E[ΔΘ(x,x)] / E[Θ(x,x)]   (one step, η = 0.1/Θ∞)")
    ax.set_title("NTK change after one step (ReLU, ntk parameterization)\n"
                 "hollow: a mean too heavy-tailed for its sample (randnet's verdict)", fontsize=10)
    ax.legend()
    fig.tight_layout()
    out = FIGURES / "delta_ntk_growth.png"
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
