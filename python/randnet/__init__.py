"""randnet: random deep networks at scale, with theory beside every estimate.

The functions mirror the command line: keyword arguments are the CLI's flags with underscores
(``input_dim=16`` is ``--input-dim 16``; lists are comma-separated: ``widths=[16, 32]``,
``observe=["output", "ntk"]``). They parse with the CLI's own definitions and run the same
engines and random streams, so the same flags and seed give bitwise the same estimates as
``randnet sample ... --format json``. Bad arguments raise ``ValueError`` with the CLI's one-line
message. Sampling runs with the GIL released; Ctrl-C (KeyboardInterrupt) stops it between batches
and returns the networks already drawn, flagged ``complete=False``.

    >>> import randnet
    >>> r = randnet.sample(width=64, depth=8, networks=10_000, observe="output,ntk")
    >>> r.estimates[["observable", "statistic", "estimate", "stderr", "theory", "z"]]

Guide: docs/python.md of the repository.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _randnet

__version__: str = _randnet.__version__

__all__ = ["sample", "sweep", "theory", "merge", "Result", "__version__"]

# Flags of the CLI that write files or pick a text format: the Python functions return objects
# instead (Result.save writes the CLI's JSON; numpy and pandas write the rest).
_FILE_FLAGS = ("format", "output", "save_samples", "histogram", "histogram_bins")

ListLike = Union[str, Sequence[Union[str, int, float]]]


def _text(value: Any) -> str:
    """A flag value as the CLI reads it: floats by their shortest round-trip repr (so Rust
    parses the same double), sequences comma-separated."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"expected a number or text, got {value!r}")
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, Iterable):
        return ",".join(_text(v) for v in value)
    return str(value)


def _argv(flags: Dict[str, Any], repeated: Sequence[str] = ()) -> List[str]:
    """Keyword arguments as CLI arguments: ``None``/``False`` leave a flag out, ``True`` gives
    a switch, names in ``repeated`` give the flag once per item."""
    argv: List[str] = []
    for key, value in flags.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif key in repeated and not isinstance(value, str):
            argv.extend(f"{flag}={_text(v)}" for v in value)
        else:
            argv.append(f"{flag}={_text(value)}")
    return argv


def _inputs(x: Any, flags: Dict[str, Any]) -> Optional[np.ndarray]:
    """The `x=` array as float64 rows (None without one); `x` excludes the CLI's input flags."""
    if x is None:
        return None
    if any(flags.get(k) is not None for k in ("inputs", "angle", "input_file")):
        raise ValueError("x gives the inputs: leave inputs, angle and input_file out")
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"x must be a non-empty array of inputs, one per row; got shape {a.shape}")
    return a


# Columns that hold real numbers even when every value printed as an integer ("2" for C_W = 2).
_FLOAT_COLUMNS = ("estimate", "stderr", "effective_networks", "theory", "z", "gap",
                  "gap_stderr", "relative_gap", "law_stderr", "depth_over_width", "cw", "cb",
                  "ratio", "slope", "slope_stderr", "slope_theory", "sd_one_network",
                  "stderr_at_networks")


def _read_csv(text: str) -> pd.DataFrame:
    """The CLI's CSV as a DataFrame, every real number parsed by Python's float(): correctly
    rounded, so each is the double the CLI printed (pandas' fast parser is not, in every
    version)."""
    header = text.split("\n", 1)[0].split(",")
    reals = [c for c in _FLOAT_COLUMNS if c in header]
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""],
                        dtype={c: str for c in reals})
    for c in reals:
        frame[c] = np.array([float(v) if isinstance(v, str) else np.nan for v in frame[c]],
                            dtype=np.float64)
    return frame


class _Progress:
    """A tqdm bar fed by the native module's progress callback (done, total)."""

    def __init__(self, enabled: Optional[bool], what: str):
        self.bar = None
        self.what = what
        self.tqdm = None
        if enabled is False:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if enabled:
                raise ValueError("progress=True needs tqdm (pip install tqdm)") from None
            return
        self.tqdm = tqdm

    def __call__(self, done: int, total: int) -> None:
        if self.tqdm is None or total == 0:
            return
        if self.bar is None:
            self.bar = self.tqdm(total=total, unit=" networks", desc=self.what, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    @property
    def callback(self) -> Optional[Callable[[int, int], None]]:
        return self if self.tqdm is not None else None


class Result:
    """The result of :func:`sample` (or of :func:`merge` on sample shards).

    Attributes:
        estimates: one row per (observable, statistic): the CLI's tidy CSV columns —
            observable, statistic, estimate, stderr, reliable, effective_networks, theory,
            theory_kind, z (against exact theory) or gap and relative_gap (against any other
            kind), law_stderr — and the spec columns n0, width, depth, depth_over_width,
            activation, cw, cb, networks, seed.
        samples: with ``samples=True``, a numpy structured array with one record per network:
            the field ``network`` (its index in the stream, uint64) and one float64 field per
            value, named as the observables (``"output[0]"``, ``"ntk[0,1]"``); diverged networks
            included (their values are not finite). ``None`` otherwise.
        networks: networks drawn (diverged ones included).
        diverged: networks whose values overflowed, excluded from every estimate.
        spec: the network, inputs and seed (a dict, as in the CLI's JSON).
        complete: False when the run stopped early (KeyboardInterrupt, a lost device); the
            estimates are those of the networks drawn.
        message: why the run did not complete, else None.
    """

    def __init__(self, raw: Dict[str, Any]):
        self._json: str = raw["json"]
        self.estimates: pd.DataFrame = _read_csv(raw["csv"])
        self.networks: int = int(raw["networks"])
        self.diverged: int = int(raw["diverged"])
        self.spec: Dict[str, Any] = json.loads(raw["spec"])
        self.complete: bool = bool(raw.get("complete", True))
        self.message: Optional[str] = raw.get("message")
        self.samples: Optional[np.ndarray] = None
        rows = raw.get("rows")
        if rows is not None:
            names = raw["names"]
            dtype = np.dtype([("network", "<u8")] + [(n, "<f8") for n in names])
            # A view of the native module's buffer: no copy.
            self.samples = rows.view(dtype)

    def to_dict(self) -> Dict[str, Any]:
        """The CLI's ``--format json`` output as a dict (estimates, theory, the accumulator)."""
        return json.loads(self._json)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the CLI's JSON (what ``randnet merge`` reads) atomically to ``path``."""
        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".randnet-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(self._json)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def __repr__(self) -> str:
        state = "" if self.complete else f", incomplete: {self.message}"
        return (f"<randnet.Result: {self.networks} networks ({self.diverged} diverged), "
                f"{len(self.estimates)} estimates{state}>")


def sample(*, input_dim: Optional[int] = None, width: Optional[int] = None,
           depth: Optional[int] = None, widths: Optional[ListLike] = None,
           output_dim: Optional[int] = None, activation: Optional[str] = None,
           cw: Optional[float] = None, cb: Optional[float] = None,
           parameterization: Optional[str] = None, residual: Union[str, float, None] = None,
           weights: Optional[str] = None, step_lr: Optional[float] = None,
           steps: Optional[int] = None, targets: Union[str, os.PathLike, None] = None,
           inputs: Optional[int] = None, angle: Optional[float] = None,
           input_file: Union[str, os.PathLike, None] = None, x: Any = None,
           observe: Optional[ListLike] = None, curve: Optional[str] = None,
           networks: Optional[int] = None, seed: Optional[int] = None,
           backend: Optional[str] = None, method: Optional[str] = None,
           adapter: Optional[str] = None, shard: Optional[str] = None,
           batch: Optional[int] = None,
           samples: bool = False, progress: Optional[bool] = None) -> Result:
    """Draw random networks and estimate their observables beside theory (``randnet sample``).

    Every keyword but ``x``, ``samples`` and ``progress`` is the CLI flag of the same name
    (``None``: the CLI's default). ``x`` gives the inputs as an array, one per row (n0 is its
    number of columns), in place of ``inputs``/``angle``/``input_file``. ``samples=True`` keeps
    every network's values (:attr:`Result.samples`). ``progress``: a tqdm bar (default: when
    tqdm is installed).
    """
    flags = dict(locals())
    x_array = _inputs(flags.pop("x"), flags)
    keep = flags.pop("samples")
    bar = _Progress(flags.pop("progress"), "randnet.sample")
    try:
        raw = _randnet.sample(_argv(flags), x_array, keep, bar.callback)
    finally:
        bar.close()
    result = Result(raw)
    if not result.complete:
        warnings.warn(f"randnet.sample: {result.message}", RuntimeWarning, stacklevel=2)
    return result


def sweep(*, input_dim: Optional[int] = None, widths: Optional[ListLike] = None,
          depths: Optional[ListLike] = None, ratios: Optional[ListLike] = None,
          width: Optional[int] = None, depth: Optional[int] = None,
          output_dim: Optional[int] = None, activation: Optional[str] = None,
          cw: Optional[float] = None, cb: Optional[float] = None,
          parameterization: Optional[ListLike] = None, residual: Union[str, float, None] = None,
          weights: Optional[str] = None, step_lr: Optional[float] = None,
          steps: Optional[int] = None, targets: Union[str, os.PathLike, None] = None,
          inputs: Optional[int] = None, angle: Optional[float] = None,
          input_file: Union[str, os.PathLike, None] = None,
          observe: Optional[ListLike] = None, curve: Optional[str] = None,
          networks: Optional[int] = None, seed: Optional[int] = None,
          backend: Optional[str] = None, method: Optional[str] = None,
          adapter: Optional[str] = None, shard: Optional[str] = None,
          batch: Optional[int] = None,
          plot: Union[str, os.PathLike, None] = None,
          plot_stat: Union[str, Sequence[str], None] = None, plot_x: Optional[str] = None,
          plot_y_scale: Optional[str] = None, extrapolate: bool = False,
          fit_exponents: bool = False,
          resume: bool = False, checkpoint: Union[str, os.PathLike, None] = None,
          checkpoint_seconds: Optional[float] = None,
          progress: Optional[bool] = None) -> pd.DataFrame:
    """The same statistics across widths and depths or L/n ratios (``randnet sweep``).

    Returns the CLI's tidy sweep CSV as a DataFrame: one row per (point, observable, statistic)
    with width, depth, depth_over_width and the estimate columns of :class:`Result`; with
    ``extrapolate=True`` also the rows with width ``inf`` (the a + b/n fit per depth or ratio)
    and the slope columns. With ``fit_exponents=True`` the coordinate check's exponents and
    verdicts are in ``.attrs["exponents"]`` (a DataFrame: against, depth/ratio/width, observable,
    exponent, stderr, low, high, verdict). ``parameterization`` may be a list
    (``["mup", "depth-mup"]``): one sweep per name on the same networks and seed, and the
    DataFrame and the exponents start with a ``parameterization`` column (docs/training.md,
    "Parameterizations side by side"). A KeyboardInterrupt saves the checkpoint
    (``resume=True`` continues) and is raised again.
    """
    flags = dict(locals())
    bar = _Progress(flags.pop("progress"), "randnet.sweep")
    try:
        js, csv = _randnet.sweep(_argv(flags, repeated=("plot_stat",)), bar.callback)
    finally:
        bar.close()
    frame = _read_csv(csv)
    if fit_exponents:
        frame.attrs["exponents"] = pd.DataFrame(json.loads(js).get("exponents", []))
    return frame


def theory(*, input_dim: Optional[int] = None, width: Optional[int] = None,
           depth: Optional[int] = None, widths: Optional[ListLike] = None,
           output_dim: Optional[int] = None, activation: Optional[str] = None,
           cw: Optional[float] = None, cb: Optional[float] = None,
           parameterization: Optional[str] = None, residual: Union[str, float, None] = None,
           weights: Optional[str] = None, step_lr: Optional[float] = None,
           steps: Optional[int] = None, targets: Union[str, os.PathLike, None] = None,
           inputs: Optional[int] = None, angle: Optional[float] = None,
           input_file: Union[str, os.PathLike, None] = None, x: Any = None,
           observe: Optional[ListLike] = None, seed: Optional[int] = None,
           networks: Optional[int] = None) -> pd.DataFrame:
    """Predictions without sampling (``randnet theory``): one row per (observable, statistic)
    with theory, theory_kind and, with ``networks=M``, each exact law's standard error at M
    networks (sd_one_network, networks_for_10pct, stderr_at_networks). The infinite-width
    kernels are in ``.attrs["infinite_width"]``."""
    flags = dict(locals())
    x_array = _inputs(flags.pop("x"), flags)
    js, csv = _randnet.theory(_argv(flags), x_array)
    frame = _read_csv(csv)
    frame.attrs["infinite_width"] = json.loads(js).get("infinite_width", {})
    return frame


def merge(files: Sequence[Union[str, os.PathLike]]) -> Union[Result, pd.DataFrame]:
    """Merge the JSON outputs of sharded runs (``randnet merge``): sample shards (the CLI's
    JSON or :meth:`Result.save`) give a :class:`Result`, sweep shards the sweep's DataFrame."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    paths = [os.fspath(f) for f in files]
    js, csv, is_sweep = _randnet.merge(paths)
    if is_sweep:
        return _read_csv(csv)
    doc = json.loads(js)
    spec = dict(doc["spec"])
    spec["inputs"] = doc["inputs"]
    spec["seed"] = doc["seed"]
    return Result({"json": js, "csv": csv, "spec": json.dumps(spec), "names": [],
                   "rows": None, "networks": doc["networks"], "diverged": doc["diverged"]})
