#!/usr/bin/env bash
# The Python package's tests (docs/python.md): build and install it with `pip install .` into a
# fresh virtual environment, then run python/tests (bitwise parity with the CLI, errors,
# samples, shards, interrupts, sweeps, theory, merge) and execute the example notebooks.
# Needs python3 with venv and pip, and network access to PyPI (maturin, numpy, pandas, pytest,
# nbclient). Builds target/release/randnet first: the parity tests run the CLI beside Python.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
VENV="${RANDNET_VENV:-$(mktemp -d)/venv}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet ".[test]"
RANDNET_BIN="$PWD/target/release/randnet" "$VENV/bin/python" -m pytest -q python/tests
