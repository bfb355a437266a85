#!/usr/bin/env bash
# docs/cluster.md's Slurm workflow, end to end, on a one-node Slurm started by hand (no systemd,
# no cgroups: works in containers and sandboxes).
#
#   tests/slurm/run.sh                       # builds target/release/randnet first
#   RANDNET=/path/to/randnet tests/slurm/run.sh
#
# 1. Installs munge and Slurm if missing (Debian/Ubuntu: apt-get), starts munged, slurmctld and
#    slurmd by hand in a temporary directory (own key, socket, ports, state, logs) and waits
#    until the node is idle.
# 2. Takes the job script and the merge commands from docs/cluster.md as written, with the sweep
#    made small (every substitution is checked, so an edit of the docs fails here loudly).
# 3. Submits the 4-task array and the merge job (`--dependency=afterok`), cancels task 1 with
#    `scancel` once it has written a checkpoint, checks it stopped mid-run with its checkpoint,
#    requeues it with `scontrol requeue` and re-points the merge job's dependency (the cancel
#    broke it) as the docs say, and waits for everything.
# 4. Checks the merge against one run of the same sweep without --shard: every estimate and
#    estimate within 1e-12 and standard error within 1e-11 relative (an estimate near zero, like the mean of an output,
#    relative to its spread stderr * sqrt(networks): its power sums cancel, and the merge's
#    different order of additions shows there; e.g. 5.8e-12 plain relative on a mean of 1.9e-5).
# Stops every daemon and job it started on exit; prints one PASS or FAIL line; exits non-zero on
# failure. Takes about a minute once the packages are installed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SELF="$ROOT/tests/slurm/run.sh"
# Networks per sweep point: big enough that a task is still running a moment after its first
# checkpoint (0.5 s), small enough for a quick test (about 8 s a task on one core).
NETWORKS=${RANDNET_SLURM_NETWORKS:-600000}
VICTIM=1 # the task cancelled and requeued
STAGE="setup"

log() { printf '[slurm-test %s] %s\n' "$(date +%T)" "$*" >&2; }
fail() {
    log "error: $*"
    exit 1
}
# Polls `$@` every 0.2 s until it succeeds or $1 seconds pass.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    until "$@"; do
        if [ "$SECONDS" -ge "$end" ]; then
            squeue -t all -o '%i %T %r' >&2 2>/dev/null || true
            sinfo -N -o '%N %T %E' >&2 2>/dev/null || true
            fail "timed out after ${limit}s waiting for $what"
        fi
        sleep 0.2
    done
}

# --- cleanup: jobs first (their processes outlive slurmd), then the daemons we started ---
T="" # the temporary directory, once made
stop_pid() { # pid file, name
    [ -s "$1" ] || return 0
    local pid
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || return 0
    local end=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "$2 ($pid) ignored SIGTERM; killing it"
        kill -9 "$pid" 2>/dev/null || true
    fi
}
cleanup() {
    local rc=$?
    set +e
    local d=${T:-/nonexistent}
    if [ -s "$d/slurmctld.pid" ] && [ -n "${SLURM_CONF:-}" ]; then
        scancel --full --user=root >/dev/null 2>&1
        local end=$((SECONDS + 30))
        while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ "$SECONDS" -lt "$end" ]; do
            sleep 0.2
        done
    fi
    stop_pid "$d/slurmd.pid" slurmd
    stop_pid "$d/slurmctld.pid" slurmctld
    stop_pid "$d/munged.pid" munged
    if [ "$rc" = 0 ]; then
        echo "PASS: tests/slurm/run.sh: docs/cluster.md workflow (4-task array, task $VICTIM cancelled mid-run and requeued, merge = one run within 1e-12) in ${SECONDS}s"
        [ -z "$T" ] || rm -rf "$T"
    else
        for f in "$d"/slurmctld.log "$d"/slurmd.log "$d"/work/slurm-*.out; do
            [ -f "$f" ] || continue
            echo "----- last lines of $f" >&2
            tail -n 25 "$f" >&2
        done
        echo "FAIL: tests/slurm/run.sh at stage '$STAGE' (exit $rc; files kept in ${T:-nowhere})"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the binary (built as the calling user, before any sudo) ---
if [ -z "${RANDNET:-}" ]; then
    log "building the release binary"
    (cd "$ROOT" && cargo build --release --quiet)
    RANDNET="$ROOT/target/release/randnet"
fi
RANDNET=$(realpath "$RANDNET")
[ -x "$RANDNET" ] || fail "no randnet binary at $RANDNET"
export RANDNET

# Slurm here runs everything as root (SlurmUser, SlurmdUser, munged).
if [ "$(id -u)" != 0 ]; then
    exec sudo --preserve-env=RANDNET,RANDNET_SLURM_NETWORKS "$SELF" "$@"
fi

# --- packages ---
missing=0
for cmd in munged slurmctld slurmd sbatch scontrol python3; do
    command -v "$cmd" >/dev/null || missing=1
done
if [ "$missing" = 1 ]; then
    log "installing munge and slurm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq munge slurmctld slurmd slurm-client python3 >/dev/null
fi

T=$(mktemp -d /tmp/randnet-slurm.XXXXXX)

# --- munge: own key and socket (the socket's directory must be world-searchable) ---
STAGE="munge"
chmod 755 "$T"
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 600 "$T/munge.key"
munged --key-file="$T/munge.key" --socket="$T/munge.socket" --pid-file="$T/munged.pid" \
    --log-file="$T/munged.log" --seed-file="$T/munged.seed"
munge -S "$T/munge.socket" -n | unmunge -S "$T/munge.socket" >/dev/null ||
    fail "munge does not work (see $T/munged.log)"

# --- slurm.conf: this host, its real CPUs and memory, free ports ---
STAGE="slurm"
HOST=$(hostname -s)
NODE_LINE=$(slurmd -C | grep '^NodeName=')
[ -n "$NODE_LINE" ] || fail "slurmd -C printed no NodeName line"
NODE_LINE=$(sed "s/^NodeName=[^ ]*/NodeName=$HOST/" <<<"$NODE_LINE")
read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
mkdir -p "$T/state" "$T/spool" "$T/work" "$T/bin"
cat >"$T/slurm.conf" <<EOF
ClusterName=randnet-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long before it starts again (default 120 s).
AuthInfo=socket=$T/munge.socket,cred_expire=10
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=10
$NODE_LINE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$T/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$HOST"
node_idle() {
    local s
    s=$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null) || return 1
    [ "$s" = idle ]
}
wait_for 90 "node $HOST to be idle" node_idle
log "slurm up: node $HOST ($(sed 's/ Boards.*RealMemory=/, RealMemory=/' <<<"${NODE_LINE#* }")), ports $CTLD_PORT/$SLURMD_PORT"

# --- the docs' job script and merge commands, the sweep made small ---
STAGE="docs"
ln -s "$RANDNET" "$T/bin/randnet"
export PATH="$T/bin:$PATH"
cd "$T/work"
python3 - "$ROOT/docs/cluster.md" "$NETWORKS" "$VICTIM" <<'EOF'
import re, sys
docs, networks, victim = sys.argv[1:4]
blocks = re.findall(r"^```sh\n(.*?)^```$", open(docs).read(), re.S | re.M)
def block(marker):
    found = [b for b in blocks if marker in b]
    if len(found) != 1:
        sys.exit(f"{docs}: expected one ```sh block with '{marker}', found {len(found)}")
    return found[0]
job, merge = block("#SBATCH --array"), block("randnet merge")
submit, requeue = block("sbatch --parsable"), block("scontrol requeue")
def substitute(text, subs, what):
    for old, new in subs:
        if text.count(old) != 1:
            sys.exit(f"{docs}: {what} no longer contains '{old}' once; update tests/slurm/run.sh")
        text = text.replace(old, new)
    return text
job = substitute(job, [
    ("--array=0-15", "--array=0-3"),
    ("--cpus-per-task=8", "--cpus-per-task=1"),
    ("--shard $SLURM_ARRAY_TASK_ID/16 ", "--shard $SLURM_ARRAY_TASK_ID/4 "),
    ("--widths 32,64,128 --ratios 0.125,0.25,0.5 --networks 1000000",
     f"--widths 32,64 --ratios 0.125,0.25 --networks {networks} --checkpoint-seconds 0.5"),
], "the job script")
# The submission as written (shards.sh, merge.sh, $JOBID, $MERGEID); the requeue of task 3 of 16
# becomes that of the victim task of 4.
requeue = substitute(requeue, [("${JOBID}_3 ", f"${{JOBID}}_{victim} "), (" 0 15)", " 0 3)")],
                     "the requeue commands")
open("submit.sh", "w").write(submit)
open("requeue.sh", "w").write(requeue)
for need in ["--resume", "--requeue", "--open-mode=append"]:
    if need not in job:
        sys.exit(f"{docs}: the job script lost '{need}'")
open("shards.sh", "w").write(job)
open("merge.sh", "w").write("#!/bin/bash\nset -e\n" + merge)
# One run of the same sweep: the job's randnet command without --shard, --resume and --output.
cmd = next(l for l in job.replace("\\\n", " ").splitlines() if l.strip().startswith("randnet "))
for pat in [r"--shard \S+", r"--resume\b", r"--output \S+", r"--checkpoint-seconds \S+"]:
    cmd, n = re.subn(pat, "", cmd)
    if n != 1 and pat != r"--checkpoint-seconds \S+":
        sys.exit(f"{docs}: the job's randnet command has {n} matches of {pat}")
open("whole.sh", "w").write("#!/bin/bash\nset -e\n" + " ".join(cmd.split()) + " --output whole.json\n")
EOF
log "job script (from docs/cluster.md):"
sed 's/^/    /' shards.sh >&2
log "submitted and requeued with (from docs/cluster.md):"
sed 's/^/    /' submit.sh requeue.sh >&2

# --- the array, the merge job, one task cancelled and requeued ---
STAGE="array"
# shellcheck disable=SC1091
. ./submit.sh
[[ "$JOBID" =~ ^[0-9]+$ && "$MERGEID" =~ ^[0-9]+$ ]] || fail "sbatch gave job ids '$JOBID', '$MERGEID'"
log "array job $JOBID, merge job $MERGEID"
task_state() { squeue -h -t all -j "$1" -o %T 2>/dev/null | head -n 1; }
victim_checkpoint() { find . -maxdepth 1 -name "*shard-$VICTIM.json*checkpoint*" | head -n 1; }
victim_mid_run() {
    local s
    s=$(task_state "${JOBID}_$VICTIM")
    case "$s" in
    PENDING | CONFIGURING | RUNNING | "") ;;
    *) fail "task $VICTIM ended $s before it could be cancelled (make RANDNET_SLURM_NETWORKS bigger?)" ;;
    esac
    [ "$s" = RUNNING ] && [ -n "$(victim_checkpoint)" ]
}
wait_for 120 "task $VICTIM to run and write a checkpoint" victim_mid_run
STAGE="cancel"
scancel "${JOBID}_$VICTIM"
victim_cancelled() { [ "$(task_state "${JOBID}_$VICTIM")" = CANCELLED ]; }
wait_for 60 "task $VICTIM to end after scancel" victim_cancelled
[ ! -e "shard-$VICTIM.json" ] || fail "task $VICTIM finished before scancel reached it (make RANDNET_SLURM_NETWORKS bigger)"
CP=$(victim_checkpoint)
[ -n "$CP" ] || fail "task $VICTIM left no checkpoint after scancel"
DONE=$(python3 -c '
import json, sys
try:
    cp = json.load(open(sys.argv[1]))
    print(sum(p["next"] - cp["key"]["shard"]["first"] for p in cp["progress"]))
except Exception:
    print("?")  # another checkpoint layout: not this test'"'"'s business' "$CP")
log "task $VICTIM cancelled mid-run: checkpoint $CP holds $DONE networks"
[ "$DONE" != 0 ] || fail "the checkpoint of task $VICTIM holds no networks"
STAGE="requeue"
# scontrol requeue, then the merge job's dependency on the tasks one by one (the cancel broke
# afterok on the whole array for good).
# shellcheck disable=SC1091
. ./requeue.sh
all_done() { [ -z "$(squeue -h -o %i)" ]; }
wait_for 180 "the array and the merge job to finish" all_done

STAGE="check"
for i in 0 1 2 3; do
    s=$(task_state "${JOBID}_$i")
    [ "$s" = COMPLETED ] || fail "task $i ended $s (log: $(tail -n 3 "slurm-${JOBID}_$i.out" 2>/dev/null))"
done
s=$(task_state "$MERGEID")
[ "$s" = COMPLETED ] || fail "the merge job ended $s (log: $(tail -n 3 "slurm-$MERGEID.out" 2>/dev/null))"
restarts=$(scontrol show job "${JOBID}_$VICTIM" | grep -o 'Restarts=[0-9]*' | head -n 1)
[ "$restarts" = Restarts=1 ] || fail "task $VICTIM: $restarts, expected one requeue"
# The requeued run continued from the checkpoint: at most one "starting from the beginning".
fresh=$(grep -c 'starting from the beginning' "slurm-${JOBID}_$VICTIM.out" || true)
[ "$fresh" -le 1 ] || fail "the requeued task $VICTIM started from the beginning again"
[ -z "$(find . -maxdepth 1 -name '*checkpoint*')" ] || fail "checkpoints left behind: $(find . -maxdepth 1 -name '*checkpoint*')"
[ -s sweep.json ] && [ -s sweep.csv ] || fail "the merge job wrote no sweep.json / sweep.csv"

log "one run of the same sweep without --shard"
bash whole.sh
python3 - whole.json sweep.json <<'EOF'
import json, math, sys
whole, merged = (json.load(open(f)) for f in sys.argv[1:3])
a, b = whole["points"], merged["points"]
assert len(a) == len(b) > 0, f"{len(a)} points in one run, {len(b)} merged"
compared, worst = 0, 0.0
for p, q in zip(a, b):
    where = f"width {p['width']} depth {p['depth']}"
    for k in ["width", "depth", "networks", "diverged"]:
        assert p[k] == q[k], f"{where}: {k} {p[k]} vs {q[k]}"
    assert p["observables"].keys() == q["observables"].keys(), where
    for obs, stats in p["observables"].items():
        assert stats.keys() == q["observables"][obs].keys(), f"{where} {obs}"
        for stat, e in stats.items():
            for f in ["estimate", "stderr"]:
                x, y = e.get(f), q["observables"][obs][stat].get(f)
                if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
                    assert repr(x) == repr(y), f"{where} {obs} {stat} {f}: {x} vs {y}"
                    continue
                # Relative to the number, or for an estimate near zero (a mean of a symmetric
                # output: its power sums cancel) to its spread stderr * sqrt(networks), the
                # scale of the rounding of the sums.
                scale = max(abs(x), abs(y))
                if f == "estimate" and e.get("stderr") is not None and math.isfinite(e["stderr"]):
                    scale = max(scale, e["stderr"] * math.sqrt(p["networks"]))
                tol = 1e-12 if f == "estimate" else 1e-11  # docs/cluster.md, "What merge guarantees"
                assert abs(x - y) <= tol * scale + 1e-300, \
                    f"{where} {obs} {stat} {f}: one run {x!r}, merged {y!r}"
                worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-300))
                compared += 1
assert compared > 100, f"only {compared} numbers compared"
print(f"merged = one run: {compared} estimates and standard errors over {len(a)} points, "
      f"{a[0]['networks']} networks each, within the documented tolerances (largest plain relative "
      f"difference {worst:.1e})", file=sys.stderr)
EOF
STAGE="done"
