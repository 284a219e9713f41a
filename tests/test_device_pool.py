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

from edaffect.device_pool import acquire_device, claim_device, node_devices

WORKER = textwrap.dedent("""
    import json, os, sys, time
    from edaffect.device_pool import claim_device
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
