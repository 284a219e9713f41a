"""AMIGOS reader: `Data_Preprocessed_PNN.mat` (MATLAB v5) files, anywhere under the root.

Each file holds `joined_data`, a 1x20 cell of (samples x 17) arrays at 128 Hz (14 EEG, 2 ECG,
GSR in column 17, 1-based), and `labels_selfassessment`, a 1x20 cell of 1x12 rows (arousal,
valence, dominance, liking, familiarity, 7 basic emotions); a missing rating is a 1x0 array.
Only trials 1-16 (the short videos) are used; trials are in video order, so `stimulus` =
`trial`. GSR is kept in the unit the files carry; NaN runs are kept (the preprocessing stage
interpolates or excludes them).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.io

from edaffect.datasets import (
    GENERATOR_FILES,
    DatasetError,
    TrialRecord,
    exclusion,
    rating_problem,
    signal_problem,
    warn_stray,
)

FS = 128.0
N_CELLS = 20
N_SHORT = 16
N_COLUMNS = 17
GSR_COLUMN = 16  # 0-based (column 17 in MATLAB)
FILE_PATTERN = re.compile(r"^Data_Preprocessed_P(\d{2,3})\.mat$")
SCALE = (1.0, 9.0)


def _cells(mat: dict, key: str, path: Path) -> list[np.ndarray]:
    if key not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DatasetError(f"{path}: variable {key!r} missing (the file has {found})")
    cells = np.asarray(mat[key])
    if cells.dtype != object or cells.size < N_SHORT:
        raise DatasetError(
            f"{path}: {key!r} should be a 1x{N_CELLS} cell array, got {cells.dtype} of shape "
            f"{cells.shape}"
        )
    return [np.asarray(c) for c in cells.ravel()]


def load_subject(path: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(joined_data cells, labels_selfassessment cells) of one file; raises DatasetError."""
    try:
        mat = scipy.io.loadmat(path)
    except Exception as exc:  # truncated or not a MATLAB file
        raise DatasetError(
            f"{path}: unreadable or truncated .mat file ({type(exc).__name__}: {exc})"
        ) from exc
    return _cells(mat, "joined_data", path), _cells(mat, "labels_selfassessment", path)


def _subject_files(root: Path) -> list[Path]:
    """Participant files anywhere under root (the real zip nests a folder per participant)."""
    paths = [p for p in sorted(root.rglob("*")) if p.is_file() and p.name not in GENERATOR_FILES]
    files = [p for p in paths if FILE_PATTERN.match(p.name)]
    warn_stray("amigos", root, [p for p in paths if p not in files], "Data_Preprocessed_PNN.mat")
    return files


def read(root: Path) -> tuple[list[TrialRecord], list[dict]]:
    """Short-video trials (1-16) of every participant file under root."""
    files = _subject_files(root)
    if not files:
        raise DatasetError(f"{root}: no AMIGOS Data_Preprocessed_PNN.mat file found")
    trials: list[TrialRecord] = []
    excluded: list[dict] = []
    for path in files:
        subject = f"P{int(FILE_PATTERN.match(path.name).group(1)):02d}"
        joined, labels = load_subject(path)
        for k in range(N_SHORT):
            trial = k + 1
            arr = joined[k]
            if arr.size == 0:
                reason = "empty recording (0 samples)"
                excluded.append(exclusion("amigos", subject, trial, path, reason))
                continue
            if arr.ndim != 2:
                raise DatasetError(
                    f"{path}: trial {trial}: joined_data cell has shape {arr.shape}, "
                    f"expected (samples, {N_COLUMNS})"
                )
            if arr.shape[1] < N_COLUMNS:
                raise DatasetError(
                    f"{path}: trial {trial}: joined_data has {arr.shape[1]} columns, GSR column "
                    f"{GSR_COLUMN + 1} is missing (expected (samples, {N_COLUMNS}))"
                )
            gsr = np.asarray(arr[:, GSR_COLUMN], dtype=np.float64)
            rating = np.asarray(labels[k], dtype=float).ravel()
            reason = signal_problem(gsr)
            if reason is None and rating.size == 0:
                reason = "missing self-assessment (empty 1x0 rating)"
            if reason is None and rating.size < 2:
                raise DatasetError(
                    f"{path}: trial {trial}: labels_selfassessment has {rating.size} values, "
                    "expected 12 (arousal, valence, ...)"
                )
            if reason is None:
                reason = rating_problem(float(rating[1]), float(rating[0]), *SCALE)
            if reason is not None:
                excluded.append(exclusion("amigos", subject, trial, path, reason))
                continue
            trials.append(
                TrialRecord(
                    dataset="amigos", subject=subject, trial=trial, stimulus=trial, fs=FS,
                    eda=gsr, valence=float(rating[1]), arousal=float(rating[0]),
                    source=str(path),
                )
            )
    return trials, excluded
