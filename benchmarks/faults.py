"""Kill anywhere, same result (issue 18): SIGKILL the running workflow at random moments and show
that resuming it ends with exactly the outputs of an undisturbed run.

Steps, each in its own working directory under --workdir (the Snakefile of this repository run
with --snakefile/--directory, config.yaml layered with --configfile, targets before it):
  1. the undisturbed run: `snakemake --cores C TARGETS --configfile CONFIG`, its job timeline read
     from Snakemake's log (which rules run, how long each job takes);
  2. the disturbed run, in a fresh directory: start the same command; N times (seeded) wait for a
     job of a chosen stage to start, sleep a random fraction of that stage's undisturbed job
     duration, then SIGKILL the whole process tree (Snakemake and every job it started); then
     recover as a user would: the plain command again (Snakemake refuses: the directory is locked),
     `--unlock`, the plain command again (refused: incomplete files), and finally the command with
     `--rerun-incomplete`, which runs on and is the victim of the next kill (after the first kill
     the recovery goes straight to `--unlock` + `--rerun-incomplete`); the last one runs to the end;
  3. every result file of the two runs (all of results/ but logs, benchmark records and hidden
     temporaries) compared by value: CSVs cell by cell, JSON by value, .npy/.npz array by array,
     .mat variable by variable, .pt tensor by tensor, rendered tables cell by cell, PDFs without
     their creation date, anything else byte for byte; fields that measure the run (seconds per
     epoch, device, ...) left out by exact name (study_digest.TIMING_FIELDS).  Every difference
     is counted; the number must be 0;
  4. with --ci (or --resume-case), the resume case: one training fold trained again, with ten
     epochs, in two copies of the undisturbed run, one SIGKILLed as soon as its first checkpoint
     is on disk and recovered; the recovered job must log that it resumed from the checkpoint
     and write the undisturbed training's metrics.json (timing keys aside) and predictions.csv.
Printed: kills tried, the stages running at each kill, invocations needed, differences, and the
CPU time of both runs (the harness is a child subreaper, so the CPU of killed jobs is counted).

    .venv/bin/python benchmarks/faults.py --ci            # CI: 5 kills on the CI targets
    .venv/bin/python benchmarks/faults.py --kills 12 --seed 3 --targets all
    .venv/bin/python benchmarks/faults.py --clean-twice   # determinism: two undisturbed runs

Exit status 0 when every compared file is identical and every kill was recovered from.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import ctypes
import importlib.util
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# A subset of the tiny study that covers every stage the kills aim at (data generation, trial
# tables, cvxEDA decomposition batches, labels and folds, features, per-fold training, a table
# write) and fits the CI budget; `--targets all` runs the whole tiny study.
CI_TARGETS = ["results/tables/table1.csv", "results/tables/table3.csv"]
CI_CONFIGS = [REPO / "config" / "tiny.yaml", REPO / "benchmarks" / "faults.yaml"]
# Stages every plan tries to hit when the run has them (then random other stages).
PRIORITY_STAGES = ("decompose_batch", "train_fold", "train_folds", "table3", "table1")
# Columns / JSON keys / rendered-table headers that measure the run or the machine, not the
# result (benchmarks/study_digest.py: TIMING_FIELDS, TIMING_HEADERS), left out of the comparison
# by exact name (resumed_from_epoch: a training the kill interrupted records where it resumed;
# its results must still equal the undisturbed run's).
_spec = importlib.util.spec_from_file_location("study_digest", Path(__file__).with_name(
    "study_digest.py"))
study_digest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study_digest)
TIMING_FIELDS = study_digest.TIMING_FIELDS
TIMING_HEADERS = study_digest.TIMING_HEADERS
LOCKED = "Directory cannot be locked"
# What travels into the frozen copy of the workflow (everything but these names).
NOT_COPIED = (".git", ".venv", "results", ".snakemake", "tests", "__pycache__", "*.egg-info",
              ".pytest_cache", ".ruff_cache", ".gl", ".whl")
INCOMPLETE = "IncompleteFilesException"


# ----------------------------------------------------------------------------------------------
# Running Snakemake, reading its log live, killing its process tree


@dataclass
class Invocation:
    """One Snakemake call: command, outcome, job timeline, CPU seconds of its process tree."""

    args: list[str]
    log: Path
    returncode: int | None = None
    killed: bool = False
    wall_s: float = 0.0
    cpu_s: float = 0.0
    starts: list[tuple[float, str, int]] = field(default_factory=list)  # (t, rule, jobid)
    finishes: dict[int, float] = field(default_factory=dict)  # jobid -> t
    job_stats: dict[str, int] = field(default_factory=dict)  # rule -> jobs planned
    checkpoints: set[str] = field(default_factory=set)  # rules that are checkpoints
    running_at_kill: list[str] = field(default_factory=list)
    text: str = ""

    def running(self) -> list[str]:
        """Rules of the jobs started and not finished (so far)."""
        return [rule for _, rule, jid in self.starts if jid not in self.finishes]


class LogReader(threading.Thread):
    """Reads Snakemake's combined output line by line into an Invocation (timestamps: the
    harness's clock) and into the log file."""

    RULE = re.compile(r"^\s*(?:local)?(rule|checkpoint) (\S+):\s*$")
    JOBID = re.compile(r"^\s+jobid: (\d+)\s*$")
    FINISHED = re.compile(r"^Finished job(?:id)?:? (\d+)")
    STAT = re.compile(r"^(\S+)\s+(\d+)\s*$")

    def __init__(self, stream, inv: Invocation, t0: float):
        super().__init__(daemon=True)
        self.stream, self.inv, self.t0 = stream, inv, t0
        self.lines: list[str] = []

    def run(self) -> None:
        pending, in_stats = None, False
        with open(self.inv.log, "w") as out:
            for raw in iter(self.stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\n")
                now = time.monotonic() - self.t0
                out.write(line + "\n")
                self.lines.append(line)
                if line.startswith("Job stats:"):
                    in_stats = True
                elif in_stats:
                    match = self.STAT.match(line)
                    if line.startswith("total"):
                        in_stats = False
                    elif match:
                        self.inv.job_stats[match.group(1)] = int(match.group(2))
                if match := self.RULE.match(line):
                    pending = match.group(2)
                    if match.group(1) == "checkpoint":
                        self.inv.checkpoints.add(pending)
                elif pending and (match := self.JOBID.match(line)):
                    self.inv.starts.append((now, pending, int(match.group(1))))
                    pending = None
                elif match := self.FINISHED.match(line):
                    self.inv.finishes[int(match.group(1))] = now


def become_subreaper() -> bool:
    """Make orphaned descendants (jobs of a killed Snakemake) our children, so that reaping
    them adds their CPU time to RUSAGE_CHILDREN (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reap_all() -> None:
    """Kill and wait for every remaining descendant (orphans re-parented to us)."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child.kill()
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL Snakemake and everything it started: its process group (it was started in a
    new session), then any descendant that left the group."""
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        family = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for child in family:
        with contextlib.suppress(psutil.Error):
            child.kill()


@dataclass
class Workflow:
    """The workflow every run uses: a frozen copy of the repository (so that edits made to the
    checkout while the experiment runs cannot change its results) or the checkout itself."""

    root: Path = REPO

    @classmethod
    def frozen(cls, dest: Path) -> Workflow:
        """Copy the workflow (Snakefile, rules, scripts, config, src, ...) to `dest`."""
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(*NOT_COPIED))
        return cls(dest)

    def path(self, p: Path) -> Path:
        """`p` inside this copy when it lies in the repository, else unchanged."""
        p = Path(p).resolve()
        return self.root / p.relative_to(REPO) if p.is_relative_to(REPO) else p

    def env(self) -> dict:
        """The package of this copy first on the path (jobs import edaffect from it)."""
        path = os.pathsep.join(filter(None, [str(self.root / "src"), os.environ.get("PYTHONPATH")]))
        return dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=path)


WORKFLOW = Workflow()


def snakemake(workdir: Path, args: list[str], log: Path, trigger=None, timeout: float = 3600):
    """Run Snakemake in `workdir`; `trigger(inv, t)` returning True kills the process tree."""
    cmd = [SNAKEMAKE, "--snakefile", str(WORKFLOW.root / "Snakefile"), "--directory",
           str(workdir), *args]
    inv = Invocation(args=args, log=log)
    cpu0, t0 = children_cpu(), time.monotonic()
    env = WORKFLOW.env()
    proc = subprocess.Popen(
        cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, env=env,
    )
    reader = LogReader(proc.stdout, inv, t0)
    reader.start()
    try:
        while proc.poll() is None:
            now = time.monotonic() - t0
            if trigger is not None and trigger(inv, now):
                inv.running_at_kill = inv.running()
                kill_tree(proc)
                inv.killed = True
                break
            if now > timeout:
                raise TimeoutError(f"snakemake {' '.join(args)} ran over {timeout} s (log {log})")
            time.sleep(0.02)
    except BaseException:  # Ctrl-C, SIGTERM, timeout: leave no workflow running behind us
        kill_tree(proc)
        proc.wait()
        raise
    proc.wait()
    reader.join(timeout=30)
    reap_all()
    inv.returncode = proc.returncode
    inv.wall_s = time.monotonic() - t0
    inv.cpu_s = children_cpu() - cpu0
    inv.text = "\n".join(reader.lines)
    return inv


def base_args(targets: list[str], configfiles: list[Path], cores: int) -> list[str]:
    """The README's command: targets before --configfile."""
    return ["--cores", str(cores), *targets, "--configfile", *map(str, configfiles)]


def prepare(workdir: Path) -> None:
    """A fresh working directory with the repository's config.yaml (the Snakefile's configfile)."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    shutil.copy(WORKFLOW.root / "config.yaml", workdir / "config.yaml")


# ----------------------------------------------------------------------------------------------
# The undisturbed timeline and the kill plan


def stage_durations(inv: Invocation) -> dict[str, list[float]]:
    """Per rule, the durations of its jobs in a finished run."""
    out: dict[str, list[float]] = {}
    for t, rule, jid in inv.starts:
        if jid in inv.finishes:
            out.setdefault(rule, []).append(inv.finishes[jid] - t)
    return out


@dataclass
class Kill:
    """One planned kill: after the `nth` job of `stage` starts, wait `delay_s`, then SIGKILL."""

    stage: str
    nth: int
    delay_s: float
    fired: bool = False
    t: float = 0.0
    hit: list[str] = field(default_factory=list)


def plan_kills(durations: dict[str, list[float]], order: list[str], n: int, rng) -> list[Kill]:
    """n kills spread over the stages: the priority stages present, then random others, taken
    in the order the undisturbed run started them (so each resumed run still has them to do)."""
    stages = [s for s in order if s != "all"]
    chosen = [s for s in PRIORITY_STAGES if s in stages]
    others = [s for s in stages if s not in chosen]
    rng.shuffle(others)
    chosen = (chosen + others)[: max(n, 0)]
    while len(chosen) < n:  # more kills than stages: the heavy stages again
        chosen.append(max(stages, key=lambda s: sum(durations.get(s, [0]))))
    chosen.sort(key=order.index)
    kills = []
    for stage in chosen:
        jobs = durations.get(stage, [1.0])
        nth = rng.randint(1, min(len(jobs), 3))
        typical = float(np.median(jobs))
        # inside the job, allowing for jobs running faster than in the undisturbed run
        kills.append(Kill(stage, nth, rng.uniform(0.05, 0.7) * typical))
    return kills


def make_trigger(kill: Kill, dynamic: set[str] = frozenset(), checkpoints: set[str] = frozenset()):
    """Trigger for `snakemake()`: fires `delay_s` after the nth start of the stage's jobs (or
    of any job, when the stage has nothing left to do in this invocation).  A `dynamic` stage
    (one whose jobs Snakemake plans only after a checkpoint ran, so the job stats printed at
    the start do not list it) is waited for while one of the `checkpoints` is still to run."""

    def trigger(inv: Invocation, now: float) -> bool:
        if not inv.job_stats and not inv.starts:
            return False
        pending = kill.stage in dynamic and any(inv.job_stats.get(c) for c in checkpoints)
        stage = kill.stage if inv.job_stats.get(kill.stage) or pending else None
        starts = [t for t, rule, _ in inv.starts if stage is None or rule == stage]
        nth = min(kill.nth, inv.job_stats.get(kill.stage) or kill.nth) if stage else 1
        if len(starts) >= nth and now >= starts[nth - 1] + kill.delay_s:
            kill.fired, kill.t = True, now
            return True
        return False

    return trigger


# ----------------------------------------------------------------------------------------------
# Comparing two runs


def result_files(results: Path) -> list[str]:
    """Every result file under results/ (relative paths): all but the logs, Snakemake's
    benchmark records and the hidden temporaries a kill can leave beside a file it was writing
    (counted in recovery_evidence; no reader opens them)."""
    found = []
    for path in sorted(results.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = path.relative_to(results).as_posix()
        top = rel.split("/", 1)[0]
        if top in ("logs", "benchmarks") or path.suffix in (".log", ".tsv"):
            continue
        found.append(rel)
    return found


def _read_csv(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    """(leading '#' comment lines, header, rows) of a CSV (table files start with a comment)."""
    with open(path, newline="") as handle:
        lines = handle.read().splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    rows = list(csv.reader(lines[n:]))
    return lines[:n], (rows[0] if rows else []), rows[1:]


def compare_csv(a: Path, b: Path) -> str | None:
    """None when the two CSVs hold the same cells, TIMING_FIELDS columns left out; else what
    differs."""
    notes_a, head_a, rows_a = _read_csv(a)
    notes_b, head_b, rows_b = _read_csv(b)
    if notes_a != notes_b:
        return "comment lines differ"
    if head_a != head_b:
        return f"columns differ: {head_a[:6]} vs {head_b[:6]}"
    if len(rows_a) != len(rows_b):
        return f"{len(rows_a)} vs {len(rows_b)} rows"
    runtime = {i for i, name in enumerate(head_a) if name in TIMING_FIELDS}
    for r, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=True)):
        if len(ra) != len(rb):
            return f"row {r}: {len(ra)} vs {len(rb)} cells"
        for i, (ca, cb) in enumerate(zip(ra, rb, strict=True)):
            if i not in runtime and ca != cb:
                name = head_a[i] if i < len(head_a) else f"#{i}"
                return f"row {r} column {name!r}: {ca!r} vs {cb!r}"
    return None


def _strip_runtime(obj):
    """Parsed JSON (or a loaded checkpoint) without TIMING_FIELDS keys at any depth."""
    if isinstance(obj, dict):
        return {k: _strip_runtime(v) for k, v in obj.items() if str(k) not in TIMING_FIELDS}
    if isinstance(obj, list | tuple):
        return [_strip_runtime(v) for v in obj]
    return obj


def compare_json(a: Path, b: Path) -> str | None:
    ja, jb = (_strip_runtime(json.loads(p.read_text())) for p in (a, b))
    if ja != jb:
        keys = sorted(k for k in set(ja) | set(jb) if ja.get(k) != jb.get(k)) if isinstance(
            ja, dict) and isinstance(jb, dict) else []
        return f"values differ (keys {keys[:6]})"
    return None


def _compare_arrays(xa: np.ndarray, xb: np.ndarray) -> str | None:
    if xa.shape != xb.shape or xa.dtype != xb.dtype:
        return f"shape/dtype {xa.shape} {xa.dtype} vs {xb.shape} {xb.dtype}"
    same = np.array_equal(xa, xb, equal_nan=xa.dtype.kind in "fc")
    if not same:
        return f"{int(np.sum(xa != xb))} values differ"
    return None


def compare_npy(a: Path, b: Path) -> str | None:
    return _compare_arrays(np.load(a, allow_pickle=False), np.load(b, allow_pickle=False))


def compare_npz(a: Path, b: Path) -> str | None:
    """Array by array (decomposition batches and caches, raw EDA, frames)."""
    with np.load(a, allow_pickle=False) as fa, np.load(b, allow_pickle=False) as fb:
        if sorted(fa.files) != sorted(fb.files):
            return f"arrays differ: {sorted(fa.files)} vs {sorted(fb.files)}"
        for key in sorted(fa.files):
            if (why := _compare_arrays(fa[key], fb[key])) is not None:
                return f"array {key!r}: {why}"
    return None


def compare_mat(a: Path, b: Path) -> str | None:
    """MATLAB files variable by variable; the '__header__' (its "Created on" date) is metadata."""
    from scipy.io import loadmat

    ma, mb = (loadmat(p) for p in (a, b))
    keys_a = sorted(k for k in ma if k != "__header__")
    if keys_a != sorted(k for k in mb if k != "__header__"):
        return "variables differ"
    for key in keys_a:
        if key.startswith("__"):
            if ma[key] != mb[key]:
                return f"{key} differs"
        elif (why := _compare_values(ma[key], mb[key])) is not None:
            return f"variable {key!r}: {why}"
    return None


def _compare_values(x, y, where: str = "") -> str | None:
    """Nested containers of arrays, tensors and scalars compared by value."""
    if type(x) is not type(y):
        return f"{where}: types {type(x).__name__} vs {type(y).__name__}"
    if isinstance(x, dict):
        if list(x) != list(y):
            return f"{where}: keys differ"
        for k in x:
            if (why := _compare_values(x[k], y[k], f"{where}/{k}")) is not None:
                return why
        return None
    if isinstance(x, list | tuple):
        if len(x) != len(y):
            return f"{where}: {len(x)} vs {len(y)} items"
        for i, (p, q) in enumerate(zip(x, y, strict=True)):
            if (why := _compare_values(p, q, f"{where}[{i}]")) is not None:
                return why
        return None
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return _compare_values(list(x.ravel()), list(y.ravel()), where) if \
                x.shape == y.shape else f"{where}: shapes {x.shape} vs {y.shape}"
        why = _compare_arrays(x, y)
        return None if why is None else f"{where}: {why}"
    if type(x).__module__ == "torch" and hasattr(x, "detach"):
        why = _compare_arrays(x.detach().cpu().numpy(), y.detach().cpu().numpy())
        return None if why is None else f"{where}: {why}"
    if hasattr(x, "__dict__") and not isinstance(x, type):
        return _compare_values(_strip_runtime(vars(x)), _strip_runtime(vars(y)), where)
    if isinstance(x, float) and math.isnan(x) and math.isnan(y):
        return None
    return None if x == y else f"{where}: {x!r} vs {y!r}"


def compare_torch(a: Path, b: Path) -> str | None:
    """Checkpoints and models (state dicts, optimizer states, pickled baselines) by value."""
    import torch

    xa, xb = (_strip_runtime(torch.load(p, map_location="cpu", weights_only=False))
              for p in (a, b))
    return _compare_values(xa, xb)


def _table_lines(text: str, suffix: str) -> list[str]:
    """A rendered table's lines with the cells under a TIMING_HEADERS header blanked (markdown
    pipes, LaTeX '&' rows, HTML <tr> rows); other lines unchanged."""
    if suffix == ".html":
        rows = re.split(r"(?=<tr>)", text)
        split = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S) for row in rows]
    else:
        rows = text.splitlines()
        sep = "|" if suffix == ".md" else "&"
        split = [[c.strip() for c in row.strip().strip("|").removesuffix(r"\\").split(sep)]
                 if sep in row else [] for row in rows]
    blank: set[int] = set()
    out = []
    for row, cells in zip(rows, split, strict=True):
        if not cells:
            out.append(row)
            continue
        names = [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
        if not blank and any(n in TIMING_HEADERS for n in names):
            blank = {i for i, n in enumerate(names) if n in TIMING_HEADERS}
            out.append(row)
            continue
        out.append("\x1f".join("" if i in blank else c.strip() for i, c in enumerate(cells)))
    return out


def compare_rendered(a: Path, b: Path) -> str | None:
    """Markdown / LaTeX / HTML tables line by line, TIMING_HEADERS columns left out."""
    la, lb = (_table_lines(p.read_text(), p.suffix) for p in (a, b))
    if len(la) != len(lb):
        return f"{len(la)} vs {len(lb)} lines"
    for n, (x, y) in enumerate(zip(la, lb, strict=True), start=1):
        if x != y:
            return f"line {n} differs"
    return None


PDF_DATE = re.compile(rb"/CreationDate \(D:[0-9+\-Z']*\)")


def compare_pdf(a: Path, b: Path) -> str | None:
    """Figures: the bytes, the /CreationDate entry (when the PDF was written) left out."""
    xa, xb = (PDF_DATE.sub(b"", p.read_bytes()) for p in (a, b))
    return None if xa == xb else "bytes differ (creation date aside)"


COMPARERS = {".csv": compare_csv, ".json": compare_json, ".npy": compare_npy,
             ".npz": compare_npz, ".mat": compare_mat, ".pt": compare_torch,
             ".md": compare_rendered, ".tex": compare_rendered, ".html": compare_rendered,
             ".pdf": compare_pdf}


def compare_file(a: Path, b: Path) -> str | None:
    """None when two result files hold the same values (by kind: CSV cells, JSON values, arrays,
    MATLAB variables, tensors, table cells); other kinds byte for byte."""
    if (comparer := COMPARERS.get(a.suffix)) is not None:
        return comparer(a, b)
    return None if a.read_bytes() == b.read_bytes() else "bytes differ"


def recovery_evidence(workdir: Path) -> dict:
    """What the rule logs of a finished run say was reused after the kills: trainings resumed
    from a checkpoint, trials taken from the decomposition cache, hidden temporaries left."""
    logs = workdir / "results" / "logs"
    text = "\n".join(p.read_text(errors="replace") for p in logs.rglob("*.log")) \
        if logs.exists() else ""
    return {
        "trainings_resumed": len(re.findall(r"resuming from \S+ after epoch \d+", text)),
        "trials_from_cache": sum(int(n) for n in re.findall(r"n_cached=(\d+)", text)),
        "temporaries_left": sum(1 for p in (workdir / "results").rglob(".*.tmp")),
    }


def compare_runs(ref: Path, new: Path) -> dict:
    """Every result file of `ref`/results against `new`/results by value (and missing ones)."""
    files_a, files_b = result_files(ref / "results"), result_files(new / "results")
    diffs = {}
    for rel in sorted(set(files_a) | set(files_b)):
        a, b = ref / "results" / rel, new / "results" / rel
        if not (a.exists() and b.exists()):
            diffs[rel] = "missing in " + ("the undisturbed run" if b.exists() else "the other run")
        elif (why := compare_file(a, b)) is not None:
            diffs[rel] = why
    return {"compared": len(set(files_a) | set(files_b)), "differences": diffs}


# ----------------------------------------------------------------------------------------------
# The resume case: a training killed after its first checkpoint resumes from it

# One fold of the CI study's RTCAG on DEAP (benchmarks/faults.yaml), trained again in a copy of
# the undisturbed run with more epochs: a SIGKILL as soon as its first checkpoint is on disk
# lands mid-training, whatever the machine's speed (the tiny folds of the random kills finish
# within a second, so none of them kills a training that then resumes).
RESUME_TARGET = "results/runs/r_e/deap/valence/fold0/metrics.json"
RESUME_OVERLAY = "training: {fold_mode: per_fold, epochs: 10, checkpoint_every: 1}\n"
RESUMED = re.compile(r"resuming from \S+ after epoch (\d+)")


def copy_run(src: Path, dest: Path) -> None:
    """A copy of a finished working directory (results and Snakemake's metadata, times kept)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("locks", "incomplete", "log"))


def resume_case(ref_dir: Path, root: Path, configfiles: list[Path], cores: int,
                logs: Path) -> dict:
    """Train RESUME_TARGET's fold twice from copies of the undisturbed run: once undisturbed,
    once SIGKILLed (Snakemake and the job) when its first checkpoint appears, then recovered
    (`--unlock`, `--rerun-incomplete`).  The recovered job must log that it resumed from the
    checkpoint, and its metrics.json (timing keys left out) and predictions.csv must equal the
    undisturbed training's byte for byte."""
    overlay = root / "resume.yaml"
    overlay.write_text(RESUME_OVERLAY)
    base = base_args([RESUME_TARGET], [*configfiles, overlay], cores)
    run_dir = Path(RESUME_TARGET).parent
    checkpoint = run_dir / "checkpoint" / "last.pt"
    t0, out = time.monotonic(), {"target": RESUME_TARGET, "problems": []}
    if not (ref_dir / run_dir.parent).is_dir():
        out["problems"].append(f"the study has no {run_dir.parent} (benchmarks/faults.yaml)")
        return out
    clean, killed = root / "resume_clean", root / "resume_killed"
    for d in (clean, killed):
        copy_run(ref_dir, d)
    first = snakemake(clean, base, logs / "resume-clean.log")
    # one per-fold training job: rule train_fold, or train_fold_kept where the experiment is one
    # of training.kept_models (r_e on DEAP by default; same rule, model.pt kept)
    trainings = sum(first.job_stats.get(r, 0) for r in ("train_fold", "train_fold_kept"))
    if first.returncode != 0 or trainings != 1:
        out["problems"].append(f"the undisturbed training did not run as one train_fold job "
                               f"(exit {first.returncode}, jobs {first.job_stats}); {first.log}")
        return out

    def at_first_checkpoint(inv: Invocation, now: float) -> bool:
        return (killed / checkpoint).exists()

    calls = [snakemake(killed, base, logs / "resume-kill.log", at_first_checkpoint)]
    if not calls[0].killed:
        out["problems"].append(f"the training finished before its first checkpoint was seen; "
                               f"{calls[0].log}")
        return out
    saved = torch_checkpoint_epoch(killed / checkpoint)
    calls += recover(killed, base, logs, "resume", probe=False, trigger=None)
    rule_log = killed / "results/logs/train_fold/r_e/deap/valence/fold0.log"
    text = rule_log.read_text(errors="replace") if rule_log.exists() else ""
    match = RESUMED.search(text)
    metrics = killed / RESUME_TARGET
    resumed = json.loads(metrics.read_text()).get("resumed_from_epoch") if metrics.exists() \
        else None
    out.update({
        "epochs": 10, "killed_with_checkpoint_of_epoch": saved,
        "log_says_resumed_after_epoch": int(match.group(1)) if match else None,
        "resumed_from_epoch": resumed, "calls": len(calls) + 1,
        "cpu_s": round(first.cpu_s + sum(c.cpu_s for c in calls), 1),
    })
    if calls[-1].returncode != 0:
        out["problems"].append(f"the recovered training failed; {calls[-1].log}")
    if not match or not resumed:
        out["problems"].append(f"the recovered training did not resume from its checkpoint "
                               f"(resumed_from_epoch {resumed!r}; {rule_log})")
    for name in ("metrics.json", "predictions.csv"):
        a, b = clean / run_dir / name, killed / run_dir / name
        if not (a.exists() and b.exists()):
            out["problems"].append(f"{run_dir / name} missing")
        elif name == "metrics.json":
            ma, mb = (json.loads(x.read_text()) for x in (a, b))
            skip = {"train_seconds", "seconds_per_epoch", "resumed_from_epoch"}
            if {k: v for k, v in ma.items() if k not in skip} != \
                    {k: v for k, v in mb.items() if k not in skip}:
                out["problems"].append(f"{run_dir / name}: differs from the undisturbed training")
        elif a.read_bytes() != b.read_bytes():
            out["problems"].append(f"{run_dir / name}: bytes differ")
    out["wall_s"] = round(time.monotonic() - t0, 1)
    return out


def torch_checkpoint_epoch(path: Path) -> int | None:
    """The epoch a training checkpoint holds (None when it cannot be read)."""
    try:
        import torch

        return int(torch.load(path, map_location="cpu", weights_only=False)["state"]["epoch"])
    except Exception:  # noqa: BLE001 - report only
        return None


# ----------------------------------------------------------------------------------------------
# The experiment


def recover(workdir: Path, base: list[str], logs: Path, tag: str, probe: bool, trigger):
    """Rerun after a kill as a user would; returns the invocations (the last one ran on).

    probe: start from the plain command and add what Snakemake's refusals ask for
    (`--rerun-incomplete` for IncompleteFilesException, an `--unlock` call for the stale lock);
    otherwise go straight to `--unlock` + `--rerun-incomplete`."""
    calls, flags = [], ([] if probe else ["--rerun-incomplete"])
    if not probe:
        calls.append(snakemake(workdir, ["--unlock", *base], logs / f"{tag}-unlock.log"))
    for attempt in range(4):
        name = "ri" if flags else "plain"
        calls.append(snakemake(workdir, [*flags, *base], logs / f"{tag}-{name}{attempt}.log",
                               trigger))
        last = calls[-1]
        if last.killed or last.returncode == 0:
            return calls
        if INCOMPLETE in last.text and not flags:
            flags = ["--rerun-incomplete"]
        elif LOCKED in last.text:
            calls.append(snakemake(workdir, ["--unlock", *base], logs / f"{tag}-unlock.log"))
        else:
            break
    return calls


def undisturbed(workdir: Path, base: list[str], logs: Path, name: str, reuse: bool = False):
    """The undisturbed run (or, with `reuse`, the one a previous call left in `workdir` for
    the same command: its timeline is kept in `workdir`/timeline.json)."""
    saved = workdir / "timeline.json"
    if reuse and saved.exists() and json.loads(saved.read_text())["args"] == base:
        data = json.loads(saved.read_text())
        inv = Invocation(args=base, log=logs / f"{name}.log", returncode=0,
                         wall_s=data["wall_s"], cpu_s=data["cpu_s"])
        inv.starts = [tuple(x) for x in data["starts"]]
        inv.finishes = {int(k): v for k, v in data["finishes"].items()}
        inv.job_stats, inv.checkpoints = data["job_stats"], set(data["checkpoints"])
        return inv
    prepare(workdir)
    inv = snakemake(workdir, base, logs / f"{name}.log")
    if inv.returncode != 0:
        sys.exit(f"the undisturbed run failed (exit {inv.returncode}); log {inv.log}")
    saved.write_text(json.dumps({"args": base, "wall_s": inv.wall_s, "cpu_s": inv.cpu_s,
                                 "starts": inv.starts, "finishes": inv.finishes,
                                 "job_stats": inv.job_stats,
                                 "checkpoints": sorted(inv.checkpoints)}))
    return inv


def disturbed(workdir: Path, base: list[str], logs: Path, kills: list[Kill], ref: Invocation):
    """Start the run, kill it as planned, recover after each kill, run it to the end."""
    dynamic = {rule for _, rule, _ in ref.starts} - set(ref.job_stats)

    def make(kill: Kill):
        return make_trigger(kill, dynamic, ref.checkpoints)

    prepare(workdir)
    calls = [snakemake(workdir, base, logs / "kill0-start.log", make(kills[0]))]
    refusals = {"locked": 0, "incomplete": 0}
    for i, kill in enumerate(kills):
        if not calls[-1].killed:
            break  # the run finished before this kill could fire
        kill.hit = calls[-1].running_at_kill
        nxt = make(kills[i + 1]) if i + 1 < len(kills) else None
        new = recover(workdir, base, logs, f"kill{i + 1}", probe=(i == 0), trigger=nxt)
        refusals["locked"] += sum(LOCKED in c.text for c in new)
        refusals["incomplete"] += sum(INCOMPLETE in c.text for c in new)
        calls.extend(new)
    last = calls[-1]
    if last.killed or last.returncode != 0:
        sys.exit(f"the disturbed run did not finish (exit {last.returncode}); log {last.log}")
    return {"calls": calls, "refusals": refusals}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="+", default=None,
                        help="config files layered over config.yaml (default: config/tiny.yaml, "
                        "plus benchmarks/faults.yaml with the default targets)")
    parser.add_argument("--targets", nargs="+", default=None,
                        help="Snakemake targets (default: the CI subset, Tables 1 and 3; "
                        "'all' = the whole study)")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", default=None, help="default: a new temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the working directories")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the undisturbed run a previous call left in --workdir")
    parser.add_argument("--ci", action="store_true",
                        help="CI mode: at least 5 kills, and the resume case")
    parser.add_argument("--resume-case", action="store_true",
                        help="also kill one training after its first checkpoint (CI: on)")
    parser.add_argument("--clean-twice", action="store_true",
                        help="no kills: two undisturbed runs, compared (determinism)")
    parser.add_argument("--json", default=None, help="also write the report as JSON here")
    parser.add_argument("--compare", nargs=2, metavar=("DIR_A", "DIR_B"),
                        help="only compare the results/ of two working directories")
    parser.add_argument("--live", action="store_true",
                        help="run the checkout itself, not a frozen copy of it")
    args = parser.parse_args(argv)
    if args.ci:
        args.kills = max(args.kills, 5)
    if args.compare:
        result = compare_runs(Path(args.compare[0]), Path(args.compare[1]))
        print(f"compared files: {result['compared']}; differences: {len(result['differences'])}")
        for rel, why in result["differences"].items():
            print(f"  DIFFERENT {rel}: {why}")
        return 1 if result["differences"] else 0
    targets = args.targets or CI_TARGETS
    if args.configfile:
        configfiles = [Path(c).resolve() for c in args.configfile]
    else:
        configfiles = CI_CONFIGS if args.targets is None else CI_CONFIGS[:1]
    root = Path(args.workdir or tempfile.mkdtemp(prefix="edaffect-faults-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    reaper = become_subreaper()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the workflow is killed too
    global WORKFLOW
    if not args.live:  # --reuse keeps the frozen copy its undisturbed run was made with
        frozen = root / "workflow"
        WORKFLOW = Workflow(frozen) if args.reuse and frozen.exists() else \
            Workflow.frozen(frozen)
        configfiles = [WORKFLOW.path(c) for c in configfiles]
    base = base_args(targets, configfiles, args.cores)
    print(f"fault run in {root}: targets {' '.join(targets)}, configs "
          f"{' '.join(map(str, configfiles))}", flush=True)

    start = time.monotonic()
    ref = undisturbed(root / "undisturbed", base, logs, "undisturbed", args.reuse)
    durations = stage_durations(ref)
    order = list(dict.fromkeys(rule for _, rule, _ in ref.starts))
    print(f"undisturbed: {ref.wall_s:.1f} s wall, {ref.cpu_s:.1f} s CPU, {len(ref.starts)} jobs "
          f"of {len(order)} rules", flush=True)
    report: dict = {"targets": targets, "configs": list(map(str, configfiles)), "seed": args.seed,
                    "cores": args.cores, "subreaper": reaper,
                    "undisturbed": {"wall_s": ref.wall_s, "cpu_s": ref.cpu_s,
                                    "jobs": len(ref.starts), "rules": order}}
    if args.clean_twice:
        again = undisturbed(root / "undisturbed2", base, logs, "undisturbed2")
        result = compare_runs(root / "undisturbed", root / "undisturbed2")
        report["second"] = {"wall_s": again.wall_s, "cpu_s": again.cpu_s}
        tables = sorted((root / "undisturbed/results/tables").glob("*.csv"))
        report["tables_byte_identical"] = [
            t.name for t in tables
            if (root / "undisturbed2/results/tables" / t.name).exists()
            and t.read_bytes() == (root / "undisturbed2/results/tables" / t.name).read_bytes()
        ]
        report["tables"] = [t.name for t in tables]
    else:
        kills = plan_kills(durations, order, args.kills, random.Random(args.seed))
        print("kill plan: " + "; ".join(f"{k.stage} #{k.nth} + {k.delay_s:.1f} s" for k in kills),
              flush=True)
        outcome = disturbed(root / "disturbed", base, logs, kills, ref)
        calls = outcome["calls"]
        result = compare_runs(root / "undisturbed", root / "disturbed")
        if args.ci or args.resume_case:  # needs the RTCAG on DEAP of benchmarks/faults.yaml
            report["resume"] = resume_case(root / "undisturbed", root, configfiles, args.cores,
                                           logs)
        cpu = sum(c.cpu_s for c in calls)
        fired = [k for k in kills if k.fired]
        report.update({
            "kills_planned": len(kills),
            "kills": [{"stage": k.stage, "nth": k.nth, "delay_s": round(k.delay_s, 2),
                       "fired": k.fired, "t_s": round(k.t, 2), "running": k.hit}
                      for k in kills],
            "kills_fired": len(fired),
            "stages_hit": sorted({s for k in fired for s in k.hit}),
            "invocations": [{"args": c.args[0] if c.args[0] in ("--unlock", "--rerun-incomplete")
                             else "plain",
                             "killed": c.killed, "exit": c.returncode,
                             "wall_s": round(c.wall_s, 1), "cpu_s": round(c.cpu_s, 1)}
                            for c in calls],
            "reruns": len(calls) - 1,
            "evidence": recovery_evidence(root / "disturbed"),
            "refusals": outcome["refusals"],
            "disturbed": {"wall_s": sum(c.wall_s for c in calls), "cpu_s": cpu},
            "extra_cpu_s": cpu - ref.cpu_s,
            "extra_cpu_pct": 100 * (cpu - ref.cpu_s) / ref.cpu_s if ref.cpu_s else math.nan,
        })
    report.update({"compared_files": result["compared"],
                   "differences": result["differences"],
                   "total_wall_s": time.monotonic() - start})
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if not args.keep and not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    ok = not report["differences"] and (args.clean_twice or report["kills_fired"] >= args.kills)
    if "resume" in report:
        ok = ok and not report["resume"]["problems"]
    return 0 if ok else 1


def print_report(r: dict) -> None:
    print("\n== fault run report ==")
    u = r["undisturbed"]
    print(f"undisturbed run: {u['wall_s']:.1f} s wall, {u['cpu_s']:.1f} s CPU, {u['jobs']} jobs")
    if "kills" in r:
        print(f"kills tried: {r['kills_fired']} of {r['kills_planned']} planned")
        for i, k in enumerate(r["kills"], 1):
            state = f"at {k['t_s']:.1f} s, running {', '.join(k['running']) or 'no job'}" \
                if k["fired"] else "not fired (run finished first)"
            print(f"  kill {i}: aimed at {k['stage']} (job #{k['nth']} + {k['delay_s']} s): "
                  f"{state}")
        print(f"stages hit: {', '.join(r['stages_hit'])}")
        e = r["evidence"]
        print(f"recovered work: {e['trainings_resumed']} trainings resumed from a checkpoint, "
              f"{e['trials_from_cache']} trials from the decomposition cache; "
              f"{e['temporaries_left']} hidden temporary files left by kills")
        print(f"reruns: {r['reruns']} invocations after the first "
              f"(refused: {r['refusals']['locked']} locked, "
              f"{r['refusals']['incomplete']} incomplete)")
        d = r["disturbed"]
        print(f"disturbed run: {d['wall_s']:.1f} s wall, {d['cpu_s']:.1f} s CPU; extra CPU "
              f"{r['extra_cpu_s']:.1f} s ({r['extra_cpu_pct']:.0f}%)")
    else:
        print(f"second undisturbed run: {r['second']['wall_s']:.1f} s wall, "
              f"{r['second']['cpu_s']:.1f} s CPU; tables byte-identical: "
              f"{len(r['tables_byte_identical'])} of {len(r['tables'])}")
    if "resume" in r:
        c = r["resume"]
        print(f"resume case ({c['target']}, {c.get('epochs')} epochs): SIGKILL with the "
              f"checkpoint of epoch {c.get('killed_with_checkpoint_of_epoch')} on disk; the "
              f"rerun resumed from epoch {c.get('resumed_from_epoch')} (log: after epoch "
              f"{c.get('log_says_resumed_after_epoch')}); metrics.json and predictions.csv "
              f"{'equal the undisturbed training' if not c['problems'] else 'PROBLEMS'}; "
              f"{c.get('calls')} Snakemake calls, {c.get('cpu_s')} s CPU, {c.get('wall_s')} s")
        for problem in c["problems"]:
            print(f"  RESUME PROBLEM: {problem}")
    print(f"compared files (every result file, by value): {r['compared_files']}; "
          f"differences: {len(r['differences'])}")
    for rel, why in r["differences"].items():
        print(f"  DIFFERENT {rel}: {why}")
    print(f"fault run total: {r['total_wall_s']:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
