"""Helpers of tests/slurm/compare_study.sh: derive the test profile, check the scheduler's
record of the GPU request, and compare the outputs of a local and a SLURM run.

    python tests/slurm/study_check.py profile SRC DEST --partition P --account A --gpu-model M
        [--cpus N --mem-mb M]
    python tests/slurm/study_check.py gpu-record JOBS_TXT --gpu-rules train_network ...
    python tests/slurm/study_check.py compare LOCAL_DIR SLURM_DIR TARGET ...
    python tests/slurm/study_check.py cancel WORKDIR OUT_JSON --rules train_fold decompose_batch
        [--after-checkpoint train_fold]     # background watcher: scancel one running job a rule
    python tests/slurm/study_check.py fault-record JOBS_TXT CANCELLED_JSON SLURM_DIR

Every check prints what it compared and exits non-zero with the differences on failure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

# The lines a cluster user edits, marked "<-- CHANGE" in profiles/slurm/config.yaml.
CHANGE_KEYS = ("slurm_partition", "slurm_account", "gpu_model")
# Columns / keys / rendered-table headers that measure time or the machine, not the result,
# excluded from comparisons by exact name (benchmarks/study_digest.py owns the list).
_spec = importlib.util.spec_from_file_location(
    "study_digest", Path(__file__).resolve().parents[2] / "benchmarks" / "study_digest.py"
)
_digest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_digest)
RUNTIME_FIELDS = _digest.TIMING_FIELDS | _digest.TIMING_HEADERS


def is_runtime(name: object) -> bool:
    """Whether a column / key measures the run (named in RUNTIME_FIELDS), not its result."""
    return str(name) in RUNTIME_FIELDS


# --------------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------------
def change_lines(text: str) -> list[tuple[int, str]]:
    """(line number, key) of every line marked `<-- CHANGE` in a profile."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "<-- CHANGE" in line and not line.lstrip().startswith("#"):
            key = line.split(":", 1)[0].strip()
            found.append((number, key))
    return found


def derive_profile(
    text: str,
    values: dict[str, str],
    cpus: int | None = None,
    mem_mb: int | None = None,
    gpu_cpus: int | None = None,
) -> dict:
    """The profile with the three marked values replaced (exactly as a cluster user would) and,
    for a small test node, cpus_per_gpu / mem_mb capped at what the node has (cpus_per_gpu at
    `gpu_cpus` when given, so that CPU jobs can run beside the one GPU job)."""
    marked = [key for _, key in change_lines(text)]
    if sorted(marked) != sorted(CHANGE_KEYS):
        raise ValueError(
            f"expected exactly one '<-- CHANGE' line for each of {CHANGE_KEYS}, found {marked}"
        )
    profile = yaml.safe_load(text)
    if profile.get("executor") != "slurm":
        raise ValueError(f"profile executor is {profile.get('executor')!r}, expected 'slurm'")
    default = profile.setdefault("default-resources", {})
    default["slurm_partition"] = values["slurm_partition"]
    default["slurm_account"] = values["slurm_account"]
    gpu_rules = [
        rule for rule, res in (profile.get("set-resources") or {}).items() if "gpu_model" in res
    ]
    if not gpu_rules:
        raise ValueError("no rule in set-resources declares gpu_model")
    for rule in gpu_rules:
        profile["set-resources"][rule]["gpu_model"] = values["gpu_model"]
    for block in [default, *(profile.get("set-resources") or {}).values()]:
        if mem_mb is not None and int(block.get("mem_mb", 0)) > mem_mb:
            block["mem_mb"] = mem_mb
        if cpus is not None:
            for key in ("cpus_per_gpu", "cpus_per_task"):
                if key in block and int(block[key]) > cpus:
                    block[key] = cpus
        if gpu_cpus is not None and int(block.get("cpus_per_gpu", 0)) > gpu_cpus:
            block["cpus_per_gpu"] = gpu_cpus
    return profile


# --------------------------------------------------------------------------------------------
# gpu-record
# --------------------------------------------------------------------------------------------
def parse_scontrol_jobs(text: str) -> list[dict[str, str]]:
    """`scontrol show job --oneliner` output -> one dict per job (Key=Value fields)."""
    jobs = []
    for line in text.splitlines():
        if not line.startswith("JobId="):
            continue
        fields = {}
        for token in line.split():
            if "=" in token:
                key, value = token.split("=", 1)
                fields[key] = value
        jobs.append(fields)
    return jobs


def job_rule(job: dict[str, str]) -> str:
    """Rule (or group) name from the plugin's job comment `rule_<name>[_wildcards_...]`."""
    comment = job.get("Comment", "")
    match = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", comment)
    return match.group(1) if match else comment


def record_id(job: dict[str, str]) -> str:
    """The id squeue/scancel use: `<array job>_<task>` for an array task, else the job id."""
    if job.get("ArrayJobId") and job.get("ArrayTaskId"):
        return f"{job['ArrayJobId']}_{job['ArrayTaskId']}"
    return job.get("JobId", "")


def submissions(jobs: list[dict[str, str]]) -> dict[str, int]:
    """sbatch calls behind a scheduler record: one per job, one per array (all its tasks)."""
    arrays = {job["ArrayJobId"] for job in jobs if job.get("ArrayJobId")}
    singles = [job for job in jobs if not job.get("ArrayJobId")]
    return {
        "records": len(jobs), "sbatch": len(singles) + len(arrays), "arrays": len(arrays),
        "array_tasks": len(jobs) - len(singles),
    }


def job_gpu_request(job: dict[str, str]) -> str:
    """The GPU request as the scheduler recorded it ('' when none)."""
    parts = [
        job.get(key, "")
        for key in ("TresPerJob", "TresPerNode", "TresPerTask", "Gres")
        if "gpu" in job.get(key, "")
    ]
    return ";".join(parts)


def check_gpu_record(
    jobs: list[dict[str, str]], gpu_rules: list[str], gpu_model: str, expect_gpu_jobs: int,
    allowed_failed: int = 0, cancelled: set[str] = frozenset(),
) -> list[str]:
    """Problems with the scheduler's record: jobs not COMPLETED (beyond `allowed_failed` ones;
    the jobs in `cancelled`, the fault test's, must be CANCELLED), a GPU request by a rule
    outside `gpu_rules`, or a number of completed jobs holding one GPU of `gpu_model` other
    than `expect_gpu_jobs` (array tasks are records of their own).  Jobs of the training rules
    whose family needs no GPU (SVM, stimulus) request 0 GPUs."""
    problems = []
    n_gpu_jobs = 0
    not_completed = []
    for job in jobs:
        rule = job_rule(job)
        request = job_gpu_request(job)
        ident = f"job {record_id(job)} ({job.get('Comment', '?')})"
        if record_id(job) in cancelled:
            if job.get("JobState") != "CANCELLED":
                problems.append(f"{ident}: cancelled by the test, but state {job.get('JobState')}")
            continue
        if job.get("JobState") != "COMPLETED":
            not_completed.append(f"{ident}: state {job.get('JobState')}")
            continue
        if f"gpu:{gpu_model}:1" in request:
            n_gpu_jobs += 1
            if rule not in gpu_rules:
                problems.append(f"{ident}: rule {rule} is not a GPU rule but requested {request!r}")
        elif request and not request.endswith(":0"):
            problems.append(f"{ident}: unexpected GPU request {request!r}")
    if len(not_completed) > allowed_failed:
        problems += not_completed
    if n_gpu_jobs != expect_gpu_jobs:
        problems.append(
            f"{n_gpu_jobs} completed jobs held a gpu:{gpu_model}:1, the plan has {expect_gpu_jobs}"
        )
    return problems


# --------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------
def _values_equal(a, b, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_values_equal(a[k], b[k]) for k in a)
    return a == b


def read_table_csv(path: Path) -> tuple[list[str], pd.DataFrame]:
    """A table CSV: its leading `# ...` caption lines and the table below them."""
    lines = path.read_text().splitlines()
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    return lines[:n], pd.read_csv(path, skiprows=n)


def compare_csv(local: Path, slurm: Path) -> list[str]:
    """Differences between two CSV tables, runtime columns excluded; numbers compared to
    1e-9 relative (byte-equal files short-cut)."""
    if local.read_bytes() == slurm.read_bytes():
        return []
    (caption_a, a), (caption_b, b) = read_table_csv(local), read_table_csv(slurm)
    if caption_a != caption_b:
        return [f"{slurm.name}: caption lines differ: {caption_a} vs {caption_b}"]
    if list(a.columns) != list(b.columns):
        return [f"{slurm.name}: columns differ: {list(a.columns)} vs {list(b.columns)}"]
    if a.shape != b.shape:
        return [f"{slurm.name}: shape differs: {a.shape} vs {b.shape}"]
    problems = []
    for column in a.columns:
        if is_runtime(column):
            continue
        for row, (x, y) in enumerate(zip(a[column].tolist(), b[column].tolist(), strict=True)):
            if not _values_equal(x, y) and not (pd.isna(x) and pd.isna(y)):
                problems.append(f"{slurm.name}: row {row}, column {column!r}: {x!r} vs {y!r}")
    return problems


def compare_text(local: Path, slurm: Path, runtime_columns: set[str]) -> list[str]:
    """Differences between two text tables (markdown); when the table has runtime columns the
    cells of those columns are blanked in markdown rows before comparing."""
    la, lb = local.read_text().splitlines(), slurm.read_text().splitlines()
    if la == lb:
        return []
    if len(la) != len(lb):
        return [f"{slurm.name}: {len(la)} lines vs {len(lb)}"]
    blank: set[int] = set()
    for line in la:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            blank = {i for i, c in enumerate(cells) if c in runtime_columns or is_runtime(c)}
            break
    problems = []
    for number, (x, y) in enumerate(zip(la, lb, strict=True), start=1):
        if x == y:
            continue
        if blank and x.startswith("|") and y.startswith("|"):
            cx = [c.strip() for c in x.strip("|").split("|")]
            cy = [c.strip() for c in y.strip("|").split("|")]
            if len(cx) == len(cy) and all(
                i in blank or p == q for i, (p, q) in enumerate(zip(cx, cy, strict=True))
            ):
                continue
        problems.append(f"{slurm.name}: line {number} differs:\n  local: {x}\n  slurm: {y}")
    return problems


def compare_metrics(local_dir: Path, slurm_dir: Path) -> tuple[int, list[str]]:
    """Compare every per-fold metrics.json and predictions.csv of the two runs (runtime keys
    excluded); returns (number of folds compared, problems)."""
    problems = []
    local_files = sorted(p.relative_to(local_dir) for p in local_dir.glob("results/runs/**/*"))
    slurm_files = sorted(p.relative_to(slurm_dir) for p in slurm_dir.glob("results/runs/**/*"))
    wanted = {"metrics.json", "predictions.csv"}
    local_set = {p for p in local_files if p.name in wanted}
    slurm_set = {p for p in slurm_files if p.name in wanted}
    # A packed local job trains every dimension of its experiment x dataset, so the local run
    # may hold the other dimension's runs of a requested experiment x dataset; nothing else.
    requested = {p.parts[2:4] for p in slurm_set}  # (experiment, dataset)
    slurm_dims = {p.parts[2:5] for p in slurm_set}  # (experiment, dataset, dimension)
    only_local = {p for p in local_set - slurm_set
                  if p.parts[2:4] not in requested or p.parts[2:5] in slurm_dims}
    only_slurm = slurm_set - local_set
    if only_local or only_slurm:
        problems.append(
            f"run files differ: only local {sorted(map(str, only_local))}, "
            f"only slurm {sorted(map(str, only_slurm))}"
        )
    n = 0
    for rel in sorted(local_set & slurm_set):
        a, b = local_dir / rel, slurm_dir / rel
        if rel.name == "metrics.json":
            n += 1
            ma, mb = json.loads(a.read_text()), json.loads(b.read_text())
            keys = {k for k in ma.keys() | mb.keys() if not is_runtime(k)}
            for key in sorted(keys):
                if not _values_equal(ma.get(key), mb.get(key)):
                    problems.append(f"{rel}: {key}: {ma.get(key)!r} vs {mb.get(key)!r}")
        else:
            problems += [f"{rel}: {p}" for p in compare_csv(a, b)]
    return n, problems


def compare_outputs(local_dir: Path, slurm_dir: Path, targets: list[str]) -> list[str]:
    """Compare each target (and its .csv sibling) and all per-fold results of the two runs."""
    problems = []
    for target in targets:
        if Path(target).name == "metrics.json":  # compared below, runtime keys ignored
            continue
        files = [Path(target)]
        sibling = Path(target).with_suffix(".csv")
        if sibling != files[0] and (local_dir / sibling).exists():
            files.append(sibling)
        runtime_columns: set[str] = set()
        if (local_dir / sibling).exists():
            runtime_columns = {
                str(c)
                for c in read_table_csv(local_dir / sibling)[1].columns
                if is_runtime(c)
            }
        for rel in files:
            a, b = local_dir / rel, slurm_dir / rel
            missing = [str(p) for p in (a, b) if not p.exists()]
            if missing:
                problems.append(f"{rel}: missing {missing}")
                continue
            if rel.suffix == ".csv":
                found = compare_csv(a, b)
            else:
                found = compare_text(a, b, runtime_columns)
            print(
                f"  {rel}: {'equal' if not found else 'DIFFERENT'}"
                + (
                    f" (runtime columns ignored: {sorted(runtime_columns)})"
                    if runtime_columns and rel.suffix == ".csv"
                    else ""
                )
            )
            problems += found
    n, found = compare_metrics(local_dir, slurm_dir)
    print(
        f"  results/runs: {n} per-fold metrics.json (+ predictions.csv) "
        f"{'equal' if not found else 'DIFFERENT'}"
    )
    if n == 0:
        problems.append("no per-fold metrics.json to compare under results/runs")
    return problems + found


# --------------------------------------------------------------------------------------------
# cancel / fault-record: lose a running job (issue 18); the profile's retries resubmit it
# --------------------------------------------------------------------------------------------
def _slurm(*args: str) -> str:
    """Output of a SLURM client command ('' when it fails: the cluster may be going down)."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def running_jobs() -> list[tuple[str, str]]:
    """(squeue id, rule) of every RUNNING job (array tasks as `<array>_<task>`)."""
    found = []
    for line in _slurm("squeue", "-h", "-t", "RUNNING", "-o", "%i|%k").splitlines():
        jobid, _, comment = line.strip().partition("|")
        if jobid:
            found.append((jobid, job_rule({"Comment": comment})))
    return found


def final_state(jobid: str, wait_s: float = 20.0) -> str:
    """The job's state once it has left RUNNING/COMPLETING (or the last state seen)."""
    state, deadline = "", time.monotonic() + wait_s
    while time.monotonic() < deadline:
        jobs = parse_scontrol_jobs(_slurm("scontrol", "show", "job", "--oneliner", jobid))
        state = jobs[0].get("JobState", "") if jobs else ""
        if state and state not in ("RUNNING", "COMPLETING", "PENDING", "CONFIGURING"):
            return state
        time.sleep(0.2)
    return state


def fresh_checkpoints(workdir: Path, since: float) -> list[Path]:
    """Training checkpoints (results/runs/.../fold*/checkpoint/last.pt) written after `since`."""
    found = []
    for path in workdir.glob("results/runs/*/*/*/fold*/checkpoint/last.pt"):
        try:
            if path.stat().st_mtime >= since:
                found.append(path)
        except FileNotFoundError:  # the job finished and removed it
            continue
    return found


def watch_and_cancel(
    workdir: Path, out: Path, rules: list[str], after_checkpoint: set[str],
    timeout_s: float, poll_s: float = 0.2,
) -> list[dict]:
    """Poll squeue and `scancel` the first running job of each rule in `rules`, once each.  A
    rule in `after_checkpoint` (training) is cancelled only while exactly one job of it runs and
    a checkpoint newer than that job's start exists: the cancel lands after an epoch was saved,
    so the resubmitted job must resume from it.  A job that ended before the cancel took effect
    does not count (the next one is tried).  Writes what it cancelled to `out` (JSON) as it goes."""
    cancelled: list[dict] = []
    first_seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and len(cancelled) < len(rules):
        done = {c["rule"] for c in cancelled}
        running = running_jobs()
        now = time.time()
        for jobid, _ in running:
            first_seen.setdefault(jobid, now)
        for rule in rules:
            if rule in done:
                continue
            jobs = [jobid for jobid, r in running if r == rule]
            if not jobs:
                continue
            checkpoint = None
            if rule in after_checkpoint:
                fresh = fresh_checkpoints(workdir, first_seen[jobs[0]] - 1.0)
                if len(jobs) != 1 or len(fresh) != 1:
                    continue
                checkpoint = fresh[0]
            jobid = jobs[0]
            subprocess.run(["scancel", jobid], check=False, timeout=15)
            state = final_state(jobid)
            print(f"cancel: scancel {jobid} ({rule}) -> {state}", flush=True)
            if state != "CANCELLED":  # it finished first: try the rule's next job
                continue
            entry = {"jobid": jobid, "rule": rule}
            if checkpoint is not None:
                entry["run_dir"] = str(checkpoint.parent.parent.relative_to(workdir))
            cancelled.append(entry)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(cancelled, indent=1) + "\n")
            tmp.replace(out)
            done.add(rule)
        time.sleep(poll_s)
    return cancelled


def check_fault_record(
    jobs: list[dict[str, str]], cancelled: list[dict], rules: list[str], slurm_dir: Path
) -> list[str]:
    """Problems with the cancellation test: each rule in `rules` had one job CANCELLED by the
    test and that job was resubmitted (a later job of the rule, same comment unless it is an
    array task, COMPLETED); a cancelled training resumed from its checkpoint in the new job."""
    problems = []
    by_id = {record_id(job): job for job in jobs}
    missing = sorted(set(rules) - {c["rule"] for c in cancelled})
    if missing:
        problems.append(f"no running job of {missing} was cancelled (the watcher saw none)")
    for entry in cancelled:
        job = by_id.get(entry["jobid"])
        if job is None:
            problems.append(f"cancelled job {entry['jobid']} is not in the scheduler's record")
            continue
        if job.get("JobState") != "CANCELLED":
            problems.append(f"cancelled job {entry['jobid']}: state {job.get('JobState')}")
        base = int(job.get("ArrayJobId") or job["JobId"])
        later = [
            other for other in jobs
            if job_rule(other) == entry["rule"] and other.get("JobState") == "COMPLETED"
            and int(other.get("ArrayJobId") or other["JobId"]) > base
            and (job.get("ArrayJobId") or other.get("ArrayJobId")
                 or other.get("Comment") == job.get("Comment"))
        ]
        if not later:
            problems.append(f"cancelled job {entry['jobid']} ({job.get('Comment')}): "
                            "no later COMPLETED job of the rule resubmitted it")
        else:
            entry["resubmitted_as"] = [record_id(other) for other in later]
        if "run_dir" in entry:
            metrics = slurm_dir / entry["run_dir"] / "metrics.json"
            resumed = json.loads(metrics.read_text()).get("resumed_from_epoch") \
                if metrics.exists() else None
            entry["resumed_from_epoch"] = resumed
            if not resumed:
                problems.append(f"{metrics}: resumed_from_epoch is {resumed!r}; the job "
                                "cancelled after a checkpoint did not resume from it")
    return problems


# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("profile", help="derive the test profile from profiles/slurm")
    p.add_argument("src")
    p.add_argument("dest")
    p.add_argument("--partition", required=True)
    p.add_argument("--account", required=True)
    p.add_argument("--gpu-model", required=True)
    p.add_argument("--cpus", type=int)
    p.add_argument("--mem-mb", type=int)
    p.add_argument("--gpu-cpus", type=int, help="cap of cpus_per_gpu (default: --cpus)")
    g = sub.add_parser("gpu-record", help="check `scontrol show job --oneliner` output")
    g.add_argument("jobs_txt")
    g.add_argument("--gpu-rules", nargs="+", required=True)
    g.add_argument("--gpu-model", required=True)
    g.add_argument("--expect-gpu-jobs", type=int, required=True)
    g.add_argument("--allowed-failed", type=int, default=0)
    g.add_argument("--cancelled", default=None, help="the cancel watcher's JSON")
    w = sub.add_parser("cancel", help="scancel one running job of each rule (background)")
    w.add_argument("workdir")
    w.add_argument("out")
    w.add_argument("--rules", nargs="+", required=True)
    w.add_argument("--after-checkpoint", nargs="*", default=[])
    w.add_argument("--timeout", type=float, default=900)
    f = sub.add_parser("fault-record", help="check the cancelled jobs and their resubmission")
    f.add_argument("jobs_txt")
    f.add_argument("cancelled")
    f.add_argument("slurm_dir")
    f.add_argument("--rules", nargs="+", required=True)
    c = sub.add_parser("compare", help="compare the outputs of a local and a SLURM run")
    c.add_argument("local_dir")
    c.add_argument("slurm_dir")
    c.add_argument("targets", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "profile":
        text = Path(args.src).read_text()
        profile = derive_profile(
            text,
            {
                "slurm_partition": args.partition,
                "slurm_account": args.account,
                "gpu_model": args.gpu_model,
            },
            cpus=args.cpus,
            mem_mb=args.mem_mb,
            gpu_cpus=args.gpu_cpus,
        )
        dest = Path(args.dest)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
        for sibling in Path(args.src).parent.iterdir():  # cluster.yaml (profile `configfile:`)
            if sibling.name != "config.yaml" and sibling.is_file():
                shutil.copy(sibling, dest / sibling.name)
        print(
            f"test profile {dest / 'config.yaml'}: {args.src} with partition={args.partition}, "
            f"account={args.account}, gpu_model={args.gpu_model}"
        )
        return 0
    if args.command == "cancel":
        found = watch_and_cancel(Path(args.workdir), Path(args.out), args.rules,
                                 set(args.after_checkpoint), args.timeout)
        print(f"cancel: cancelled {[c['jobid'] for c in found]}")
        return 0
    if args.command == "fault-record":
        jobs = parse_scontrol_jobs(Path(args.jobs_txt).read_text())
        path = Path(args.cancelled)
        cancelled = json.loads(path.read_text()) if path.exists() else []
        problems = check_fault_record(jobs, cancelled, args.rules, Path(args.slurm_dir))
        for entry in cancelled:
            print(f"  cancelled {entry['rule']} job {entry['jobid']} -> resubmitted as "
                  f"{entry.get('resubmitted_as')}"
                  + (f", {entry['run_dir']} resumed from epoch {entry.get('resumed_from_epoch')}"
                     if "run_dir" in entry else ""))
    elif args.command == "gpu-record":
        jobs = parse_scontrol_jobs(Path(args.jobs_txt).read_text())
        cancelled = set()
        if args.cancelled and Path(args.cancelled).exists():
            cancelled = {c["jobid"] for c in json.loads(Path(args.cancelled).read_text())}
        problems = check_gpu_record(jobs, args.gpu_rules, args.gpu_model, args.expect_gpu_jobs,
                                    args.allowed_failed, cancelled)
        for job in jobs:
            print(
                f"  job {record_id(job)}: {job_rule(job):<22} {job.get('JobState'):<10} "
                f"cpus={job.get('NumCPUs')} gpu={job_gpu_request(job) or '-'}"
            )
        n_gpu = sum(f"gpu:{args.gpu_model}:1" in job_gpu_request(j) for j in jobs)
        count = submissions(jobs)
        print(f"scheduler record: {len(jobs)} jobs, {n_gpu} with one GPU "
              f"(expected {args.expect_gpu_jobs} completed); {count['sbatch']} sbatch "
              f"submissions ({count['arrays']} job arrays holding {count['array_tasks']} tasks)")
    else:
        print(f"comparing {args.local_dir} (local) with {args.slurm_dir} (SLURM):")
        problems = compare_outputs(Path(args.local_dir), Path(args.slurm_dir), args.targets)
    if problems:
        print("FAILED:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
