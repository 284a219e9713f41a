"""Kill-safe file writes: a path holds either its previous complete content or the new complete
content, never a fragment, whatever kills the writer (SIGKILL, an exception, a full disk).

Every writer goes to a temporary file in the target's own directory (same file system, so the
rename is atomic), flushes and fsyncs it, then `os.replace`s it onto the target.  On an error
the temporary file is removed and the error names the target; a SIGKILL can leave only a hidden
`.{name}.*.tmp` file beside it, which no reader opens.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

_UMASK = os.umask(0)
os.umask(_UMASK)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _explain(err: OSError, target: Path, existed: bool) -> OSError:
    """The same OSError class and errno, with a message naming the file and what is kept."""
    kept = "the previous complete file is kept" if existed else "no file was written"
    message = f"{err.strerror or err} while writing {target} ({kept})"
    if err.errno is None:
        return type(err)(message)
    return type(err)(err.errno, message, str(target))


@contextlib.contextmanager
def atomic_path(path: str | Path, *, fsync: bool = True) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` when the block ends
    without an exception, removed otherwise.  For writers that want a file name."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    existed = target.exists()
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give what open() would give
    try:
        yield tmp
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(err, OSError):
            raise _explain(err, target, existed) from err
        raise
    if fsync:
        _fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """`open(path, mode)` that replaces `path` only when the block completes ('w'/'wb' modes)."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes a new file: mode must start with 'w', not {mode!r}")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
        handle.flush()


def write_with(path: str | Path, writer: Callable[[Path], object]) -> None:
    """Call `writer(temporary_path)`, then move its file onto `path` (any library's writer)."""
    with atomic_path(path) as tmp:
        writer(tmp)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)


def write_json(path: str | Path, obj: Any, **kwargs: Any) -> None:
    """json.dumps(obj, **kwargs) + newline, atomically."""
    write_text(path, json.dumps(obj, **kwargs) + "\n")


def save_npy(path: str | Path, array: Any) -> None:
    """np.save to exactly `path` (no '.npy' appended), atomically."""
    import numpy as np

    with atomic_open(path, "wb") as handle:
        np.save(handle, np.asarray(array), allow_pickle=False)


def save_npz(path: str | Path, compressed: bool = False, **arrays: Any) -> None:
    """np.savez(_compressed) to exactly `path`, atomically."""
    import numpy as np

    save = np.savez_compressed if compressed else np.savez
    with atomic_open(path, "wb") as handle:
        save(handle, **arrays)


def to_csv(frame: Any, path: str | Path, **kwargs: Any) -> None:
    """DataFrame.to_csv(path, **kwargs), atomically."""
    with atomic_open(path, "w", newline="") as handle:
        frame.to_csv(handle, **kwargs)
