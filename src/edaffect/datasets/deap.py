"""DEAP reader: `data_preprocessed_python/sNN.dat` pickles (Python 2 pickles, latin1).

Each file is a dict with `data` (40 trials, 40 channels, 8064 samples at 128 Hz, the first 3 s
a pre-trial baseline) and `labels` (40, 4) = valence, arousal, dominance, liking on 1-9.
GSR is channel 37 (index 36); DEAP documents its unit as "values from Twente converted to
Geneva format (Ohm)", i.e. skin resistance. The reader converts it to skin conductance in µS
(1e6 / R) so that every dataset's raw EDA is in µS. Trials are in video (experiment id) order,
so `stimulus` = `trial`.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np

from edaffect.datasets import (
    DatasetError,
    TrialRecord,
    exclusion,
    native_files,
    rating_problem,
    signal_problem,
)

FS = 128.0
N_CHANNELS = 40
GSR_INDEX = 36
SUBFOLDER = "data_preprocessed_python"
FILE_PATTERN = re.compile(r"^s(\d{2})\.dat$")
SCALE = (1.0, 9.0)


def data_folder(root: Path) -> Path:
    """`root/data_preprocessed_python` if present, else `root` itself."""
    sub = root / SUBFOLDER
    return sub if sub.is_dir() else root


def load_subject(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(data, labels) of one sNN.dat file, with the shape checks; raises DatasetError."""
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f, encoding="latin1")
    except Exception as exc:  # truncated, not a pickle, wrong protocol ...
        raise DatasetError(
            f"{path}: unreadable or truncated pickle ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(obj, dict) or "data" not in obj or "labels" not in obj:
        keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise DatasetError(f"{path}: expected a dict with keys 'data' and 'labels', got {keys}")
    data = np.asarray(obj["data"])
    labels = np.asarray(obj["labels"], dtype=float)
    if data.ndim != 3:
        raise DatasetError(
            f"{path}: 'data' has shape {data.shape}, expected (trials, 40 channels, samples)"
        )
    if data.shape[1] != N_CHANNELS:
        raise DatasetError(
            f"{path}: 'data' has {data.shape[1]} channels, expected {N_CHANNELS} "
            f"(GSR is channel index {GSR_INDEX}); shape {data.shape}"
        )
    if labels.ndim != 2 or labels.shape[0] != data.shape[0] or labels.shape[1] < 2:
        raise DatasetError(
            f"{path}: 'labels' has shape {labels.shape}, expected ({data.shape[0]}, 4) "
            "= valence, arousal, dominance, liking"
        )
    return data, labels


def read(root: Path) -> tuple[list[TrialRecord], list[dict]]:
    """All trials of all sNN.dat files under root (or root/data_preprocessed_python).

    Parameters
    ----------
    root
        The data_preprocessed_python folder (or its parent); GSR is channel 37, skin resistance
        in Ohm, converted to 1e6 / R µS.

    Returns
    -------
    trials : list of TrialRecord
        The usable trials with raw EDA in µS and the native rating scale.
    excluded : list of dict
        Rows for trials dropped while reading (file, trial, reason).
    """
    folder = data_folder(root)
    trials: list[TrialRecord] = []
    excluded: list[dict] = []
    for path in native_files("deap", folder, FILE_PATTERN, "sNN.dat"):
        subject = f"s{FILE_PATTERN.match(path.name).group(1)}"
        data, labels = load_subject(path)
        for i in range(data.shape[0]):
            trial = i + 1
            ohm = np.asarray(data[i, GSR_INDEX], dtype=np.float64)
            reason = signal_problem(ohm)
            if reason is None and np.any(ohm[np.isfinite(ohm)] <= 0):
                reason = "non-positive skin resistance (Ohm), cannot convert to conductance"
            if reason is None:
                reason = rating_problem(float(labels[i, 0]), float(labels[i, 1]), *SCALE)
            if reason is not None:
                excluded.append(exclusion("deap", subject, trial, path, reason))
                continue
            trials.append(
                TrialRecord(
                    dataset="deap", subject=subject, trial=trial, stimulus=trial, fs=FS,
                    eda=1e6 / ohm, valence=float(labels[i, 0]), arousal=float(labels[i, 1]),
                    source=str(path),
                )
            )
    return trials, excluded
