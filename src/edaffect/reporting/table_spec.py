"""What Tables 3-6 are made of: metrics, dimensions, reference rows, the paper's names,
single-class folds and the ceiling row's settings (shared by assembly, headers and rendering)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

PAPER = "rtcan-1d"

METRICS = ("accuracy", "f1", "precision", "recall")

PAPER_METRICS = ("accuracy", "f1")

DIMENSIONS = ("valence", "arousal")

REQUIRED_KEYS = ("experiment", "dataset", "dimension", "fold", *METRICS, "n_train", "n_test")
# Which row each table's rows are tested against: (paper method of the reference, per dataset?).

REFERENCES = {"table3": ("RTCAN-1D", False), "table5": ("R_f", True)}

MODULE_NAMES = {"sca_res": "SCA_Res", "sca": "SCA", "rnta": "RNTA"}  # the paper's names

SHORT = {"valence": "V", "arousal": "A", "accuracy": "acc", "f1": "F1"}

SINGLE_CLASS_MARK = "⚠"

SINGLE_CLASS_NOTE = (
    " Single-class folds k/n: folds whose test predictions are all one class (from each fold's "
    f"predictions.csv); {SINGLE_CLASS_MARK} marks a row where that is more than half its folds."
)

def single_class(predictions: pd.DataFrame, path: str | Path = "predictions.csv") -> bool:
    """Whether one fold's test predictions (column y_pred) are all one class."""
    if "y_pred" not in predictions or "y_true" not in predictions:
        raise ValueError(f"{path}: predictions.csv lacks column y_pred or y_true")
    if predictions.empty:
        raise ValueError(f"{path}: predictions.csv has no rows")
    return bool(predictions["y_pred"].nunique() == 1)

def single_class_flagged(k: int, n: int) -> bool:
    """More than half the folds predict one class."""
    return n > 0 and k > n / 2

def single_class_cell(k, n) -> str:
    """'k/n', with the mark when more than half the folds predict one class; '—' if unknown."""
    if is_missing(k) or is_missing(n) or int(n) == 0:
        return "—"
    k, n = int(k), int(n)
    return f"{k}/{n} {SINGLE_CLASS_MARK}" if single_class_flagged(k, n) else f"{k}/{n}"

def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))

def columns(frame: pd.DataFrame, *names: str):
    """Row-wise tuples of the named columns (NaN for a column the frame lacks)."""
    cols = [frame[n] if n in frame else pd.Series([np.nan] * len(frame)) for n in names]
    return zip(*cols, strict=True)

def ceiling_settings(config: dict, table: str) -> dict | None:
    """Config `planted_ceiling` when `table` prints the ceiling, else None."""
    settings = config.get("planted_ceiling") or {}
    return settings if table in settings.get("tables", []) else None

CEILING_SOURCE = "planted ceiling"

PAPER_FOLDS = 10  # RTCAN-1D §5.2 and Res-SIN §4: 10-fold subject-independent cross-validation
