"""AMIGOS reader: `Data_Preprocessed_PNN.mat` (MATLAB v5) files, anywhere under the root.

Each file holds `joined_data`, a 1x20 cell of (samples x 17) arrays at 128 Hz (14 EEG, 2 ECG,
GSR in column 17, 1-based), and `labels_selfassessment`, a 1x20 cell of 1x12 rows (arousal,
valence, dominance, liking, familiarity, 7 basic emotions); a missing rating is a 1x0 array.
Trials 1-16 are the short videos, 17-20 the long ones (empty for the participants who did not
take part in the long-video session; those empty cells are skipped, not excluded). `videos`
("all" | "short", config `datasets.amigos.videos`) picks them; `video_type` says which. Trials
are in video order, so `stimulus` = `trial`. GSR is kept in the unit the files carry; NaN runs
are kept (the preprocessing stage interpolates or excludes them).

`physio_trials` gives the MAAN study every channel group of the same trials (EEG 1-14, ECG
15-16, GSR 17) with bad channels (all-NaN, flat) dropped and named with their reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
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
EEG_COLUMNS = list(range(14))  # 0-based; Emotiv EPOC order
EEG_CHANNELS = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8",
                "AF4"]
ECG_COLUMNS = [14, 15]
ECG_LEADS = ["ECG_R", "ECG_L"]  # AMIGOS: right and left arm leads
VIDEOS = ("all", "short")
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


def _check_shape(arr: np.ndarray, path: Path, trial: int) -> None:
    if arr.ndim != 2:
        raise DatasetError(
            f"{path}: trial {trial}: joined_data cell has shape {arr.shape}, "
            f"expected (samples, {N_COLUMNS})"
        )
    if arr.shape[1] < N_COLUMNS:
        raise DatasetError(
            f"{path}: trial {trial}: joined_data has {arr.shape[1]} columns, GSR column "
            f"{GSR_COLUMN + 1} is missing (expected (samples, {N_COLUMNS}): 14 EEG, 2 ECG, GSR)"
        )


def _trial_numbers(n_cells: int, videos: str) -> list[int]:
    if videos not in VIDEOS:
        raise ValueError(f"datasets.amigos.videos must be one of {VIDEOS}, got {videos!r}")
    last = N_SHORT if videos == "short" else min(n_cells, N_CELLS)
    return list(range(1, last + 1))


def video_type(trial: int) -> str:
    return "short" if trial <= N_SHORT else "long"


def _trial_reason(
    gsr: np.ndarray, rating: np.ndarray, path: Path, trial: int
) -> str | None:
    reason = signal_problem(gsr)  # the GSR (column 17): the trial table is the EDA table
    if reason is not None:
        return reason
    if rating.size == 0:
        return "missing self-assessment (empty 1x0 rating)"
    if rating.size < 2:
        raise DatasetError(
            f"{path}: trial {trial}: labels_selfassessment has {rating.size} values, "
            "expected 12 (arousal, valence, ...)"
        )
    return rating_problem(float(rating[1]), float(rating[0]), *SCALE)


def _usable_trials(path: Path, videos: str):
    """(subject, trial, data array, rating) of the cells to read; yields exclusions as
    (subject, trial, None, reason)."""
    subject = f"P{int(FILE_PATTERN.match(path.name).group(1)):02d}"
    joined, labels = load_subject(path)
    for trial in _trial_numbers(len(joined), videos):
        arr = joined[trial - 1]
        if arr.size == 0:
            if trial > N_SHORT:  # long video not recorded for this participant
                continue
            yield subject, trial, None, "empty recording (0 samples)"
            continue
        _check_shape(arr, path, trial)
        rating = np.asarray(labels[trial - 1], dtype=float).ravel() if trial <= len(labels) \
            else np.zeros(0)
        reason = _trial_reason(np.asarray(arr[:, GSR_COLUMN], dtype=np.float64), rating, path,
                               trial)
        if reason is not None:
            yield subject, trial, None, reason
            continue
        yield subject, trial, arr, rating


def read(root: Path, videos: str = "all") -> tuple[list[TrialRecord], list[dict]]:
    """Short-video trials (1-16) and, with videos="all", the non-empty long ones (17-20).

    Parameters
    ----------
    root
        The data_preprocessed_matlab folder holding Data_Preprocessed_PNN.mat.
    videos
        "all" or "short".

    Returns
    -------
    trials : list of TrialRecord
        The usable trials with raw EDA in µS and the native rating scale.
    excluded : list of dict
        Rows for trials dropped while reading (file, trial, reason).
    """
    files = _subject_files(root)
    if not files:
        raise DatasetError(f"{root}: no AMIGOS Data_Preprocessed_PNN.mat file found")
    trials: list[TrialRecord] = []
    excluded: list[dict] = []
    for path in files:
        for subject, trial, arr, rating in _usable_trials(path, videos):
            if arr is None:
                excluded.append(exclusion("amigos", subject, trial, path, rating))
                continue
            trials.append(
                TrialRecord(
                    dataset="amigos", subject=subject, trial=trial, stimulus=trial, fs=FS,
                    eda=np.asarray(arr[:, GSR_COLUMN], dtype=np.float64),
                    valence=float(rating[1]), arousal=float(rating[0]), source=str(path),
                    video_type=video_type(trial),
                )
            )
    return trials, excluded


@dataclass
class PhysioTrial:
    """All channel groups of one AMIGOS trial at 128 Hz; `bad` maps a dropped channel to why."""

    subject: str
    trial: int
    video_type: str
    eeg: np.ndarray  # (14 - bad EEG, samples)
    ecg: np.ndarray  # (2 - bad ECG, samples)
    gsr: np.ndarray  # (samples,)
    eeg_names: list[str]
    ecg_names: list[str]
    bad: dict[str, str]
    source: str

    @property
    def trial_id(self) -> str:
        return f"{self.subject}_{self.trial}"


def _good_columns(arr: np.ndarray, names: list[str], columns: list[int]) -> tuple[list, dict]:
    keep, bad = [], {}
    for name, col in zip(names, columns, strict=True):
        reason = signal_problem(np.asarray(arr[:, col], dtype=np.float64))
        if reason is None:
            keep.append(col)
        else:
            bad[name] = reason
    return keep, bad


def physio_trials(
    root: Path, videos: str = "all", wanted: set[str] | None = None
) -> Iterator[PhysioTrial]:
    """Every usable trial (as `read` decides) with its EEG, ECG and GSR channels, one file at a
    time (so a whole dataset never sits in memory); `wanted` limits it to these trial ids."""
    files = _subject_files(Path(root))
    if not files:
        raise DatasetError(f"{root}: no AMIGOS Data_Preprocessed_PNN.mat file found")
    for path in files:
        for subject, trial, arr, _ in _usable_trials(path, videos):
            if arr is None or (wanted is not None and f"{subject}_{trial}" not in wanted):
                continue
            eeg_cols, bad = _good_columns(arr, EEG_CHANNELS, EEG_COLUMNS)
            ecg_cols, bad_ecg = _good_columns(arr, ECG_LEADS, ECG_COLUMNS)
            bad.update(bad_ecg)
            yield PhysioTrial(
                subject=subject, trial=trial, video_type=video_type(trial),
                eeg=np.asarray(arr[:, eeg_cols], dtype=np.float64).T,
                ecg=np.asarray(arr[:, ecg_cols], dtype=np.float64).T,
                gsr=np.asarray(arr[:, GSR_COLUMN], dtype=np.float64),
                eeg_names=[EEG_CHANNELS[c] for c in eeg_cols],
                ecg_names=[ECG_LEADS[c - ECG_COLUMNS[0]] for c in ecg_cols],
                bad=bad, source=str(path),
            )
