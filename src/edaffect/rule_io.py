"""Small helpers for the workflow's rule scripts: logging to the rule's log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def log_to_file(log_path: str | Path | None, name: str = "edaffect") -> logging.Logger:
    """Send logging output and stderr of this process to the rule's `log:` file.

    Snakemake's `log:` directive redirects nothing by itself; every rule script calls this first.
    """
    handlers: list[logging.Handler] = []
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        sys.stderr = stream
        handlers.append(logging.StreamHandler(stream))
    else:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger(name)
