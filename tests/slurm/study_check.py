"""Helpers of tests/slurm/compare_study.sh: derive the test profile, check the scheduler's
record of the GPU request, and compare the outputs of a local and a SLURM run.

    python tests/slurm/study_check.py profile SRC DEST --partition P --account A --gpu-model M
        [--cpus N --mem-mb M]
    python tests/slurm/study_check.py gpu-record JOBS_TXT --gpu-rules train_network ...
    python tests/slurm/study_check.py compare LOCAL_DIR SLURM_DIR TARGET ...

Every check prints what it compared and exits non-zero with the differences on failure.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml

# The lines a cluster user edits, marked "<-- CHANGE" in profiles/slurm/config.yaml.
CHANGE_KEYS = ("slurm_partition", "slurm_account", "gpu_model")
# Columns/keys that measure time or the machine, not the result: excluded from comparisons.
RUNTIME_PATTERN = re.compile(
    r"second|seconds|time|runtime|duration|elapsed|device|resumed|_s$", re.I
)


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
) -> dict:
    """The profile with the three marked values replaced (exactly as a cluster user would) and,
    for a small test node, cpus_per_gpu / mem_mb capped at what the node has."""
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
    allowed_failed: int = 0,
) -> list[str]:
    """Problems with the scheduler's record: jobs not COMPLETED (beyond `allowed_failed`
    cancelled/failed ones, the fault test's), a GPU request by a rule outside `gpu_rules`, or a
    number of completed jobs holding one GPU of `gpu_model` other than `expect_gpu_jobs`.  Jobs
    of the training rules whose family needs no GPU (SVM, stimulus) request 0 GPUs."""
    problems = []
    n_gpu_jobs = 0
    not_completed = []
    for job in jobs:
        rule = job_rule(job)
        request = job_gpu_request(job)
        ident = f"job {job.get('JobId')} ({job.get('Comment', '?')})"
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
        if RUNTIME_PATTERN.search(str(column)):
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
            blank = {i for i, c in enumerate(cells) if c in runtime_columns}
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
    if local_set != slurm_set:
        problems.append(
            f"run files differ: only local {sorted(map(str, local_set - slurm_set))}, "
            f"only slurm {sorted(map(str, slurm_set - local_set))}"
        )
    n = 0
    for rel in sorted(local_set & slurm_set):
        a, b = local_dir / rel, slurm_dir / rel
        if rel.name == "metrics.json":
            n += 1
            ma, mb = json.loads(a.read_text()), json.loads(b.read_text())
            keys = {k for k in ma.keys() | mb.keys() if not RUNTIME_PATTERN.search(k)}
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
                if RUNTIME_PATTERN.search(str(c))
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
    g = sub.add_parser("gpu-record", help="check `scontrol show job --oneliner` output")
    g.add_argument("jobs_txt")
    g.add_argument("--gpu-rules", nargs="+", required=True)
    g.add_argument("--gpu-model", required=True)
    g.add_argument("--expect-gpu-jobs", type=int, required=True)
    g.add_argument("--allowed-failed", type=int, default=0)
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
    if args.command == "gpu-record":
        jobs = parse_scontrol_jobs(Path(args.jobs_txt).read_text())
        problems = check_gpu_record(jobs, args.gpu_rules, args.gpu_model, args.expect_gpu_jobs,
                                    args.allowed_failed)
        for job in jobs:
            print(
                f"  job {job.get('JobId')}: {job_rule(job):<22} {job.get('JobState'):<10} "
                f"cpus={job.get('NumCPUs')} gpu={job_gpu_request(job) or '-'}"
            )
        n_gpu = sum(f"gpu:{args.gpu_model}:1" in job_gpu_request(j) for j in jobs)
        print(f"scheduler record: {len(jobs)} jobs, {n_gpu} with one GPU "
              f"(expected {args.expect_gpu_jobs} completed)")
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
