"""Device pool: processes competing for fake GPUs never share one, and a killed holder frees it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from edaffect.training.device_pool import acquire_device, claim_device, node_devices

WORKER = textwrap.dedent("""
    import json, os, sys, time
    from edaffect.training.device_pool import claim_device
    lock_dir, out, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with claim_device(["0", "1"], lock_dir, timeout_s=60, poll_s=0.02) as device:
        start = time.monotonic()
        seen = os.environ["CUDA_VISIBLE_DEVICES"]
        time.sleep(hold)
        end = time.monotonic()
    after = os.environ.get("CUDA_VISIBLE_DEVICES")
    with open(out, "w") as fh:
        json.dump({"device": device, "env": seen, "start": start, "end": end,
                   "after": after}, fh)
""")


def _spawn(tmp_path, i, hold):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tmp_path / "locks"), str(tmp_path / f"w{i}.json"),
         str(hold)], env=env)


def test_competing_processes_get_distinct_devices(tmp_path):
    n = 5
    workers = [_spawn(tmp_path, i, 0.4) for i in range(n)]
    assert [w.wait(timeout=120) for w in workers] == [0] * n
    runs = [json.loads((tmp_path / f"w{i}.json").read_text()) for i in range(n)]
    assert all(r["env"] == r["device"] and r["device"] in ("0", "1") for r in runs)
    assert all(r["after"] is None for r in runs)  # the claim restores the environment
    assert {r["device"] for r in runs} == {"0", "1"}
    for device in ("0", "1"):  # holding intervals on one device never overlap
        spans = sorted((r["start"], r["end"]) for r in runs if r["device"] == device)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # at most two hold at once: five 0.4-s holds on two devices need >= three rounds
    assert max(r["end"] for r in runs) - min(r["start"] for r in runs) >= 3 * 0.4 - 0.05


def test_a_killed_holder_releases_its_device(tmp_path):
    holder = _spawn(tmp_path, 0, 60)
    locks = tmp_path / "locks"
    deadline = time.monotonic() + 30
    while not any(p.read_text().strip() == str(holder.pid) for p in locks.glob("*.lock")
                  if p.exists()):
        assert time.monotonic() < deadline, "the holder never claimed a device"
        time.sleep(0.05)
    with claim_device(["0", "1"], locks, timeout_s=5) as a:  # the other device is free
        with pytest.raises(TimeoutError, match="busy"):
            acquire_device(["0", "1"], locks, timeout_s=0.2, poll_s=0.05)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        with claim_device(["0", "1"], locks, timeout_s=5) as b:
            assert {a, b} == {"0", "1"}


def test_no_gpu_means_no_claim(tmp_path, monkeypatch):
    monkeypatch.setenv("EDAFFECT_GPUS", "")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert node_devices() == []
    with claim_device(lock_dir=tmp_path) as device:
        assert device is None
        assert "CUDA_VISIBLE_DEVICES" not in os.environ
    monkeypatch.setenv("EDAFFECT_GPUS", "2, 3")
    assert node_devices() == ["2", "3"]


PROBE_FAMILY = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from edaffect.training.fold_runner import ModelFamily

    def train(job):
        seen = {"env": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "start": time.monotonic()}
        time.sleep(float(job.experiment["hold"]))
        seen["end"] = time.monotonic()
        for run in job.run_dirs:
            Path(run).mkdir(parents=True, exist_ok=True)
            (Path(run) / "metrics.json").write_text(json.dumps(seen))
        return [seen]

    FAMILY = ModelFamily("probe", lambda e, d: {}, train, settings=(), gpu=True)
""")

RULE_JOB = textwrap.dedent("""
    import runpy, sys
    from types import SimpleNamespace as NS
    root, name, gpu, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    snakemake = NS(
        input={}, output=NS(metrics=f"{root}/{name}/e/pmemo/valence/fold0/metrics.json"),
        params=NS(experiment={"name": "e", "model": "probe", "hold": hold}, settings={}, seed=1),
        wildcards=NS(dataset="pmemo", dimension="valence"), log=[f"{root}/{name}.log"],
        threads=1, resources=NS(gpu=gpu),
        config={"training": {"device": "auto", "checkpoint_every": 1, "fold_mode": "per_fold"},
                "model_families": {"probe": f"{root}/probe_family.py:FAMILY"}})
    runpy.run_path("workflow_scripts/train_folds.py", init_globals={"snakemake": snakemake})
""")


def _rule_job(tmp_path, name, gpu, hold, env):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen([sys.executable, "-c", RULE_JOB, str(tmp_path), name, str(gpu),
                             str(hold)], cwd=root, env=env)


def test_training_jobs_claim_their_own_gpu_from_the_pool(tmp_path):
    """workflow_scripts/train_folds.py (rules train_fold / train_folds): jobs that ask for a GPU
    each hold a different one of the node's (fake) GPUs while they train; a job without a GPU
    resource, or a node without GPUs, leaves CUDA_VISIBLE_DEVICES alone."""
    (tmp_path / "probe_family.py").write_text(PROBE_FAMILY)
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(EDAFFECT_GPUS="0,1", EDAFFECT_GPU_LOCK_DIR=str(tmp_path / "locks"))
    jobs = [_rule_job(tmp_path, f"gpu{i}", 1, 1.5, env) for i in range(2)]
    jobs.append(_rule_job(tmp_path, "cpu_job", 0, 0, env))
    assert [j.wait(timeout=120) for j in jobs] == [0, 0, 0]

    def seen(name):
        return json.loads((tmp_path / name / "e/pmemo/valence/fold0/metrics.json").read_text())

    a, b = seen("gpu0"), seen("gpu1")
    assert {a["env"], b["env"]} == {"0", "1"}
    assert a["start"] < b["end"] and b["start"] < a["end"]  # both trained at the same time
    assert seen("cpu_job")["env"] is None
    cpu_only = dict(env, EDAFFECT_GPUS="", PATH="/nonexistent")  # no nvidia-smi either
    job = _rule_job(tmp_path, "cpu_node", 1, 0, cpu_only)
    assert job.wait(timeout=120) == 0
    assert seen("cpu_node")["env"] is None
