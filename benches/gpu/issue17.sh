#!/usr/bin/env bash
# Issue 17 ("GPU at full speed for the NTK, wide inputs and geometry"): every figure of its
# done-when list in one run on a machine with one GPU (docs/performance.md, "Measuring issue 17
# on a GPU").
#
#   benches/gpu/issue17.sh prepare   # HERE (needs cargo): build, strip and bundle the binaries
#                                    # into .gpubin/issue17.tar.gz; fetch the Vulkan loader
#                                    # packages into .gl/ (the device README's recipe)
#   benches/gpu/issue17.sh [run]     # THERE (or here): measure, test, summarize
#
# `run` needs: bash, python3 (summary), tar + gzip, coreutils `timeout`; the binaries, from the
# bundle .gpubin/issue17.tar.gz (made by `prepare`) or else from `cargo build --offline` (a bare
# device machine has no network, so normally: carry the bundle); a Vulkan loader (libvulkan.so.1;
# unpacked from .gl/*.deb when missing) and a Vulkan driver for the GPU. Optional: PyTorch with
# CUDA in python3 (the peer; skipped, and said so, without it). It fails fast, before measuring,
# when any of the needed ones is missing, and (unless QUICK=1) when the adapter wgpu finds is not
# a hardware GPU.
#
# Results: $OUT (or ./gpu-results when OUT is unset): results.jsonl (one JSON line per figure),
# summary.md (the table with the ratios against the issue's goals), run.log (everything the
# programs printed on stderr, and the steps), tests.log (the test binaries' output), env.txt.
#
# Environment: QUICK=1 shrinks every size (lavapipe smoke run, a minute or two; its figures mean
# nothing); BUDGET_S (default 480 s, QUICK 300) is the wall-clock budget: every step runs under a
# `timeout` of at most what is left, steps are skipped once too little is left, the summary is
# always written; SKIP_TESTS=1 skips the test binaries; BUNDLE overrides the bundle's path.
# Device run (the tool `run`, carry [".gpubin", ".gl"], timeout_s 600):
#   bash benches/gpu/issue17.sh

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
MODE=${1:-run}
QUICK=${QUICK:-0}
BUNDLE=${BUNDLE:-$ROOT/.gpubin/issue17.tar.gz}
SAMPLER_TESTS=(gpu_dense gpu_matrix_free gpu_step gpu_geometry gpu_stream)

die() {
    echo "issue17.sh: FATAL: $*" >&2
    if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
        echo "issue17.sh: FATAL: $*" >>"$OUT/run.log"
        echo "FATAL (nothing measured after this): $*" >>"$OUT/summary.md"
    fi
    exit 1
}
# Is a Vulkan loader installed? (grep reads all of ldconfig's output: no SIGPIPE under pipefail)
vk_loader() { ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; }

# ----------------------------------------------------------------------------------------------
# prepare: build the binaries with cargo and bundle them (stripped) with a manifest.
# ----------------------------------------------------------------------------------------------
build_bundle() { # $1: the bundle to write; $2: extra cargo flags (e.g. --offline)
    local bundle=$1 extra=${2:-}
    command -v cargo >/dev/null || die "cargo not found: cannot build the binaries"
    command -v python3 >/dev/null || die "python3 not found (needed to read cargo's JSON)"
    local stage
    stage=$(mktemp -d /tmp/issue17-stage.XXXXXX)
    mkdir -p "$stage/tests"
    echo "== building (cargo build/test --release --no-run $extra)" >&2
    # shellcheck disable=SC2086
    cargo build --release $extra --bin randnet --example gpu_bench --message-format=json \
        >"$stage/build.json"
    local targs=()
    for t in "${SAMPLER_TESTS[@]}"; do targs+=(--test "$t"); done
    # shellcheck disable=SC2086
    cargo test --release $extra -p randnet-sampler "${targs[@]}" --no-run --message-format=json \
        >>"$stage/build.json"
    # shellcheck disable=SC2086
    cargo test --release $extra --test cli --no-run --message-format=json >>"$stage/build.json"
    python3 - "$stage" <<'EOF'
import json, os, shutil, subprocess, sys
stage = sys.argv[1]
want = {"gpu_dense", "gpu_matrix_free", "gpu_step", "gpu_geometry", "gpu_stream", "cli"}
found, manifest = {}, []
for line in open(os.path.join(stage, "build.json")):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("reason") != "compiler-artifact" or not d.get("executable"):
        continue
    name, kind = d["target"]["name"], d["target"]["kind"]
    if kind == ["test"] and name in want:
        rel = "crates/sampler" if name != "cli" else "."
        found[name] = (d["executable"], rel)
    elif name in ("randnet", "gpu_bench") and (kind == ["bin"] or kind == ["example"]):
        found[name] = (d["executable"], None)
missing = (want | {"randnet", "gpu_bench"}) - set(found)
if missing:
    sys.exit(f"issue17.sh: FATAL: cargo built no executable for {sorted(missing)}")
for name, (exe, rel) in sorted(found.items()):
    dst = os.path.join(stage, "tests" if rel else "", name)
    shutil.copy(exe, dst)
    subprocess.run(["strip", dst], check=False)
    if rel:
        manifest.append(f"test {name} {rel}")
# tests/cli.rs runs env!("CARGO_BIN_EXE_randnet"): the path the randnet binary had when the
# test was built; `run` puts the bundled randnet there when that path does not exist.
manifest.append(f"cli_randnet {found['randnet'][0]}")
open(os.path.join(stage, "manifest.txt"), "w").write("\n".join(manifest) + "\n")
EOF
    {
        echo "git $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!Cargo.toml' ':!Cargo.lock' 2>/dev/null || echo '+dirty')"
        echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m) $(ldd --version 2>/dev/null | head -1)"
    } >>"$stage/manifest.txt"
    rm -f "$stage/build.json"
    mkdir -p "$(dirname "$bundle")"
    tar czf "$bundle.tmp" -C "$stage" .
    mv "$bundle.tmp" "$bundle"
    rm -rf "$stage"
    echo "== bundle: $bundle ($(du -h "$bundle" | cut -f1))" >&2
}

if [ "$MODE" = prepare ]; then
    build_bundle "$BUNDLE"
    if ! ls .gl/*.deb >/dev/null 2>&1 && [ "${FETCH_GL:-1}" = 1 ]; then
        # The Vulkan loader for the device machine (/work/.library/device/README.md).
        echo "== fetching the Vulkan loader packages into .gl/" >&2
        mkdir -p .gl /tmp/amd64/partial
        o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        # shellcheck disable=SC2086
        if apt-get $o update >/dev/null && (cd .gl && apt-get $o download libvulkan1 libegl1 \
            libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null); then
            ls .gl >&2
        else
            echo "issue17.sh: could not fetch .gl/*.deb (the device may have a loader already)" >&2
        fi
    fi
    echo "== now run on the device: bash benches/gpu/issue17.sh   (carry .gpubin and .gl)" >&2
    exit 0
fi
[ "$MODE" = run ] || die "unknown mode '$MODE' (prepare | run)"

# ----------------------------------------------------------------------------------------------
# run: preflight (fail fast), then the steps under one wall-clock budget, then the summary.
# ----------------------------------------------------------------------------------------------
T0=$(date +%s)
if [ "$QUICK" = 1 ]; then BUDGET_S=${BUDGET_S:-300}; else BUDGET_S=${BUDGET_S:-480}; fi
OUT=${OUT:-$ROOT/gpu-results}
mkdir -p "$OUT"
RES=$OUT/results.jsonl LOG=$OUT/run.log TLOG=$OUT/tests.log ENVF=$OUT/env.txt
: >"$RES"
: >"$LOG"
: >"$TLOG"
rm -f "$OUT/summary.md"
export PYTHONUNBUFFERED=1
log() { echo "[$(($(date +%s) - T0))s] $*" | tee -a "$LOG" >&2; }

command -v python3 >/dev/null || die "python3 not found (the summary needs it)"
command -v timeout >/dev/null || die "coreutils 'timeout' not found"

# The binaries.
BIN=$(mktemp -d /tmp/issue17-bin.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
if [ -f "$BUNDLE" ]; then
    tar xzf "$BUNDLE" -C "$BIN" || die "cannot unpack $BUNDLE"
    log "binaries from $BUNDLE: $(grep -E '^(git|built)' "$BIN/manifest.txt" | tr '\n' ' ')"
elif command -v cargo >/dev/null; then
    log "no bundle at $BUNDLE: building with cargo --offline here (slow; needs the crates cached)"
    build_bundle "$BIN/bundle.tar.gz" --offline ||
        die "cargo build --offline failed: run 'benches/gpu/issue17.sh prepare' on a machine with cargo and network, and carry .gpubin"
    tar xzf "$BIN/bundle.tar.gz" -C "$BIN"
else
    die "no binaries: neither $BUNDLE (make it with 'benches/gpu/issue17.sh prepare' where cargo works, then carry .gpubin) nor cargo"
fi
RANDNET=$BIN/randnet GB=$BIN/gpu_bench
[ -x "$RANDNET" ] && [ -x "$GB" ] || die "bundle lacks randnet or gpu_bench"

# Vulkan: the loader (from .gl/*.deb when missing, as /work/.library/device/README.md says), the
# NVIDIA driver's ICD where the device mounts it, a private XDG_RUNTIME_DIR for Mesa.
if ! vk_loader; then
    if ls .gl/*.deb >/dev/null 2>&1 && command -v dpkg >/dev/null; then
        log "no Vulkan loader: unpacking .gl/*.deb into /"
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    vk_loader ||
        die "no Vulkan loader (libvulkan.so.1) and none in .gl/: run 'benches/gpu/issue17.sh prepare' here and carry .gl"
fi
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$NV_ICD" ]; then export VK_DRIVER_FILES=$NV_ICD; fi
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR=$(mktemp -d /tmp/issue17-xdg.XXXXXX)
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
fi

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "quick: $QUICK  budget_s: $BUDGET_S"
    echo "host: $(uname -srm)  nproc: $(nproc)"
    grep -m1 'model name' /proc/cpuinfo 2>/dev/null || true
    command -v nvidia-smi >/dev/null && nvidia-smi -L 2>&1 || echo "nvidia-smi: not found"
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
    echo "--- manifest"
    cat "$BIN/manifest.txt"
    echo "--- python3: $(python3 --version 2>&1)"
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1 || true
} >"$ENVF"

FAILED=()
left() { echo $((BUDGET_S - ($(date +%s) - T0))); }
# step NAME TIMEOUT_S CMD...: stdout (JSON lines) into results.jsonl, stderr into run.log; a
# failure or a timeout is recorded (a "step" line) and the run goes on.
step() {
    local name=$1 limit=$2
    shift 2
    local l
    l=$(left)
    if [ "$l" -lt 10 ]; then
        log "SKIP $name: budget spent (${l}s left)"
        echo "{\"bench\":\"step\",\"step\":\"$name\",\"status\":\"skipped (budget)\"}" >>"$RES"
        FAILED+=("$name (skipped)")
        return 0
    fi
    [ "$limit" -gt "$l" ] && limit=$l
    log "RUN  $name (timeout ${limit}s): $*"
    local t=$SECONDS rc=0
    timeout "$limit" "$@" </dev/null >>"$RES" 2>>"$LOG" || rc=$?
    local st=ok
    if [ $rc -ne 0 ]; then
        st="failed rc=$rc$([ $rc -eq 124 ] && echo ' (timeout)')"
        FAILED+=("$name")
    fi
    log "DONE $name: $st in $((SECONDS - t))s"
    echo "{\"bench\":\"step\",\"step\":\"$name\",\"status\":\"$st\",\"seconds\":$((SECONDS - t))}" >>"$RES"
}

# Sizes. The issue's configurations; QUICK: the same shapes, tiny.
if [ "$QUICK" = 1 ]; then
    N=64 L=4 SECS=0.2 GEO_N=16 GEO_L=2 GEO_GPU_NETS=200 GEO_CPU_NETS=200 M_TORCH=64 B_TORCH=16
    DENSE_OPTS=(20 64) # 2^20 weights per chunk, 64 MiB scratch: small chunks on lavapipe
    AUTO_N=256 AUTO_L=4 AUTO_NETS=64
else
    N=1024 L=64 SECS=1.5 GEO_N=64 GEO_L=8 GEO_GPU_NETS=20000 GEO_CPU_NETS=640 M_TORCH=1024 B_TORCH=128
    DENSE_OPTS=(default default) # GpuDenseOptions::default(): what `randnet sample` runs
    AUTO_N=1024 AUTO_L=64 AUTO_NETS=2000
fi

TORCH=0
if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)' >/dev/null 2>&1; then
    TORCH=1
else
    log "PyTorch with CUDA not available in python3: the peer is skipped"
    echo '{"bench":"torch_bmm","skipped":"PyTorch with CUDA not available in python3"}' >>"$RES"
fi

# sample_json LABEL RANDNET ARGS...: one `randnet sample ARGS --format json` run, summarized
# in one JSON line (backend, method, adapter, networks/s over the run's own `seconds`).
sample_json() {
    local label=$1
    shift
    "$@" --format json >"$TMPJ" || return $?
    python3 - "$label" "$TMPJ" "${*:2}" <<'PY'
import json, sys
label, path, args = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(path))
s = d.get("seconds") or float("nan")
print(json.dumps({"bench": "cli_sample", "label": label, "args": args,
    "backend": d.get("backend"), "method": d.get("method"), "adapter": d.get("adapter"),
    "networks": d.get("networks"), "seconds": s, "networks_per_s": d.get("networks", 0) / s,
    "means": {k: v.get("mean", {}).get("estimate") for k, v in list(d.get("observables", {}).items())[:4]}}))
PY
}
# test_json NAME DIR EXE ARGS...: one test binary (run in DIR, as cargo runs it), its output
# appended to tests.log, one JSON line (pass, libtest's result line, the adapter the tests used,
# whether they skipped for want of an adapter).
test_json() {
    local name=$1 dir=$2 exe=$3 rc=0 t0 t1
    shift 3
    t0=$(date +%s.%N)
    (cd "$dir" && "$exe" "$@" --nocapture) >"$TLOG.part" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    { echo "===== $name (rc $rc)"; cat "$TLOG.part"; } >>"$TLOG"
    python3 - "$name" "$rc" "$t0" "$t1" "$TLOG.part" <<'PY'
import json, re, sys
name, rc, t0, t1, path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
text = open(path, errors="replace").read()
res = re.findall(r"test result: .*", text)
ad = re.findall(r"GPU tests on: (.*)", text)
print(json.dumps({"bench": "test", "name": name, "rc": rc, "passed": rc == 0,
    "result": res[-1] if res else None, "adapter": ad[0] if ad else None,
    "skipped_no_gpu": "SKIP: no GPU adapter" in text, "seconds": round(t1 - t0, 2)}))
PY
    rm -f "$TLOG.part"
    return $rc
}
export -f sample_json test_json
export TLOG
cli_sample() { # LABEL TIMEOUT ARGS...
    local label=$1 limit=$2
    shift 2
    step "sample:$label" "$limit" bash -c 'sample_json "$@"' _ "$label" "$RANDNET" sample "$@"
}
export TMPJ=$BIN/sample.json

# ---- preflight on the GPU: the ceiling first (also: which adapter, is it hardware) ----
step ceiling 60 "$GB" ceiling
adapter=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("bench") == "philox_normals":
        print(("HW " if d["hardware"] else "CPU ") + d["adapter"]); break' "$RES" || true)
log "adapter: ${adapter:-none}"
if [ -z "$adapter" ]; then
    die "gpu_bench ceiling found no adapter (see $LOG): no Vulkan driver? (VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset})"
fi
if [ "$QUICK" != 1 ] && [ "${adapter#HW }" = "$adapter" ]; then
    die "the adapter is not a hardware GPU ($adapter): the figures would be meaningless; QUICK=1 allows it"
fi

# ---- 1. GPU matrix-free, output + NTK, K = 2 (and the CPU matrix-free on every core) vs PyTorch ----
step "matrix-free K=2 ntk" 120 "$GB" matrix-free 16 "$N" "$L" 2 1 "$SECS" 1
if [ $TORCH = 1 ]; then
    step "torch K=2 ntk" 120 python3 benches/peers/torch_bmm.py 16 "$N" "$L" "$M_TORCH" 2 "$B_TORCH" 1 3
fi
# ---- 2. GPU dense, K = 8, output + NTK, default options (the ceiling: above) ----
step "dense K=8 ntk" 120 "$GB" dense 16 "$N" "$L" 8 1 "${DENSE_OPTS[@]}" default "$SECS"
# ---- 3. GPU patterns on the 2-D grid vs the CPU engine's grid (and exact) on every core ----
step "geometry patterns" 150 "$GB" geometry 16 "$GEO_N" "$GEO_L" "$SECS" 1
# The end-to-end runs last ~5 s each at the rates just measured (the sizes above if none).
read -r GEO_GPU_NETS GEO_CPU_NETS < <(python3 - "$RES" "$GEO_GPU_NETS" "$GEO_CPU_NETS" "$QUICK" <<'PY'
import json, sys
rate = {}
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("bench") in ("gpu_geometry", "cpu_geometry"):
        rate[d["bench"]] = d["networks_per_s"]
secs = 1.0 if sys.argv[4] == "1" else 5.0
g = int(min(max(rate.get("gpu_geometry", 0) * secs, 64), 200000)) if "gpu_geometry" in rate else int(sys.argv[2])
c = int(min(max(rate.get("cpu_geometry", 0) * secs, 32), 200000)) if "cpu_geometry" in rate else int(sys.argv[3])
print(g, c)
PY
)
cli_sample "patterns gpu" 90 --width "$GEO_N" --depth "$GEO_L" --inputs 3 --observe patterns \
    --networks "$GEO_GPU_NETS" --backend gpu
cli_sample "patterns cpu" 90 --width "$GEO_N" --depth "$GEO_L" --inputs 3 --observe patterns \
    --networks "$GEO_CPU_NETS" --backend cpu
# ---- 4. every GPU twin test on the device ----
if [ "${SKIP_TESTS:-0}" != 1 ]; then
    cli_path=$(awk '$1 == "cli_randnet" {print $2}' "$BIN/manifest.txt")
    if [ -n "$cli_path" ] && [ ! -e "$cli_path" ]; then
        mkdir -p "$(dirname "$cli_path")" 2>/dev/null && cp "$RANDNET" "$cli_path" 2>/dev/null &&
            log "put the bundled randnet at $cli_path (tests/cli.rs runs it there)" ||
            log "cannot put randnet at $cli_path: the cli tests will fail"
    fi
    while read -r kind name dir; do
        [ "$kind" = test ] || continue
        filter=()
        [ "$name" = cli ] && filter=(gpu)
        step "test $name" 240 bash -c 'test_json "$@"' _ "$name" "$dir" "$BIN/tests/$name" "${filter[@]}"
    done <"$BIN/manifest.txt"
fi
# ---- 5. what --backend auto picks ----
AN=$AUTO_NETS
cli_sample "auto A: n=256 L=32 K=2 output,ntk" 60 --width 256 --depth 32 --inputs 2 \
    --observe output,ntk --networks "$AN" --backend auto
cli_sample "auto n=$AUTO_N L=$AUTO_L K=1 output" 60 --width "$AUTO_N" --depth "$AUTO_L" --inputs 1 \
    --observe output --networks "$AN" --backend auto
cli_sample "auto n=$AUTO_N L=$AUTO_L K=2 output,ntk" 60 --width "$AUTO_N" --depth "$AUTO_L" --inputs 2 \
    --observe output,ntk --networks "$AN" --backend auto
cli_sample "auto n=$AUTO_N L=$AUTO_L K=8 output,ntk" 60 --width "$AUTO_N" --depth "$AUTO_L" --inputs 8 \
    --observe output,ntk --networks "$((AN / 4))" --backend auto
cli_sample "auto n=256 L=8 K=16 output,ntk (wide inputs)" 60 --width 256 --depth 8 --inputs 16 \
    --observe output,ntk --networks "$AN" --backend auto
cli_sample "auto n=$GEO_N L=$GEO_L patterns" 60 --width "$GEO_N" --depth "$GEO_L" --inputs 3 \
    --observe patterns --networks 64 --backend auto
# ---- extras, while the budget lasts: WG 256 at K = 8, the PyTorch peer at K = 8 ----
step "dense K=8 ntk WG256" 60 "$GB" dense 16 "$N" "$L" 8 1 "${DENSE_OPTS[@]}" 256 "$SECS"
if [ $TORCH = 1 ]; then
    step "torch K=8 ntk" 90 python3 benches/peers/torch_bmm.py 16 "$N" "$L" "$M_TORCH" 8 "$B_TORCH" 1 3
fi

# ----------------------------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------------------------
log "summary"
python3 - "$RES" "$OUT/summary.md" "$QUICK" "${FAILED[*]:-}" <<'EOF' || log "summary failed"
import json, sys
res, out, quick, failed = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
rows = [json.loads(l) for l in open(res) if l.strip().startswith("{")]
def find(bench, **kw):
    for r in rows:
        if r.get("bench") == bench and all(r.get(k) == v for k, v in kw.items()):
            return r
    return None
def f(x, d=1):
    if x is None:
        return "—"
    if isinstance(x, float) and (x >= 1e6 or (x != 0 and abs(x) < 1e-2)):
        return f"{x:.3e}"
    return f"{x:,.{d}f}"
def ratio(a, b):
    return a / b if a is not None and b else None
def rx(x):
    return "—" if x is None else (f"{x:.3g}×" if x < 10 else f"{x:,.1f}×")
def verdict(x, goal):
    return "—" if x is None else ("**met**" if x >= goal else "not met")
nps = lambda r: r.get("networks_per_s") if r else None
L = []
ceil = find("philox_normals")
L.append(f"# Issue 17 on {ceil['adapter'] if ceil else '?'}" + (" (QUICK: smoke sizes, figures meaningless)" if quick else ""))
L.append("")
L.append("| # | figure | value | against | ratio | goal |")
L.append("| --- | --- | --- | --- | --- | --- |")
mf = find("gpu_matrix_free", K=2, ntk=True)
cmf = find("cpu_matrix_free", K=2, ntk=True)
tk2 = find("torch_bmm", K=2, ntk=True)
cfg = f"n={mf['n']} L={mf['L']} K=2 out+NTK" if mf else "K=2 out+NTK"
r1 = ratio(nps(mf), nps(tk2))
L.append(f"| 1 | GPU matrix-free {cfg}, nets/s | {f(nps(mf))} | PyTorch {f(nps(tk2)) if tk2 else 'not run (no torch+CUDA)'} | {rx(r1)} | ≥ 100×: {verdict(r1, 100)} |")
if cmf:
    L.append(f"| 1 | (context) CPU matrix-free, {cmf['threads']} threads, nets/s | {f(nps(cmf))} | GPU MF / CPU MF | {rx(ratio(nps(mf), nps(cmf)))} | |")
d8s = [r for r in rows if r.get("bench") == "gpu_dense" and r.get("K") == 8 and r.get("ntk")]
d8 = d8s[0] if d8s else None  # the default options (what `randnet sample` runs)
wc = ceil["per_second"] if ceil else None
if d8:
    fw = ratio(d8["weights_per_s"], wc)
    fp = ratio(d8["philox_normals_per_s"], wc)
    L.append(f"| 2 | GPU dense n={d8['n']} L={d8['L']} K=8 out+NTK (chunk {d8['chunk']}), nets/s | {f(nps(d8))} | | | |")
    L.append(f"| 2 | nominal weights/s | {f(d8['weights_per_s'])} | Philox normals ceiling {f(wc)}/s | {f(100 * fw, 1) if fw else '—'} % | ≥ 50 %: {verdict(fw, 0.5)} |")
    L.append(f"| 2 | Philox calls/s (kernel's count, 4 normals each; backward an upper bound) | {f(d8['philox_calls_per_s'])} | ceiling {f(wc / 4 if wc else None)} calls/s | {f(100 * fp, 1) if fp else '—'} % | |")
d8w = next((r for r in d8s[1:] if r.get("workgroup_size") == 256), None)
if d8w:
    fw = ratio(d8w["weights_per_s"], wc)
    L.append(f"| 2 | (extra) same, WG 256: nets/s; nominal weights/s | {f(nps(d8w))}; {f(d8w['weights_per_s'])} | ceiling | {f(100 * fw, 1) if fw else '—'} % | ≥ 50 %: {verdict(fw, 0.5)} |")
tk8 = find("torch_bmm", K=8, ntk=True)
if tk8 and d8:
    L.append(f"| 2 | (extra) PyTorch K=8 out+NTK nets/s | {f(nps(tk8))} | GPU dense / PyTorch | {rx(ratio(nps(d8), nps(tk8)))} | |")
g = find("gpu_geometry"); cg = find("cpu_geometry_grid"); ce = find("cpu_geometry")
r3 = ratio(nps(g), nps(cg))
gcfg = f"n={g['n']} L={g['L']}" if g else ""
L.append(f"| 3 | GPU patterns (grid) {gcfg}, nets/s | {f(nps(g))} | CPU grid, {cg['threads'] if cg else '?'} threads: {f(nps(cg))} | {rx(r3)} | ≥ 10×: {verdict(r3, 10)} |")
if ce:
    L.append(f"| 3 | (context) CPU {ce['method']} (what --backend cpu runs), nets/s | {f(nps(ce))} | GPU grid / CPU {ce['method']} | {rx(ratio(nps(g), nps(ce)))} | |")
if g:
    L.append(f"| 3 | GPU counts equal to the CPU twin's | {g['twin_equal']} of {g['twin_checked']} | | | |")
for lab in ("patterns gpu", "patterns cpu"):
    c = find("cli_sample", label=lab)
    if c:
        L.append(f"| 3 | `randnet {c['args']}`: {c['backend']} {c['method']}, nets/s (whole run) | {f(c['networks_per_s'])} | | | |")
tests = [r for r in rows if r.get("bench") == "test"]
for t in tests:
    note = "SKIPPED: no GPU adapter" if t["skipped_no_gpu"] else (t["adapter"] or "")
    if not quick and t["adapter"] and ("(cpu" in t["adapter"] or "llvmpipe" in t["adapter"]):
        note += " — NOT ON THE GPU"
    L.append(f"| 4 | test {t['name']}: {'pass' if t['passed'] else 'FAIL'} | {t['result']} | {note} | | {t['seconds']} s |")
if not tests:
    L.append("| 4 | tests | not run | | | |")
for c in rows:
    if c.get("bench") == "cli_sample" and c["label"].startswith("auto"):
        L.append(f"| 5 | {c['label'][5:]} | --backend auto → **{c['backend']} {c['method']}** | {c.get('adapter') or ''} | | {f(c['networks_per_s'])} nets/s |")
bad = [r for r in rows if r.get("bench") == "step" and r["status"] != "ok"]
L.append("")
L.append("Steps not ok: " + (", ".join(f"{r['step']} ({r['status']})" for r in bad) if bad else "none"))
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
EOF
log "results in $OUT: $(ls "$OUT" | tr '\n' ' ')"
if [ ${#FAILED[@]} -gt 0 ]; then
    log "steps not ok: ${FAILED[*]}"
    exit 1
fi
