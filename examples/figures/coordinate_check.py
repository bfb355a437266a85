"""docs/figures/coordinate_check.png: a coordinate check of five parameterizations — how much one
gradient step moves a coordinate of the last hidden layer's features, feature_change[L] =
‖σ(z^L)_after(x_0) − σ(z^L)_before(x_0)‖/√n, against the width n at depths L = 2, 4, 8. One
`randnet sweep --fit-exponents --parameterization standard,ntk,mup,depth-mup,completep` (4 widths
× 3 depths), the width exponent with its 95 % interval and verdict in each legend. ReLU, n0 = 16, one input, target y = 1 (a
target of order 1: with y = 0 the residual r = f_0 is itself O(1/√n) under μP, and one step of μP
then moves the features exactly as one step of `ntk` does), η = 0.001, 3000 networks per point;
depth-mup with residual branches 1/√L, completep with 1/L. The verdicts are also written to
docs/figures/coordinate_check.txt.

    python examples/figures/coordinate_check.py   # ~10 minutes on 2 cores, after `pip install .`
"""

import tempfile

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import randnet

WIDTHS = [32, 64, 128, 256]
DEPTHS = [2, 4, 8]
CASES = ["standard", "ntk", "mup", "depth-mup", "completep"]
FIGURES = Path(__file__).resolve().parents[2] / "docs" / "figures"


def main():
    fig, axes = plt.subplots(1, len(CASES), figsize=(22, 5), sharey=False)
    lines = []
    targets = Path(tempfile.mkdtemp()) / "y.csv"
    targets.write_text("1\n")
    # One sweep compares them all on the same networks (in a list, depth-mup takes residual
    # branches 1/√L and completep 1/L; the others none).
    both = randnet.sweep(widths=WIDTHS, depths=DEPTHS, inputs=1, step_lr=0.001, targets=targets,
                         observe="feature_change", parameterization=CASES, networks=3000, seed=3,
                         fit_exponents=True, progress=False,
                         checkpoint=str(targets.with_suffix(".cp")))
    for ax, par in zip(axes, CASES):
        frame = both[both.parameterization == par]
        ex = both.attrs["exponents"]
        ex = ex[ex.parameterization == par]
        for depth, marker in zip(DEPTHS, "osD"):
            obs = f"feature_change[{depth}]"
            rows = frame[(frame.depth == depth) & (frame.observable == obs)
                         & (frame.statistic == "mean")]
            e = ex[(ex.against == "width") & (ex.depth == depth) & (ex.observable == obs)].iloc[0]
            short = e.verdict.split(":")[0].split(" as ")[0]
            label = f"L={depth}: p = {e.exponent:.2f} ± {e.stderr:.2f} ({short})"
            ax.errorbar(rows.width, rows.estimate, yerr=rows.stderr, fmt=marker + "-",
                        capsize=3, label=label)
            lines.append(f"{par:10s} L={depth}: width exponent {e.exponent:.3f} ± {e.stderr:.3f}, "
                         f"95 % [{e.low:.3f}, {e.high:.3f}]: {e.verdict}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width n")
        ax.set_title(par)
        ax.legend(fontsize=8, loc="best")
    axes[0].set_ylabel("feature_change[L] after one step (η = 0.001)")
    fig.suptitle("Coordinate check: one gradient step, ReLU, last hidden layer")
    fig.tight_layout()
    out = FIGURES / "coordinate_check.png"
    fig.savefig(out, dpi=100)
    (FIGURES / "coordinate_check.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
