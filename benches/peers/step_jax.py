#!/usr/bin/env python3
"""Peer baseline for randnet's training step (`--step-lr`, docs/training.md), written the way a
JAX user would: materialized weights drawn with jax.random per network, autodiff for every
gradient, jit + vmap over a batch of networks.

What it computes, per network (config A of randnet's benchmarks by default: ReLU, n0 = 16,
hidden width n = 256, depth L = 32, one readout unit, K = 2 inputs, C_W = 2, C_b = 0):

- Parameters: the standardized weights Ŵ^l ~ N(0, 1) (n_l × n_{l−1}), l = 1..L+1; no biases
  (C_b = 0, so randnet's biases are zero and λ_b = C_b = 0: they neither move nor enter the NTK).
- Forward (randnet's `ntk` parameterization): z^l = sqrt(C_W/n_{l−1}) Ŵ^l a^{l−1}, a^0 = x,
  a^l = relu(z^l) for l = 1..L, f(x) = z^{L+1}.
- Per-example gradients g_a = ∂f(x_a)/∂θ with θ = the Ŵ (randnet's θ_l = W^l/√λ_W with
  λ_W = C_W/n_{l−1} and W^l = √(C_W/n_{l−1}) Ŵ^l, i.e. θ = Ŵ): jax.jacrev of θ ↦ (f(x_a))_a,
  a (K, P) Jacobian G held leaf by leaf. NTK Θ = G Gᵀ (a K × K Gram matrix, summed over the
  leaves).
- One full-batch gradient-descent step on L(θ) = ½ Σ_a (f(x_a) − y_a)² with targets y = 0:
  θ ← θ − η Σ_a r_a g_a, r_a = f(x_a) − y_a (the loss gradient is rᵀG, so the Jacobian taken for
  the NTK also gives the step: one forward pass and one backward pass per input before the
  step, and again after it, as randnet's step engine does).
- Reported as randnet defines them: delta_output[a] = f_after(x_a) − f_before(x_a);
  delta_ntk[a,b] = Θ_after(x_a, x_b) − Θ_before(x_a, x_b), a ≤ b; feature_change[l] =
  ‖relu(z^l)_after(x_0) − relu(z^l)_before(x_0)‖ / √n_l, l = 1..L.

Inputs: `--inputs-file F` reads the K inputs from randnet's JSON output (`--format json`, key
"inputs") or from a CSV (one input per row), so both programs use the same inputs; otherwise K
Gaussian inputs scaled to ‖x‖² = n0 (randnet's convention) are drawn with numpy from --seed.
The weights come from jax.random (--prng picks JAX's generator; threefry2x32 is its default),
so the networks differ from randnet's: compare distributions, not values.

Timing: one warm-up call of the jitted batch function (compilation) is excluded; then
ceil(networks/batch) batches are timed (--networks is rounded up to a multiple of --batch), including drawing the weights and copying the per-network
values back to the host. Prints a JSON object: networks_per_s, seconds, jax version, dtype, and
the mean, sample sd and count of delta_output[0], delta_ntk[0,0], delta_ntk[0,1] (K ≥ 2),
feature_change[1] and feature_change[L].

Usage: step_jax.py [--width 256] [--depth 32] [--input-dim 16] [--inputs 2] [--networks 64]
                   [--batch 8] [--lr 0.01] [--f64] [--inputs-file F] [--seed 1] [--repeat 1]
                   [--prng threefry2x32|rbg|unsafe_rbg]
"""
import argparse
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--width", type=int, default=256)
ap.add_argument("--depth", type=int, default=32)
ap.add_argument("--input-dim", type=int, default=16)
ap.add_argument("--inputs", type=int, default=2, help="K, when no --inputs-file")
ap.add_argument("--inputs-file", default=None)
ap.add_argument("--networks", type=int, default=64)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--lr", type=float, default=0.01)
ap.add_argument("--cw", type=float, default=2.0)
ap.add_argument("--f64", action="store_true", help="double precision (jax_enable_x64)")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--prng", default="threefry2x32", choices=["threefry2x32", "rbg", "unsafe_rbg"],
                help="jax_default_prng_impl (threefry2x32 is JAX's default)")
ap.add_argument("--repeat", type=int, default=1, help="time the run this many times, keep the best")
args = ap.parse_args()

import jax  # noqa: E402

if args.f64:
    jax.config.update("jax_enable_x64", True)
jax.config.update("jax_default_prng_impl", args.prng)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

DT = jnp.float64 if args.f64 else jnp.float32


def load_inputs():
    if args.inputs_file is None:
        rng = np.random.default_rng(args.seed)
        x = rng.standard_normal((args.inputs, args.input_dim))
        return x * np.sqrt(args.input_dim) / np.linalg.norm(x, axis=1, keepdims=True)
    if args.inputs_file.endswith(".json"):
        with open(args.inputs_file) as fh:
            return np.asarray(json.load(fh)["inputs"], dtype=np.float64)
    return np.atleast_2d(np.loadtxt(args.inputs_file, delimiter=","))


X_np = load_inputs()
K, N0 = X_np.shape
X = jnp.asarray(X_np, dtype=DT)
WIDTHS = [N0] + [args.width] * args.depth + [1]
SCALES = [math.sqrt(args.cw / n_in) for n_in in WIDTHS[:-1]]  # sqrt(C_W / n_{l-1})
L = args.depth


def draw(key):
    """Ŵ^l ~ N(0, 1), l = 1..L+1, for one network."""
    keys = jax.random.split(key, L + 1)
    return [jax.random.normal(k, (WIDTHS[l + 1], WIDTHS[l]), DT) for l, k in enumerate(keys)]


def forward(params, x):
    """f(x) and the hidden activations relu(z^l), l = 1..L, for one input."""
    a, feats = x, []
    for s, w in zip(SCALES[:-1], params[:-1]):
        a = jax.nn.relu(s * (w @ a))
        feats.append(a)
    return (SCALES[-1] * (params[-1] @ a))[0], feats


def outputs(params):
    """f(x_a) for the K inputs, twice (the Jacobian's function and its auxiliary value), and
    the features."""
    f, feats = jax.vmap(forward, in_axes=(None, 0))(params, X)
    return f, (f, feats)


# The per-example gradients (the Jacobian ∂f(x_a)/∂θ, a list of (K, n_l, n_{l-1}) leaves), f and
# the features: one forward pass over the K inputs and K backward passes (reverse mode, the VJP
# vmapped over the K basis cotangents). Measured on config A this is faster than
# vmap(value_and_grad(forward)) over the inputs (which repeats the forward's residuals per input).
jacobian = jax.jacrev(outputs, has_aux=True)


def gram(grads):
    return sum(jnp.einsum("kij,mij->km", g, g) for g in grads)


def one(key):
    params = draw(key)
    grads, (f0, feats0) = jacobian(params)
    ntk0 = gram(grads)
    r = f0  # targets 0
    params = [w - args.lr * jnp.einsum("k,kij->ij", r, g) for w, g in zip(params, grads)]
    grads, (f1, feats1) = jacobian(params)
    ntk1 = gram(grads)
    fc = jnp.stack([jnp.linalg.norm(b[0] - a[0]) / math.sqrt(a.shape[1])
                    for a, b in zip(feats0, feats1)])
    return f1 - f0, ntk1 - ntk0, fc


batch_fn = jax.jit(jax.vmap(one))

B = args.batch
nb = -(-args.networks // B)
M = nb * B
keys = jax.random.split(jax.random.PRNGKey(args.seed), M + B)
jax.block_until_ready(batch_fn(keys[M:]))  # compile (and warm up) outside the timing

best = None
for _ in range(args.repeat):
    t = time.perf_counter()
    outs = []
    for i in range(nb):
        outs.append(jax.device_get(batch_fn(keys[i * B:(i + 1) * B])))
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)

do = np.concatenate([o[0] for o in outs]).astype(np.float64)
dn = np.concatenate([o[1] for o in outs]).astype(np.float64)
fc = np.concatenate([o[2] for o in outs]).astype(np.float64)


def stat(v):
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else None,
            "n": int(len(v))}


res = {"networks_per_s": M / best, "seconds": best, "networks": M, "batch": B,
       "jax": jax.__version__, "prng": args.prng, "dtype": "float64" if args.f64 else "float32",
       "backend": jax.default_backend(), "K": K, "width": args.width, "depth": L, "lr": args.lr,
       "delta_output[0]": stat(do[:, 0]), "delta_ntk[0,0]": stat(dn[:, 0, 0]),
       "feature_change[1]": stat(fc[:, 0]), f"feature_change[{L}]": stat(fc[:, L - 1])}
if K >= 2:
    res["delta_ntk[0,1]"] = stat(dn[:, 0, 1])
print(json.dumps(res))
