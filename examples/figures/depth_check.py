"""docs/figures/depth_check.png: how one gradient step scales with depth under depth-μP (branches
1/√L, depth-independent rates) and CompleteP (branches 1/L, residual layers' rates × L;
docs/training.md, "The depth rules"). Left: weight_change[2] = ‖ΔW^2‖_F/‖W^2‖_F, the first
residual block's relative weight change, against the depth L = 4..32 at widths 64 and 128, with
the law L^{a−1} (1 + α²)^{(L−2)/2} (a = ½, 1; α = L^{−a}) scaled to the first point. Right:
feature_change[L], the last hidden layer's feature change. ReLU, n0 = 16, one input, target
y = 1, η = 0.01, 3000 networks per point; one `randnet sweep --fit-exponents` per
parameterization; the depth exponents and verdicts are in the legends and in
docs/figures/depth_check.txt.

    python examples/figures/depth_check.py   # ~2 minutes on 2 cores, after `pip install .`
"""

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import randnet

WIDTHS = [64, 128]
DEPTHS = [4, 8, 16, 32]
CASES = [("depth-mup", "invsqrt-depth", 0.5), ("completep", "inv-depth", 1.0)]
FIGURES = Path(__file__).resolve().parents[2] / "docs" / "figures"


def law(a, depths):
    d = np.asarray(depths, dtype=float)
    alpha = d ** (-a)
    return d ** (a - 1.0) * (1.0 + alpha ** 2) ** ((d - 2.0) / 2.0)


def main():
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    lines = []
    tmp = Path(tempfile.mkdtemp())
    targets = tmp / "y.csv"
    targets.write_text("1\n")
    for (par, residual, a), color in zip(CASES, ["C0", "C3"]):
        frame = randnet.sweep(widths=WIDTHS, depths=DEPTHS, inputs=1, step_lr=0.01,
                              targets=targets, observe=["weight_change", "feature_change"],
                              parameterization=par, residual=residual, networks=3000, seed=3,
                              fit_exponents=True, progress=False,
                              checkpoint=str(tmp / f"{par}.cp"))
        ex = frame.attrs["exponents"]
        for width, marker in zip(WIDTHS, "os"):
            mean = frame[(frame.width == width) & (frame.statistic == "mean")]
            wc = mean[mean.observable == "weight_change[2]"].sort_values("depth")
            e = ex[(ex.against == "depth") & (ex.width == width)
                   & (ex.observable == "weight_change[2]")].iloc[0]
            short = e.verdict.split(":")[0].split(" as ")[0]
            axes[0].errorbar(wc.depth, wc.estimate, yerr=wc.stderr, fmt=marker + "-",
                             color=color, capsize=3,
                             label=f"{par}, n={width}: p = {e.exponent:.3f} ± {e.stderr:.3f} "
                                   f"({short})")
            lines.append(f"{par:10s} n={width}: weight_change[2] depth exponent "
                         f"{e.exponent:.3f} ± {e.stderr:.3f}, 95 % [{e.low:.3f}, {e.high:.3f}]: "
                         f"{e.verdict}")
            if width == WIDTHS[0]:
                curve = law(a, DEPTHS)
                axes[0].plot(DEPTHS, curve / curve[0] * wc.estimate.iloc[0], ":", color=color,
                             label=f"law L^{a - 1:g} (1+α²)^((L−2)/2), scaled")
            last = [mean[(mean.depth == d) & (mean.observable == f"feature_change[{d}]")]
                    for d in DEPTHS]
            axes[1].errorbar(DEPTHS, [r.estimate.iloc[0] for r in last],
                             yerr=[r.stderr.iloc[0] for r in last], fmt=marker + "-",
                             color=color, capsize=3, label=f"{par}, n={width}")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("depth L")
        ax.legend(fontsize=8, loc="best")
    axes[0].set_ylabel("weight_change[2] = ‖ΔW²‖/‖W²‖ after one step")
    axes[1].set_ylabel("feature_change[L] after one step")
    fig.suptitle("Depth check: one gradient step (η = 0.01), ReLU, depth-μP against CompleteP")
    fig.tight_layout()
    out = FIGURES / "depth_check.png"
    fig.savefig(out, dpi=100)
    (FIGURES / "depth_check.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
