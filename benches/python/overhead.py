"""The overhead of a randnet.sample call beyond the sampling itself (docs/performance.md).

For each configuration, the median over repeats of
  wall      the whole Python call (argument conversion, native call, DataFrame, views),
  native    the native module's own time for the same call (parse, plan, draw, theory, render),
  drawing   the run loop's time (the JSON's `seconds`: drawing and accumulating networks);
and the overheads wall - native (what the Python layer adds) and wall - drawing (everything that
is not sampling). Run after `pip install .`:  python benches/python/overhead.py
"""

import json
import statistics
import sys
import time

import randnet
from randnet import _randnet

CONFIGS = [
    ("tiny: n=16, L=2, 100 nets, output+ntk", dict(width=16, depth=2, networks=100)),
    ("config A (matrix-free): n0=16, n=256, L=32, K=2, 200 nets",
     dict(width=256, depth=32, networks=200, backend="cpu")),
    ("samples=True: n=64, L=8, 20000 nets", dict(width=64, depth=8, networks=20_000,
                                               samples=True)),
]


def measure(flags, repeats):
    walls, natives, draws = [], [], []
    for _ in range(repeats):
        t = time.perf_counter()
        r = randnet.sample(progress=False, **flags)
        walls.append(time.perf_counter() - t)
        draws.append(r.to_dict()["seconds"])
        argv = randnet._argv({k: v for k, v in flags.items() if k != "samples"})
        raw = _randnet.sample(argv, None, flags.get("samples", False), None)
        natives.append(raw["seconds"])
    med = statistics.median
    return med(walls), med(natives), med(draws)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    randnet.sample(width=8, depth=1, networks=10, progress=False)  # warm up
    print(f"randnet {randnet.__version__}, median of {repeats} calls (seconds; overheads in ms)")
    print(f"{'configuration':58} {'wall':>8} {'native':>8} {'drawing':>8} {'wall-native':>12} {'wall-drawing':>13}")
    for name, flags in CONFIGS:
        wall, native, draw = measure(flags, repeats)
        print(f"{name:58} {wall:8.4f} {native:8.4f} {draw:8.4f} {1e3 * (wall - native):12.2f} {1e3 * (wall - draw):13.2f}")


if __name__ == "__main__":
    main()
