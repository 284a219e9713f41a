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


def run_folder(*paths: str | Path) -> Path:
    """The one folder of a fold's run files given as separate paths (rule outputs); an error if
    they are not metrics.json, predictions.csv and model.pt of one folder."""
    folders = {Path(p).parent for p in paths}
    names = sorted(Path(p).name for p in paths)
    if len(folders) != 1 or names != sorted(RUN_FILES):
        raise ValueError(f"run files must be {RUN_FILES} of one folder: {list(map(str, paths))}")
    return folders.pop()


def write_run_files(
    run_dir: str | Path,
    metrics: dict,
    predictions: pd.DataFrame | None,
    model: Any = None,
    *,
    model_format: str = "torch",
    json_indent: int | None = 1,
    float_format: str | None = None,
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
        Indentation of metrics.json (numpy scalars are written as floats).
    float_format
        predictions.csv's float format (None: pandas' default).

    Returns
    -------
    dict
        The paths written, by file name.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    if model_format not in ("torch", "pickle"):
        raise ValueError(f"model_format must be 'torch' or 'pickle', not {model_format!r}")
    if model is not None:
        path = run_dir / "model.pt"
        (torch_save if model_format == "torch" else pickle_save)(model, path)
        written["model.pt"] = path
    if predictions is not None:
        atomic.to_csv(predictions, run_dir / "predictions.csv", index=False,
                      float_format=float_format)
        written["predictions.csv"] = run_dir / "predictions.csv"
    atomic.write_json(run_dir / "metrics.json", metrics, indent=json_indent, default=float)
    written["metrics.json"] = run_dir / "metrics.json"
    return written
