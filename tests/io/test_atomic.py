"""Kill-safe writes (edaffect.io.atomic): a writer killed or failing mid-write leaves the previous
complete file (or none), never a fragment that the next run would read."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from edaffect.io import atomic


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writers_give_the_bytes_of_the_plain_writers(tmp_path):
    """Same bytes and permissions as numpy/pandas/json writing the path directly."""
    array = np.random.default_rng(0).normal(size=(5, 3, 7)).astype(np.float32)
    frame = pd.DataFrame({"a": [1.5, np.nan, 3.0], "b": ["x", "y,z", 'q"']})
    np.save(tmp_path / "plain.npy", array)
    atomic.save_npy(tmp_path / "atomic.npy", array)
    frame.to_csv(tmp_path / "plain.csv", index=False, float_format="%.6g")
    atomic.to_csv(frame, tmp_path / "atomic.csv", index=False, float_format="%.6g")
    (tmp_path / "plain.json").write_text(json.dumps({"k": [1, 2.5]}, indent=1) + "\n")
    atomic.write_json(tmp_path / "atomic.json", {"k": [1, 2.5]}, indent=1)
    np.savez(tmp_path / "plain.npz", x=array)
    atomic.save_npz(tmp_path / "atomic.npz", x=array)
    for ext in ("npy", "csv", "json"):
        plain, ours = tmp_path / f"plain.{ext}", tmp_path / f"atomic.{ext}"
        assert plain.read_bytes() == ours.read_bytes(), ext
        assert plain.stat().st_mode == ours.stat().st_mode, ext
    np.testing.assert_array_equal(np.load(tmp_path / "atomic.npz")["x"], array)
    # np.save would append .npy to a name without it; the atomic writer keeps the name
    atomic.save_npy(tmp_path / "no_suffix", array)
    assert (tmp_path / "no_suffix").exists() and not (tmp_path / "no_suffix.npy").exists()
    assert leftovers(tmp_path) == []


def test_disk_full_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    """ENOSPC half-way through: the old complete file stays, the error names the file and keeps
    its errno, no temporary file is left behind; with no old file, no file at all."""
    target = tmp_path / "inputs.npy"
    old = np.arange(12.0).reshape(3, 4)
    atomic.save_npy(target, old)
    real_save = np.save

    def half_then_full(handle, array, **kwargs):
        handle.write(b"\x93NUMPY" + b"\0" * 100)  # a fragment reaches the file, then the disk fills
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", half_then_full)
    with pytest.raises(OSError, match=r"No space left on device while writing .*inputs\.npy "
                                      r"\(the previous complete file is kept\)") as info:
        atomic.save_npy(target, np.zeros((100, 100)))
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    np.testing.assert_array_equal(np.load(target), old)
    with pytest.raises(OSError, match=r"new\.npy \(no file was written\)"):
        atomic.save_npy(tmp_path / "new.npy", old)
    assert not (tmp_path / "new.npy").exists()
    assert leftovers(tmp_path) == []
    monkeypatch.setattr(np, "save", real_save)
    atomic.save_npy(target, old + 1)  # the next write works and replaces
    np.testing.assert_array_equal(np.load(target), old + 1)


def test_any_exception_leaves_the_target_alone(tmp_path):
    target = tmp_path / "table.csv"
    atomic.write_text(target, "a,b\n1,2\n")
    with pytest.raises(KeyboardInterrupt), atomic.atomic_open(target) as handle:
        handle.write("a,b\n9,")
        raise KeyboardInterrupt
    assert target.read_text() == "a,b\n1,2\n" and leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="mode must start with 'w'"), atomic.atomic_open(
        target, "a"
    ):
        pass


WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from edaffect.io import atomic
    mode, path = sys.argv[1], sys.argv[2]
    array = np.full((64, 16, 1024), 7.0, dtype=np.float32)  # 4 MiB in 64 slow chunks

    class Slow:
        # a file object that announces the first chunk, then writes slowly (killed meanwhile)
        def __init__(self, handle):
            self.handle, self.n = handle, 0
        def write(self, data):
            self.handle.write(data); self.handle.flush(); self.n += 1
            if self.n == 2:
                print("writing", flush=True)
            time.sleep(0.05)
            return len(data)
        def __getattr__(self, name):
            return getattr(self.handle, name)

    def write(handle):
        slow = Slow(handle)
        for chunk in np.array_split(array.reshape(-1), 64):
            if slow.n == 0:
                header = np.lib.format.header_data_from_array_1_0(array)
                np.lib.format.write_array_header_2_0(slow, header)
            slow.write(chunk.tobytes())

    if mode == "atomic":
        with atomic.atomic_open(path, "wb") as handle:
            write(handle)
    else:
        with open(path, "wb") as handle:
            write(handle)
""")


@pytest.mark.parametrize("mode", ["atomic", "plain"])
def test_sigkill_mid_write(tmp_path, mode):
    """A writer SIGKILLed half-way: with atomic writes the next run reads the previous complete
    array; with a plain open() it would read a fragment (the control shows the kill lands)."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    target = tmp_path / "inputs.npy"
    old = np.arange(6.0)
    atomic.save_npy(target, old)
    proc = subprocess.Popen([sys.executable, str(script), mode, str(target)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    if mode == "atomic":
        np.testing.assert_array_equal(np.load(target), old)
        fragments = leftovers(tmp_path)
        assert len(fragments) == 1 and fragments[0].startswith(".inputs.npy.")  # hidden, unread
    else:
        assert target.stat().st_size < 64 * 16 * 1024 * 4
        with pytest.raises(ValueError):
            np.load(target)


def test_disk_full_while_merging_inputs_npy(tmp_path, monkeypatch):
    """The decomposition merge (rule merge_decomposition) hits a full disk while writing
    inputs.npy: the error names the file, the previous complete inputs.npy stays (with no
    previous one, none appears), no fragment is left for the training jobs to read."""
    from edaffect.signal import decomposition_batches as pre

    ids = ["s01_1", "s01_2", "s02_1"]
    pd.DataFrame({"trial_id": ids, "subject": ["s01", "s01", "s02"], "trial": ["1", "2", "1"],
                  "dataset": "deap"}).to_csv(tmp_path / "trials.csv", index=False)
    pd.DataFrame(columns=pre.EXCLUDED_COLUMNS).to_csv(tmp_path / "trials_excluded.csv",
                                                      index=False)

    def batch(seed):
        inputs = np.random.default_rng(seed).normal(size=(3, 3, 16)).astype(np.float32)
        np.savez(tmp_path / "batch0.npz", inputs=inputs, trial_id=np.array(ids),
                 excluded=json.dumps([]))
        return inputs

    out = tmp_path / "results" / "inputs.npy"
    paths = dict(batch_files=[tmp_path / "batch0.npz"], trials_csv=tmp_path / "trials.csv",
                 trials_excluded_csv=tmp_path / "trials_excluded.csv", out_inputs=out,
                 out_index=tmp_path / "results" / "inputs_index.csv",
                 out_excluded=tmp_path / "results" / "excluded.csv")

    def half_then_full(handle, array, **kwargs):
        handle.write(b"\x93NUMPY\x01\x00" + b"\0" * 64)
        raise OSError(errno.ENOSPC, "No space left on device")

    first = batch(0)
    real_save = np.save
    monkeypatch.setattr(np, "save", half_then_full)
    with pytest.raises(OSError, match=r"No space left on device while writing \S*inputs\.npy "
                                      r"\(no file was written\)"):
        pre.merge_batches(**paths)
    assert not out.exists() and leftovers(out.parent) == []
    monkeypatch.setattr(np, "save", real_save)
    assert pre.merge_batches(**paths) == 3
    np.testing.assert_array_equal(np.load(out), first)
    batch(1)
    monkeypatch.setattr(np, "save", half_then_full)
    with pytest.raises(OSError, match=r"while writing \S*inputs\.npy \(the previous complete "
                                      r"file is kept\)"):
        pre.merge_batches(**paths)
    np.testing.assert_array_equal(np.load(out), first)
    assert leftovers(out.parent) == []
