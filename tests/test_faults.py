"""The kill-test harness (benchmarks/faults.py) on its own: it reads Snakemake's log, kills a
whole process tree, and its comparison ignores runtime columns but nothing else.  The kill test
itself runs the workflow for minutes, so CI calls it directly:
`.venv/bin/python benchmarks/faults.py --ci`."""

from __future__ import annotations

import importlib.util
import io
import json
import random
import subprocess
import sys
import textwrap
import time

import numpy as np
import psutil
import pytest


@pytest.fixture(scope="module")
def faults(repo_root):
    spec = importlib.util.spec_from_file_location("faults", repo_root / "benchmarks" / "faults.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["faults"] = module
    spec.loader.exec_module(module)
    return module


SNAKEMAKE_LOG = """\
Building DAG of jobs...
Job stats:
job                    count
-------------------  -------
synthesize_dataset         2
train_folds                6
total                      8

Select jobs to execute...
Execute 2 jobs...

[Fri Nov 27 16:11:47 2026]
localrule synthesize_dataset:
    output: results/synthetic/amigos/ground_truth.csv
    jobid: 6
    wildcards: dataset=amigos
[Fri Nov 27 16:11:47 2026]
rule train_folds:
    input: results/deap/splits.csv
    jobid: 12
[Fri Nov 27 16:11:56 2026]
Finished jobid: 6 (Rule: synthesize_dataset)
1 of 8 steps (12%) done
[Fri Nov 27 16:11:58 2026]
localcheckpoint trial_table:
    jobid: 1
"""


def test_log_reader_follows_jobs(faults, tmp_path):
    inv = faults.Invocation(args=[], log=tmp_path / "log")
    reader = faults.LogReader(io.BytesIO(SNAKEMAKE_LOG.encode()), inv, time.monotonic())
    reader.run()
    assert inv.job_stats == {"synthesize_dataset": 2, "train_folds": 6}
    assert [(rule, jid) for _, rule, jid in inv.starts] == [
        ("synthesize_dataset", 6), ("train_folds", 12), ("trial_table", 1)]
    assert list(inv.finishes) == [6]
    assert inv.running() == ["train_folds", "trial_table"]
    assert inv.checkpoints == {"trial_table"}
    assert (tmp_path / "log").read_text() == SNAKEMAKE_LOG


TREE = textwrap.dedent("""
    import subprocess, sys, time
    # a 'job' that starts its own worker, like a script rule with a process pool
    child = subprocess.Popen([sys.executable, "-c",
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(600)']); time.sleep(600)"])
    print(child.pid, flush=True)
    time.sleep(600)
""")


def test_kill_tree_leaves_no_process(faults, tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    proc.stdout.readline()
    deadline = time.monotonic() + 60
    while len(psutil.Process(proc.pid).children(recursive=True)) < 2:
        assert time.monotonic() < deadline, "the process tree did not start"
        time.sleep(0.05)
    family = [proc.pid] + [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    faults.kill_tree(proc)
    proc.wait()
    gone, alive = psutil.wait_procs([psutil.Process(p) for p in family[1:] if
                                     psutil.pid_exists(p)], timeout=10)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert proc.returncode == -9 and alive == []


def test_comparison_ignores_runtime_columns_only(faults, tmp_path):
    a, b = tmp_path / "a" / "results", tmp_path / "b" / "results"
    for root, seconds, acc in ((a, "1.25", "0.6875"), (b, "9.5", "0.6875")):
        (root / "tables").mkdir(parents=True)
        (root / "runs" / "x").mkdir(parents=True)
        (root / "tables" / "table3.csv").write_text(  # tables start with a comment line
            f"# Table 3, config sha 1a2b\nmethod,accuracy,valence_seconds_per_epoch_mean\n"
            f"RTCAG,{acc},{seconds}\n")
        (root / "runs" / "x" / "metrics.json").write_text(json.dumps(
            {"accuracy": float(acc), "train_seconds": float(seconds), "epochs": 3}))
        np.save(root / "inputs.npy", np.arange(6.0))
        (root / "logs").mkdir()
        (root / "logs" / "x.log").write_text(seconds)  # logs are not compared
    result = faults.compare_runs(a.parent, b.parent)
    assert result["compared"] == 3 and result["differences"] == {}
    # one changed value in each kind of file is found
    (b / "tables" / "table3.csv").write_text(
        "# Table 3, config sha 1a2b\nmethod,accuracy,valence_seconds_per_epoch_mean\n"
        "RTCAG,0.6876,1\n")
    (b / "runs" / "x" / "metrics.json").write_text(json.dumps(
        {"accuracy": 0.6875, "train_seconds": 1.0, "epochs": 2}))
    np.save(b / "inputs.npy", np.arange(6.0) + np.eye(1, 6, 3).ravel())
    (a / "labels.csv").write_text("subject,label\n1,0\n")
    diffs = faults.compare_runs(a.parent, b.parent)["differences"]
    assert diffs == {
        "inputs.npy": "1 values differ",
        "labels.csv": "missing in the other run",
        "runs/x/metrics.json": "values differ (keys ['epochs'])",
        "tables/table3.csv": "row 0 column 'accuracy': '0.6875' vs '0.6876'",
    }


def test_trigger_waits_for_a_stage_planned_after_a_checkpoint(faults, tmp_path):
    """decompose_batch jobs appear only once the trial_table checkpoint ran: a kill aimed at
    them waits for them instead of firing on the first job."""
    kill = faults.Kill("decompose_batch", nth=1, delay_s=2.0)
    trigger = faults.make_trigger(kill, {"decompose_batch"}, {"trial_table"})
    inv = faults.Invocation(args=[], log=tmp_path / "log")
    inv.job_stats = {"synthesize_dataset": 1, "trial_table": 1, "labels": 1}
    inv.starts = [(1.0, "synthesize_dataset", 3)]
    assert not trigger(inv, 10.0)
    inv.starts.append((12.0, "decompose_batch", 9))
    assert not trigger(inv, 13.0) and trigger(inv, 14.5) and kill.fired
    # with the checkpoint done and the stage not planned, the first job is the mark
    other = faults.Kill("decompose_batch", nth=1, delay_s=2.0)
    inv.job_stats = {"labels": 1}
    inv.starts = [(1.0, "labels", 3)]
    assert faults.make_trigger(other, {"decompose_batch"}, {"trial_table"})(inv, 3.5)


def test_kill_plan_covers_the_priority_stages(faults):
    durations = {"synthesize_dataset": [5.0], "trial_table": [3.0, 4.0],
                 "decompose_batch": [2.0] * 6, "labels": [1.0], "train_folds": [30.0] * 6,
                 "table3": [2.0], "table1": [1.5]}
    order = list(durations) + ["all"]
    plans = [faults.plan_kills(durations, order, 5, random.Random(seed)) for seed in (0, 0, 1)]
    assert [(k.stage, k.nth, k.delay_s) for k in plans[0]] == \
        [(k.stage, k.nth, k.delay_s) for k in plans[1]]  # seeded
    stages = [k.stage for k in plans[0]]
    assert {"decompose_batch", "train_folds", "table3", "table1"} <= set(stages)
    assert stages == sorted(stages, key=order.index)  # in the order the run reaches them
    for kill in plans[0]:
        assert 0 < kill.delay_s < max(durations[kill.stage])
    assert len(faults.plan_kills(durations, order, 12, random.Random(0))) == 12


@pytest.mark.slow
def test_second_concurrent_run_is_refused_and_corrupts_nothing(faults, repo_root, tmp_path):
    """Two `snakemake` runs of the same targets in one directory: the second refuses with
    Snakemake's lock message and writes nothing; the first (paused meanwhile, so the overlap is
    certain) then finishes, and a third run finds nothing to do."""
    import os
    import signal

    faults.prepare(tmp_path)
    args = faults.base_args(["results/deap/trials.csv"], [repo_root / "config" / "tiny.yaml"], 1)
    cmd = [faults.SNAKEMAKE, "--snakefile", str(repo_root / "Snakefile"),
           "--directory", str(tmp_path), *args]
    first = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
    seen = []
    for line in first.stdout:  # the first run holds the lock once it starts a job
        seen.append(line)
        if line.strip().startswith("jobid:"):
            break
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        before = {p: p.stat().st_mtime_ns for p in (tmp_path / "results").rglob("*")}
        second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        after = {p: p.stat().st_mtime_ns for p in (tmp_path / "results").rglob("*")}
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    rest = first.stdout.read()
    assert first.wait(timeout=600) == 0, "".join(seen) + rest
    text = second.stdout + second.stderr
    assert second.returncode != 0 and faults.LOCKED in text and "--unlock" in text, text[-2000:]
    assert after == before  # the refused run touched no file
    third = subprocess.run([*cmd, "--dry-run"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert third.returncode == 0 and "Nothing to be done" in third.stdout + third.stderr
    assert (tmp_path / "results" / "deap" / "trials.csv").stat().st_size > 0


def test_resume_case_trains_a_fold_of_the_ci_study(faults, repo_root):
    """The resume case retrains one fold of a run that benchmarks/faults.yaml puts in the CI
    study, with enough epochs that a kill after the first checkpoint lands mid-training."""
    import yaml

    experiment, dataset = faults.RESUME_TARGET.split("/")[2:4]
    rows = yaml.safe_load((repo_root / "benchmarks" / "faults.yaml").read_text())["tables"]
    assert {"experiment": experiment, "dataset": dataset}.items() <= next(
        row for row in rows["table3"] if row["experiment"] == experiment).items()
    overlay = yaml.safe_load(faults.RESUME_OVERLAY)["training"]
    assert overlay["checkpoint_every"] == 1 and overlay["epochs"] >= 5
    assert overlay["fold_mode"] == "per_fold"
    match = faults.RESUMED.search("INFO resuming from results/x/checkpoint/last.pt after epoch 3")
    assert match and match.group(1) == "3"


def test_a_resumed_training_compares_equal_but_a_changed_result_does_not(faults, tmp_path):
    """A kill can interrupt a training that then resumes from its checkpoint: its metrics.json
    records resumed_from_epoch, which is how the run was produced, not its result."""
    undisturbed = {"accuracy": 0.75, "chosen_epoch": 1, "resumed_from_epoch": 0,
                   "train_seconds": 1.0}
    resumed = {**undisturbed, "resumed_from_epoch": 1, "train_seconds": 0.2}
    changed = {**undisturbed, "accuracy": 0.5}
    paths = {}
    for name, metrics in (("a", undisturbed), ("b", resumed), ("c", changed)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(metrics))
    assert faults.compare_json(paths["a"], paths["b"]) is None
    assert "accuracy" in faults.compare_json(paths["a"], paths["c"])


def test_every_result_file_is_compared_by_value(faults, tmp_path):
    """Archives array by array, MATLAB files without their creation header, checkpoints tensor
    by tensor, rendered tables without the named timing columns, PDFs without their creation
    date; a real change in any of them is one counted difference, and a result column that only
    looks like a time (lag_s) is compared."""
    import scipy.io
    import torch

    a, b = tmp_path / "a" / "results", tmp_path / "b" / "results"
    md = "| Method | V acc | s/epoch (V) | Device |\n|:--|:--|:--|:--|\n| R_f | 61.0 | {} | {} |\n"
    for root, seconds, device in ((a, "0.51", "cpu"), (b, "7.25", "cuda")):
        (root / "d" / "decomposed").mkdir(parents=True)
        (root / "tables").mkdir()
        (root / "figures").mkdir()
        np.savez(root / "d" / "decomposed" / "batch0.npz", inputs=np.ones((2, 3, 4)),
                 trial_id=np.array(["t1", "t2"]))
        scipy.io.savemat(root / "d" / "P01.mat", {"x": np.arange(4.0)})
        torch.save({"state": {"w": torch.ones(3)}, "train_seconds": float(seconds)},
                   root / "d" / "last.pt")
        (root / "tables" / "table4.md").write_text(md.format(seconds, device))
        (root / "tables" / "lag_table.csv").write_text("subject,lag_s\nL1,2.5\n")
        (root / "figures" / "f.pdf").write_bytes(
            b"%%PDF-1.4 /CreationDate (D:2026120%sZ) data" % seconds.replace(".", "").encode())
        (root / ".table4.md.x1y2.tmp").write_text(seconds)  # a kill's leftover: not a result
    result = faults.compare_runs(a.parent, b.parent)
    assert result == {"compared": 6, "differences": {}}
    np.savez(b / "d" / "decomposed" / "batch0.npz", inputs=np.ones((2, 3, 4)) * 2,
             trial_id=np.array(["t1", "t2"]))
    scipy.io.savemat(b / "d" / "P01.mat", {"x": np.arange(4.0) + 1})
    torch.save({"state": {"w": torch.zeros(3)}, "train_seconds": 0.5}, b / "d" / "last.pt")
    (b / "tables" / "table4.md").write_text(md.format("0.51", "cpu").replace("61.0", "62.0"))
    (b / "tables" / "lag_table.csv").write_text("subject,lag_s\nL1,3.0\n")
    (b / "figures" / "f.pdf").write_bytes(b"%PDF-1.4 /CreationDate (D:20261201) other")
    diffs = faults.compare_runs(a.parent, b.parent)["differences"]
    assert sorted(diffs) == ["d/P01.mat", "d/decomposed/batch0.npz", "d/last.pt",
                             "figures/f.pdf", "tables/lag_table.csv", "tables/table4.md"]
    assert "lag_s" in diffs["tables/lag_table.csv"]
