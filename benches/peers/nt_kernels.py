#!/usr/bin/env python3
"""Outside reference for randnet's infinite-width kernels: neural-tangents' analytic kernel_fn.

Writes tests/fixtures/nt_kernels.json, which tests/verify.rs compares with
randnet_theory::infinite_width at 1e-6 relative.

Versions used for the committed fixture: jax 0.4.30, neural-tangents 0.6.5 (installed together with
`pip install "jax[cpu]==0.4.30" "neural-tangents==0.6.5" "tf2jax==0.3.6"`), double precision (jax_enable_x64).

Conventions (randnet docs/theory.md vs neural_tangents.stax):
- randnet: z^1 = W^1 x + b^1, z^l = W^l σ(z^{l-1}) + b^l, W_ij ~ N(0, C_W/n_{l-1}), b ~ N(0, C_b),
  linear readout z^{L+1} with the same C_W, C_b.  In NT this is
  serial([Dense(n, W_std=sqrt(C_W), b_std=sqrt(C_b)), act] * L, Dense(1, same)).
- NNGP: NT's Dense maps K -> W_std^2 K + b_std^2 with K^0 = x·x'/n0: randnet's K^1 = C_b + C_W x·x'/n0.
- NTK, `ntk` parameterization: NT's Dense does Θ -> K_new + W_std^2 Θ (Θ^0 = 0), and a nonlinearity
  Θ -> E[σ'σ'] Θ, so Θ^l = K^l + C_W E[σ'σ'] Θ^{l-1} = (C_W G^l + C_b) + C_W E[σ'σ'] Θ^{l-1}: exactly
  randnet's recursion (crates/theory/src/kernels.rs), where the NTK is taken with respect to the
  standardized weights Ŵ and standardized biases β.
- NTK, `standard` parameterization: NT does Θ -> n_{l-1} G^l + W_std^2 E[σ'σ'] Θ + [bias], with
  n_{l-1} the actual width of the previous layer: randnet's P^l = n_{l-1} G^l + [C_b > 0].
- Gelu: NT's analytic kernel (Tsuchida et al., arXiv 2002.08517) is for the exact form
  x Φ(x) (its `approximate` flag only changes the finite-width apply_fn); randnet's gelu is also
  x Φ(x) with the exact normal CDF. They match; no tanh approximation is involved.
- Erf: NT's Erf(a=1, b=1, c=0) is erf(x), as randnet's.
- LeakyRelu(alpha) is randnet's leaky-relu:alpha; Sin() is sin(x).

Usage: /tmp/peers/bin/python benches/peers/nt_kernels.py [OUT.json]
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import jax

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402
import neural_tangents as nt  # noqa: E402
from neural_tangents import stax  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "tests", "fixtures", "nt_kernels.json")

# Fixed inputs, written into the fixture (rounded to 6 decimals so the JSON is exact).
rng = np.random.default_rng(20261123)
INPUTS = {
    4: np.round(rng.standard_normal((3, 4)), 6),
    6: np.round(rng.standard_normal((2, 6)) * 1.5, 6),
    8: np.round(rng.standard_normal((3, 8)) * 0.7, 6),
}


def act_layer(name):
    if name == "relu":
        return stax.Relu()
    if name.startswith("leaky-relu:"):
        return stax.LeakyRelu(float(name.split(":")[1]))
    if name == "erf":
        return stax.Erf()
    if name == "gelu":
        return stax.Gelu()
    if name == "sin":
        return stax.Sin()
    if name == "linear":
        return stax.Identity()
    raise ValueError(name)


def kernels(act, cw, cb, hidden, param, x):
    layers = []
    for n in hidden:
        layers += [stax.Dense(n, W_std=np.sqrt(cw), b_std=np.sqrt(cb), parameterization=param),
                   act_layer(act)]
    layers += [stax.Dense(1, W_std=np.sqrt(cw), b_std=np.sqrt(cb), parameterization=param)]
    _, _, kernel_fn = stax.serial(*layers)
    k = kernel_fn(x, None, ("nngp", "ntk"))
    return np.asarray(k.nngp), np.asarray(k.ntk)


CASES = []
# (activation, C_W, C_b, hidden widths, parameterization, input dimension)
for act, cw, cb in [("relu", 2.0, 0.1), ("relu", 1.7, 0.3),
                    ("erf", 1.7, 0.2), ("erf", 2.0, 0.1),
                    ("gelu", 2.0, 0.2), ("gelu", 1.7, 0.3)]:
    for depth, n0 in [(1, 4), (3, 6), (6, 8)]:
        CASES.append((act, cw, cb, [64] * depth, "ntk", n0))
# Extras: another slope, sin, linear; the standard parameterization (widths enter the NTK).
CASES += [
    ("leaky-relu:0.2", 1.9, 0.15, [64] * 4, "ntk", 4),
    ("sin", 1.5, 0.1, [64] * 3, "ntk", 6),
    ("linear", 1.2, 0.25, [64] * 3, "ntk", 4),
    ("relu", 2.0, 0.1, [16, 32, 24], "standard", 6),
    ("erf", 1.7, 0.2, [20, 10], "standard", 4),
    ("gelu", 2.0, 0.3, [12, 12, 12, 12], "standard", 8),
]

out = {
    "generator": "benches/peers/nt_kernels.py",
    "neural_tangents": nt.__version__,
    "jax": jax.__version__,
    "precision": "float64",
    "conventions": "serial([Dense(n, W_std=sqrt(cw), b_std=sqrt(cb), parameterization), act] * L,"
                   " Dense(1, ...)); kernel_fn(x, None) readout nngp and ntk",
    "cases": [],
}
for act, cw, cb, hidden, param, n0 in CASES:
    x = INPUTS[n0]
    nngp, ntk = kernels(act, cw, cb, hidden, param, x)
    out["cases"].append({
        "activation": act,
        "cw": cw,
        "cb": cb,
        "hidden": hidden,
        "parameterization": param,
        "inputs": x.tolist(),
        "nngp": nngp.tolist(),
        "ntk": ntk.tolist(),
    })

os.makedirs(os.path.dirname(os.path.abspath(OUT)), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(f"wrote {len(out['cases'])} cases to {OUT}")
