"""The Python package against the CLI it mirrors: the same flags and seed give bitwise the same
estimates; errors are the CLI's one-line messages; samples, shards, interrupts, sweeps, theory
and merges behave as the CLI's commands do.

The CLI binary is $RANDNET_BIN, else target/release/randnet of this repository (.ci/run builds
it before the Python tests); a missing binary fails the test rather than skipping it.
"""

import inspect
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import randnet

ROOT = Path(__file__).resolve().parents[2]


def cli_path() -> str:
    path = os.environ.get("RANDNET_BIN") or str(ROOT / "target" / "release" / "randnet")
    assert os.path.exists(path), (
        f"the randnet binary is needed at {path} (cargo build --release, or set RANDNET_BIN)")
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cli_path(), *args], capture_output=True, text=True)


def cli_json(command: str, flags: dict) -> dict:
    argv = randnet._argv(flags)
    out = cli(command, *argv, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# Flag sets that take different engines and laws through the same path: the dense and the
# matrix-free engine, biases and a residual tanh net, non-Gaussian weights, the standard
# parameterization, a sweep's worth of observables, geometry, explicit inputs by angle, a
# training step under CompleteP, and both
# GPU engines (a Vulkan driver is needed: lavapipe in CI, as for the Rust GPU tests).
PARITY_CASES = [
    dict(width=32, depth=4, networks=3000, seed=1, method="dense", backend="cpu"),
    dict(width=64, depth=6, networks=3000, seed=2, method="matrix-free", backend="cpu",
         inputs=3),
    dict(width=16, depth=5, activation="tanh", cb=0.1, residual="invsqrt-depth",
         networks=2000, seed=3, backend="cpu", observe=["output", "ntk", "sqnorm"]),
    dict(width=24, depth=3, weights="rademacher", parameterization="standard", cw=1.5,
         networks=2000, seed=4, backend="cpu", observe="output,jacobian,log_jacobian"),
    dict(input_dim=2, width=16, depth=3, angle=0.7, networks=500, seed=5, backend="cpu",
         observe="output,regions,length_distortion"),
    # A gradient step under CompleteP (the step engine joined with the dense one).
    dict(width=16, depth=4, inputs=2, step_lr=0.05, parameterization="completep",
         residual="inv-depth", networks=500, seed=8, backend="cpu",
         observe="output,delta_output,weight_change"),
    # The GPU engines (lavapipe in CI): the same kernels on the same device give the same bits.
    dict(width=32, depth=4, networks=1000, seed=6, backend="gpu", method="dense"),
    dict(width=64, depth=4, networks=1000, seed=7, backend="gpu", method="matrix-free"),
]


@pytest.mark.parametrize("flags", PARITY_CASES)
def test_estimates_are_bitwise_the_clis(flags):
    """Every estimate, standard error and prediction from Python equals the CLI's JSON bit for
    bit (compared as doubles, NaN where the JSON has null), and the whole JSON document is the
    CLI's but for the timing."""
    py = randnet.sample(progress=False, **flags)
    ref = cli_json("sample", flags)
    frame = py.estimates
    compared = 0
    for obs, stats in ref["observables"].items():
        for stat, entry in stats.items():
            row = frame[(frame.observable == obs) & (frame.statistic == stat)]
            assert len(row) == 1, (obs, stat)
            for col in ("estimate", "stderr", "theory", "z", "gap", "law_stderr"):
                want = entry.get(col)
                got = row[col].iloc[0]
                if want is None:
                    assert np.isnan(got), (obs, stat, col, got)
                else:
                    # Exact equality of doubles: both come from the same code and seed.
                    assert got == want, (obs, stat, col, got, want)
                    compared += 1
    assert compared > 20
    doc = py.to_dict()
    for d in (doc, ref):
        d.pop("seconds")
    assert doc == ref


def test_x_array_is_the_input_file(tmp_path):
    """x= gives the same networks and estimates as --input-file with the same rows."""
    x = np.array([[1.0, -0.5, 2.0], [0.25, 0.0, -1.5]])
    path = tmp_path / "x.csv"
    path.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in x) + "\n")
    a = randnet.sample(x=x, width=16, depth=2, networks=1000, progress=False)
    b = randnet.sample(input_file=path, width=16, depth=2, networks=1000, progress=False)
    pd.testing.assert_frame_equal(a.estimates, b.estimates)
    assert a.spec["inputs"] == x.tolist()
    with pytest.raises(ValueError, match="x gives the inputs"):
        randnet.sample(x=x, inputs=2)


def test_signatures_mirror_the_cli_flags():
    """Each function's keywords are its command's flags (less those that write files or pick a
    text format), so a flag added to the CLI shows up here as a failing test."""
    extra = {"sample": {"x", "samples", "progress"}, "sweep": {"progress"}, "theory": {"x"}}
    dropped = {"format", "output", "save_samples", "histogram", "histogram_bins"}
    for name, fn in [("sample", randnet.sample), ("sweep", randnet.sweep),
                     ("theory", randnet.theory)]:
        params = set(inspect.signature(fn).parameters)
        flags = set(randnet._randnet.flags(name)) - dropped
        assert params == flags | extra[name], (name, params ^ (flags | extra[name]))


@pytest.mark.parametrize("flags,cli_args", [
    (dict(width=-1), ["--width=-1"]),
    (dict(activation="foo"), ["--activation=foo"]),
    (dict(observe="output,nope"), ["--observe=output,nope"]),
    (dict(networks=0), ["--networks=0"]),
    (dict(cw=float("nan")), ["--cw=nan"]),
    (dict(widths=[8, 0]), ["--widths=8,0"]),
])
def test_bad_arguments_raise_the_clis_message(flags, cli_args):
    with pytest.raises(ValueError) as err:
        randnet.sample(progress=False, **flags)
    out = cli("sample", *cli_args)
    assert out.returncode != 0
    first = out.stderr.splitlines()[0]
    assert first == "error: " + str(err.value)


def test_samples_are_a_structured_array_of_every_network():
    r = randnet.sample(width=16, depth=3, networks=2000, seed=9, samples=True, progress=False)
    s = r.samples
    assert s.dtype.names[0] == "network"
    assert s.dtype["network"] == np.dtype("<u8")
    assert list(s.dtype.names[1:]) == ["output[0]", "output[1]", "ntk[0,0]", "ntk[0,1]",
                                       "ntk[1,1]"]
    assert len(s) == 2000 and np.array_equal(s["network"], np.arange(2000))
    # The estimates are the samples' statistics: the mean to rounding (1e-12 relative; the
    # accumulator sums shifted values in another order).
    est = r.estimates.set_index(["observable", "statistic"]).estimate
    for name in s.dtype.names[1:]:
        assert est[(name, "mean")] == pytest.approx(s[name].mean(), rel=1e-12, abs=1e-12)
    # No copy: numpy views the native module's buffer.
    assert s.base is not None


def test_shards_merge_into_the_whole_run(tmp_path):
    whole = randnet.sample(width=16, depth=3, networks=4000, seed=5, progress=False,
                           samples=True)
    parts = []
    for i in range(2):
        part = randnet.sample(width=16, depth=3, networks=4000, seed=5, shard=f"{i}/2",
                              samples=True, progress=False)
        # A shard draws the same networks as the whole run: the same values, bitwise.
        lo = part.samples["network"][0]
        assert np.array_equal(part.samples, whole.samples[lo:lo + len(part.samples)])
        path = tmp_path / f"part{i}.json"
        part.save(path)
        parts.append(path)
    merged = randnet.merge(parts)
    assert isinstance(merged, randnet.Result)
    assert merged.networks == 4000
    # Merged power sums equal the whole run's up to the order of float additions.
    np.testing.assert_allclose(merged.estimates.estimate, whole.estimates.estimate,
                               rtol=1e-6, atol=1e-9)


def test_keyboard_interrupt_keeps_the_finished_networks():
    """SIGINT during a long run stops it between batches; the networks drawn are returned,
    flagged incomplete, with a RuntimeWarning (the CLI writes them too)."""
    timer = threading.Timer(0.5, lambda: signal.raise_signal(signal.SIGINT))
    timer.start()
    try:
        with pytest.warns(RuntimeWarning, match="interrupted after"):
            r = randnet.sample(width=256, depth=16, networks=10_000_000, batch=256,
                               progress=False)
    finally:
        timer.cancel()
    assert not r.complete
    assert 0 < r.networks < 10_000_000
    assert "interrupted after" in r.message
    assert r.to_dict()["shard"]["end"] == r.networks
    # The next call runs normally (the interrupt flag was cleared).
    assert randnet.sample(width=8, depth=2, networks=200, progress=False).complete


def test_sampling_releases_the_gil():
    """Python threads run while randnet samples: a counter thread advances during the call."""
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    before = count[0]
    randnet.sample(width=128, depth=16, networks=20_000, progress=False, backend="cpu")
    during = count[0] - before
    stop.set()
    t.join()
    assert during > 50, during


def test_sweep_is_the_clis_tidy_csv(tmp_path):
    flags = dict(widths=[8, 16], depths=[1, 2], networks=500, seed=3, backend="cpu",
                 extrapolate=True, checkpoint=str(tmp_path / "cp"))
    frame = randnet.sweep(progress=False, **flags)
    out = cli("sweep", *randnet._argv(flags), "--format", "csv")
    assert out.returncode == 0, out.stderr
    ref = randnet._read_csv(out.stdout)
    pd.testing.assert_frame_equal(frame, ref)
    assert set(frame.width) == {8.0, 16.0, float("inf")}
    assert not (tmp_path / "cp").exists()


def test_theory_frame_and_kernels():
    t = randnet.theory(width=32, depth=4, networks=10_000, observe="output,ntk")
    row = t[(t.observable == "output[0]") & (t.statistic == "variance")].iloc[0]
    assert row.theory == 2.0 and row.theory_kind == "exact"
    assert row.stderr_at_networks > 0
    assert "ntk[0,0]" in t.attrs["infinite_width"]
    x = np.eye(3)[:2] * np.sqrt(3)
    tx = randnet.theory(x=x, width=8, depth=2)
    assert (tx.observable == "ntk[0,1]").any()


def test_merge_refuses_what_the_cli_refuses(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="bad.json"):
        randnet.merge([bad])


def test_sweep_exponents_are_in_attrs():
    frame = randnet.sweep(widths=[32, 64, 128], depths=[2], inputs=1, step_lr=0.01,
                          observe="feature_change", networks=3000, seed=2, fit_exponents=True,
                          progress=False, checkpoint=None)
    ex = frame.attrs["exponents"]
    row = ex[(ex.against == "width") & (ex.observable == "feature_change[1]")].iloc[0]
    assert row.verdict.startswith("shrinks"), row.verdict
    assert abs(row.exponent + 0.5) < 0.1


def test_sweep_compares_parameterizations(tmp_path):
    """A list of parameterizations: the CLI's comparison, each parameterization bitwise its own
    sweep, with a parameterization column in the frame and in the exponents."""
    targets = tmp_path / "y.csv"
    targets.write_text("1\n")
    flags = dict(widths=[16, 32], depths=[2, 3], inputs=1, step_lr=0.01, targets=targets,
                 observe="feature_change", networks=300, seed=4, backend="cpu",
                 fit_exponents=True)
    frame = randnet.sweep(parameterization=["mup", "depth-mup"], progress=False, **flags)
    out = cli("sweep", *randnet._argv(dict(parameterization="mup,depth-mup", **flags)),
              "--format", "csv")
    assert out.returncode == 0, out.stderr
    pd.testing.assert_frame_equal(frame, randnet._read_csv(out.stdout))
    assert list(frame.columns[:2]) == ["parameterization", "width"]
    assert list(frame.parameterization.unique()) == ["mup", "depth-mup"]
    ex = frame.attrs["exponents"]
    assert ex.columns[0] == "parameterization"
    assert list(ex.parameterization.unique()) == ["mup", "depth-mup"]
    one = randnet.sweep(parameterization="depth-mup", residual="invsqrt-depth", progress=False,
                        **flags)
    assert "parameterization" not in one.columns
    mine = frame[frame.parameterization == "depth-mup"].drop(columns="parameterization")
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), one)
    theirs = ex[ex.parameterization == "depth-mup"].drop(columns="parameterization")
    pd.testing.assert_frame_equal(theirs.reset_index(drop=True), one.attrs["exponents"])
    with pytest.raises(ValueError, match="unknown parameterization 'mu'"):
        randnet.sweep(parameterization=["mup", "mu"], progress=False, **flags)
