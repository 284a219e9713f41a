"""One GPU per training job on a multi-GPU node: a pool of lock files, one per device.

Snakemake's `--resources gpu=N` only counts GPUs, it does not say which one a job may use, so
N local jobs would all land on device 0.  A job calls `claim_device()` before CUDA is
initialised: it takes the first free device's lock (fcntl.flock, released by the kernel when the
process dies, so a killed job never leaks a GPU) and sets CUDA_VISIBLE_DEVICES to that device;
the job then sees one GPU as cuda:0.  On a CPU-only machine, or under SLURM where the scheduler
already narrows CUDA_VISIBLE_DEVICES, the pool simply has zero or one device.

Devices come from EDAFFECT_GPUS ("0,1,3"), else CUDA_VISIBLE_DEVICES, else `nvidia-smi -L`.
Locks live in EDAFFECT_GPU_LOCK_DIR, else <tmp>/edaffect-gpu-locks-<uid> (node-local).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ENV_DEVICES = "EDAFFECT_GPUS"
ENV_LOCK_DIR = "EDAFFECT_GPU_LOCK_DIR"


def node_devices() -> list[str]:
    """Device ids a job on this node may use (see the module docstring for the order)."""
    for name in (ENV_DEVICES, "CUDA_VISIBLE_DEVICES"):
        value = os.environ.get(name)
        if value is not None and value.strip() not in ("", "-1", "NoDevFiles"):
            return [d.strip() for d in value.split(",") if d.strip()]
        if value is not None:
            return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def default_lock_dir() -> Path:
    return Path(os.environ.get(ENV_LOCK_DIR)
                or Path(tempfile.gettempdir()) / f"edaffect-gpu-locks-{os.getuid()}")


@dataclass
class DeviceClaim:
    """A held device: `device` is its id (None: no GPU in the pool); release() frees it."""

    device: str | None
    lock_path: Path | None = None
    _handle: object | None = None
    _previous_env: str | None = None

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None
        if self._previous_env is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = self._previous_env


def _cuda_already_initialised() -> bool:
    torch = sys.modules.get("torch")
    return bool(torch is not None and torch.cuda.is_initialized())


def acquire_device(
    devices: Sequence[str] | None = None,
    lock_dir: str | Path | None = None,
    *,
    timeout_s: float | None = None,
    poll_s: float = 0.5,
) -> DeviceClaim:
    """Take the first free device of the pool (waiting up to `timeout_s`, None: forever) and set
    CUDA_VISIBLE_DEVICES to it for this process and its children."""
    pool = list(node_devices() if devices is None else devices)
    if not pool:
        return DeviceClaim(None)
    if _cuda_already_initialised():
        raise RuntimeError("acquire_device: CUDA is already initialised in this process; claim "
                           "the device before the first CUDA call")
    folder = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    start = os.getpid() % len(pool)  # spread simultaneous starters over the pool
    while True:
        for device in pool[start:] + pool[:start]:
            path = folder / f"gpu-{device}.lock"
            handle = open(path, "a+")  # noqa: SIM115 - held for the claim's lifetime
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            previous = os.environ.get("CUDA_VISIBLE_DEVICES")
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            log.info("device pool: process %d holds GPU %s (%s)", os.getpid(), device, path)
            return DeviceClaim(device, path, handle, previous)
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(
                f"device pool {pool} in {folder}: every device stayed busy for {timeout_s} s "
                "(more local jobs than GPUs? keep --resources gpu=N at the number of GPUs)"
            )
        time.sleep(poll_s)


@contextlib.contextmanager
def claim_device(
    devices: Sequence[str] | None = None,
    lock_dir: str | Path | None = None,
    *,
    timeout_s: float | None = None,
    poll_s: float = 0.5,
) -> Iterator[str | None]:
    """Context manager around `acquire_device`: yields the device id (None without GPUs)."""
    claim = acquire_device(devices, lock_dir, timeout_s=timeout_s, poll_s=poll_s)
    try:
        yield claim.device
    finally:
        claim.release()
