#!/usr/bin/env bash
# Run part of the tiny study (config/tiny.yaml) twice -- locally (profiles/local, packed folds)
# and through a real single-node SLURM cluster with the README's command
# `snakemake --profile profiles/slurm ...` (the profile with only its three marked lines changed,
# so per-fold GPU jobs and the cluster settings come from the profile itself) -- then check
#   1. the scheduler's record: every job COMPLETED, exactly the planned number of one-GPU jobs,
#   2. cluster faults (issue 18): a watcher `scancel`s the first running decompose_batch job
#      and the first running train_fold job after its first epoch checkpoint; the profile's
#      `retries: 1` resubmits both, the record shows them CANCELLED and their resubmissions
#      COMPLETED, and the resubmitted training resumed from its checkpoint,
#   3. the targets (tables) and every per-fold metrics.json / predictions.csv are equal
#      (CSV numerically, runtime columns such as seconds per epoch excluded).
# Starts the cluster with tests/slurm/cluster.sh and always tears it down (trap), so later
# snakemake calls on the machine are not slowed by the SLURM plugin (see cluster.sh).
# Needs root and slurm-wlm + munge (`tests/slurm/cluster.sh install`).
#
#   tests/slurm/compare_study.sh [TARGET ...]
#       default targets: Table 1, every fold of RTCAN-1D R_f on DEAP (2 dimensions x 3 folds),
#       of Res-SIN (EDA+music) on PMEmo valence and of the SVM on PMEmo valence:
#       9 one-GPU training jobs, 3 CPU ones (EXPECT_GPU_JOBS)
# Environment: STUDY_DIR (work folder, default /tmp/edaffect-slurm-study, emptied first),
#   STUDY_TIMEOUT (seconds per snakemake run, default 1200: 6-12 min on 2 busy cores),
#   FAULTS (default 1; 0: no scancel),
#   ARRAY_JOBS (e.g. "train_fold,train_fold_cpu": passed as --slurm-array-jobs, to measure
#   submissions), PYTHON, SNAKEMAKE.
# Exit status 0 only if both runs finished and every check passed; on failure the SLURM
# job logs, the daemons' logs and the failed rules' logs are printed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
SNAKEMAKE=${SNAKEMAKE:-$REPO/.venv/bin/snakemake}
STUDY_DIR=${STUDY_DIR:-/tmp/edaffect-slurm-study}
STUDY_TIMEOUT=${STUDY_TIMEOUT:-1200}
FAULTS=${FAULTS:-1}
ARRAY_JOBS=${ARRAY_JOBS:-}
CANCEL_RULES=(decompose_batch train_fold)   # one job of each is cancelled while it runs
CLUSTER=$REPO/tests/slurm/cluster.sh
CHECK=$REPO/tests/slurm/study_check.py
PARTITION=ci              # what cluster.sh creates
ACCOUNT=edaffect          # no accounting database: any account name is accepted
GPU_MODEL=fake            # gres gpu:fake:1 of the test node
GPU_RULES=(train_fold)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); EXPECT_GPU_JOBS=${EXPECT_GPU_JOBS:?set it for TARGETS}
else
    TARGETS=(results/tables/table1.md)
    for k in 0 1 2; do
        TARGETS+=(results/runs/r_f/deap/valence/fold$k/metrics.json
                  results/runs/r_f/deap/arousal/fold$k/metrics.json
                  results/runs/ressin_mix/pmemo/valence/fold$k/metrics.json
                  results/runs/svm_eda/pmemo/valence/fold$k/metrics.json)
    done
    EXPECT_GPU_JOBS=${EXPECT_GPU_JOBS:-9}
fi
# tests/slurm/study.yaml: 40 epochs (networks, Res-SIN) with a checkpoint after each (a cancelled
# training resumes mid-training); both runs get the same layers.
CONFIGS=("$REPO/config/tiny.yaml" "$REPO/tests/slurm/study.yaml")

T0=$SECONDS
stamp() { echo "[compare_study +$((SECONDS - T0)) s] $*"; }

rm -rf "$STUDY_DIR"
mkdir -p "$STUDY_DIR/local" "$STUDY_DIR/slurm"
# Each run in its own working directory with the repository's config.yaml (the Snakefile's
# `configfile:`), the same --configfile layers on top.
cp "$REPO/config.yaml" "$STUDY_DIR/local/"
cp "$REPO/config.yaml" "$STUDY_DIR/slurm/"

print_failure_logs() {
    echo "================ FAILURE: logs ================"
    local f
    for f in "$STUDY_DIR"/slurm.log "$STUDY_DIR"/local.log; do
        [ -e "$f" ] && { echo "===== $f (last 80 lines) ====="; tail -n 80 "$f"; }
    done
    while IFS= read -r -d '' f; do
        echo "===== SLURM job log $f ====="; tail -n 60 "$f"
    done < <(find "$STUDY_DIR/slurm/.snakemake/slurm_logs" -name '*.log' -print0 2>/dev/null)
    # rule logs of the jobs that failed (named in the snakemake logs)
    for f in $(grep -ho 'results/logs/[^ ]*\.log' "$STUDY_DIR"/slurm.log "$STUDY_DIR"/local.log \
            2>/dev/null | sort -u); do
        for d in slurm local; do
            [ -s "$STUDY_DIR/$d/$f" ] || continue
            grep -qiE 'error|traceback|exception' "$STUDY_DIR/$d/$f" || continue
            echo "===== rule log ($d) $f ====="; tail -n 40 "$STUDY_DIR/$d/$f"
        done
    done
    "$CLUSTER" logs || true
}

LOCAL_PID=""
WATCH_PID=""
cleanup() {
    local rc=$?
    if [ -n "$LOCAL_PID" ] && kill -0 "$LOCAL_PID" 2>/dev/null; then kill "$LOCAL_PID" || true; fi
    if [ -n "$WATCH_PID" ] && kill -0 "$WATCH_PID" 2>/dev/null; then kill "$WATCH_PID" || true; fi
    if [ "$rc" != 0 ]; then print_failure_logs; fi
    "$CLUSTER" down || true
    stamp "exit status $rc"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP   # run cleanup (teardown) when killed, too

stamp "starting the SLURM cluster"
"$CLUSTER" up
CPUS=$(sinfo -h -N -o '%c' | head -1)
MEM=$(sinfo -h -N -o '%m' | head -1)

# The profile a cluster user would make: profiles/slurm/config.yaml with the three marked lines
# changed (partition, account, GPU model); CPU/memory requests capped at the test node's size,
# a GPU job's CPUs at half the node (the fake GPU serialises the trainings; the CPU jobs run
# beside them instead of waiting).
# Its cluster.yaml comes along; the SLURM run names only the tiny study with --configfile, which
# replaces the profile's `configfile:`, so per-fold GPU jobs come from its `config:` entry.
"$PYTHON" "$CHECK" profile "$REPO/profiles/slurm/config.yaml" "$STUDY_DIR/profile" \
    --partition "$PARTITION" --account "$ACCOUNT" --gpu-model "$GPU_MODEL" \
    --cpus "$CPUS" --mem-mb "$((MEM * 8 / 10))" --gpu-cpus "$(( CPUS > 1 ? CPUS / 2 : 1 ))"

# Local run in the background: it overlaps with the SLURM run's waiting for the scheduler.
stamp "local run (profiles/local) and SLURM run (profiles/slurm) of ${TARGETS[*]}"
(
    cd "$STUDY_DIR/local"
    exec nice -n 5 timeout "$STUDY_TIMEOUT" "$SNAKEMAKE" "${TARGETS[@]}" \
        --snakefile "$REPO/Snakefile" --directory "$STUDY_DIR/local" \
        --profile "$REPO/profiles/local" --cores "$CPUS" --keep-going \
        --configfile "${CONFIGS[@]}"
) > "$STUDY_DIR/local.log" 2>&1 &
LOCAL_PID=$!

# Cluster faults: the watcher cancels one running job of each CANCEL_RULES rule (the training
# after its first checkpoint); the profile's `retries: 1` must resubmit them.
if [ "$FAULTS" = 1 ]; then
    "$PYTHON" "$CHECK" cancel "$STUDY_DIR/slurm" "$STUDY_DIR/cancelled.json" \
        --rules "${CANCEL_RULES[@]}" --after-checkpoint train_fold --timeout "$STUDY_TIMEOUT" \
        > "$STUDY_DIR/cancel.log" 2>&1 &
    WATCH_PID=$!
fi
EXTRA=()
if [ -n "$ARRAY_JOBS" ]; then EXTRA+=(--slurm-array-jobs "$ARRAY_JOBS"); fi

slurm_rc=0
(
    cd "$STUDY_DIR/slurm"
    # --cores: the width of a decomposition group job (must fit the node);
    # status polling from 1 s (the profile's 20 s suits a shared cluster, not a 1-min test);
    # squeue status mode: there is no accounting database for sacct.  Retries: the profile's.
    exec timeout "$STUDY_TIMEOUT" "$SNAKEMAKE" "${TARGETS[@]}" \
        --snakefile "$REPO/Snakefile" --directory "$STUDY_DIR/slurm" \
        --profile "$STUDY_DIR/profile" --cores "$CPUS" \
        --slurm-init-seconds-before-status-checks 1 --slurm-status-command squeue \
        --slurm-keep-successful-logs --latency-wait 5 "${EXTRA[@]}" \
        --configfile "${CONFIGS[@]}"
) > "$STUDY_DIR/slurm.log" 2>&1 || slurm_rc=$?
stamp "SLURM run finished (exit status $slurm_rc)"
if [ -n "$WATCH_PID" ]; then
    kill "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=""
    cat "$STUDY_DIR/cancel.log"
fi
local_rc=0
wait "$LOCAL_PID" || local_rc=$?
LOCAL_PID=""
stamp "local run finished (exit status $local_rc)"

scontrol show job --oneliner > "$STUDY_DIR/slurm_jobs.txt" || true
grep -E "^(Job stats|job |total|[a-z_0-9]+ +[0-9]+$)" "$STUDY_DIR/slurm.log" | head -30 || true
[ "$slurm_rc" = 0 ] || { echo "SLURM run failed (exit status $slurm_rc)" >&2; exit 1; }
[ "$local_rc" = 0 ] || { echo "local run failed (exit status $local_rc)" >&2; exit 1; }

stamp "checking the scheduler's record (scontrol show job)"
"$PYTHON" "$CHECK" gpu-record "$STUDY_DIR/slurm_jobs.txt" \
    --gpu-rules "${GPU_RULES[@]}" --gpu-model "$GPU_MODEL" --expect-gpu-jobs "$EXPECT_GPU_JOBS" \
    --cancelled "$STUDY_DIR/cancelled.json"
if [ "$FAULTS" = 1 ]; then
    stamp "checking the cancelled jobs: CANCELLED, resubmitted, training resumed"
    "$PYTHON" "$CHECK" fault-record "$STUDY_DIR/slurm_jobs.txt" "$STUDY_DIR/cancelled.json" \
        "$STUDY_DIR/slurm" --rules "${CANCEL_RULES[@]}"
fi

stamp "comparing outputs"
"$PYTHON" "$CHECK" compare "$STUDY_DIR/local" "$STUDY_DIR/slurm" "${TARGETS[@]}"
stamp "SLURM study equals the local study"

# The SLURM profile tests (the README's `--profile profiles/slurm` dry run needs a SLURM client;
# they skip on machines without one) with the client installed and the cluster up: a skip here
# is a failure (tests/conftest.py, marker `slurm`).
stamp "SLURM profile tests, required to run (EDAFFECT_REQUIRE_SLURM=1)"
EDAFFECT_REQUIRE_SLURM=1 "$PYTHON" -m pytest -p no:cacheprovider -q -rs \
    "$REPO/tests/slurm/test_profiles.py"
stamp "SLURM profile tests ran"
