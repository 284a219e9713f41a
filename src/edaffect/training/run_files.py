"""The files of a trained fold's run folder (metrics.json, predictions.csv, model.pt), written
atomically by one function for every model family."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pandas as pd

from edaffect.io import atomic

RUN_FILES = ("metrics.json", "predictions.csv", "model.pt")


def torch_save(obj: Any, path: str | Path) -> None:
    """torch.save(obj, path), atomically (checkpoints, model.pt)."""
    import torch

    with atomic.atomic_open(path, "wb") as handle:
        torch.save(obj, handle)


def pickle_save(obj: Any, path: str | Path) -> None:
    """pickle.dump(obj, path), atomically (models that are not torch modules)."""
    with atomic.atomic_open(path, "wb") as handle:
        pickle.dump(obj, handle)


def write_run_files(
    run_dir: str | Path,
    metrics: dict,
    predictions: pd.DataFrame | None,
    model: Any = None,
    *,
    model_format: str = "torch",
    json_indent: int | None = 1,
) -> dict[str, Path]:
    """Write one fold's run files into `run_dir`.

    Parameters
    ----------
    run_dir
        The fold's folder (`training.paths.run_dir`); created if missing.
    metrics
        metrics.json's content (docs/architecture.md lists the keys).
    predictions
        predictions.csv's rows (one per test item); None writes none.
    model
        model.pt's content: a state-dict payload (`model_format="torch"`) or any picklable object
        (`"pickle"`); None writes no model.
    json_indent
        Indentation of metrics.json.

    Returns
    -------
    dict
        The paths written, by file name.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    if model is not None:
        path = run_dir / "model.pt"
        (torch_save if model_format == "torch" else pickle_save)(model, path)
        written["model.pt"] = path
    if predictions is not None:
        atomic.to_csv(predictions, run_dir / "predictions.csv", index=False)
        written["predictions.csv"] = run_dir / "predictions.csv"
    atomic.write_json(run_dir / "metrics.json", metrics, indent=json_indent)
    written["metrics.json"] = run_dir / "metrics.json"
    return written
