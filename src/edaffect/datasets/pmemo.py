"""PMEmo2019 reader: `EDA/{musicId}_EDA.csv` plus the per-listener static annotations.

Native files used:
- `EDA/{musicId}_EDA.csv` (50 Hz): first column the sample time (or index), then one column per
  listener id; listeners of one song may have different lengths, so shorter columns end in
  empty cells (trailing NaNs are padding and are stripped; interior NaNs are kept).
- `annotations/static_annotations_per_listener.csv` with columns `musicId, subjectId, Arousal,
  Valence` (each listener's own static ratings on PMEmo's 0-1 scale). The per-listener
  k-means labels need each listener's own ratings; the public release has only the song means,
  so this is the one file a real-data user may have to supply.
- `annotations/static_annotations.csv` (`musicId, Arousal(mean), Valence(mean)`) and
  `features/static_features.csv` (`musicId` + 6,373 ComParE_2016 functionals) are read by
  `read_static_means` / `read_static_features` for the label and music-feature stages.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.datasets import (
    DatasetError,
    TrialRecord,
    exclusion,
    rating_problem,
    signal_problem,
    warn_stray,
)

FS = 50.0
EDA_FOLDER = "EDA"
FILE_PATTERN = re.compile(r"^(\d+)_EDA\.csv$")
PER_LISTENER = "annotations/static_annotations_per_listener.csv"
PER_LISTENER_COLUMNS = ["musicId", "subjectId", "Arousal", "Valence"]
STATIC_MEANS = "annotations/static_annotations.csv"
STATIC_MEANS_COLUMNS = ["musicId", "Arousal(mean)", "Valence(mean)"]
STATIC_FEATURES = "features/static_features.csv"
SCALE = (0.0, 1.0)


def read_listener_ratings(root: Path) -> dict[tuple[int, str], tuple[float, float]]:
    """{(musicId, subjectId): (valence, arousal)} from the per-listener annotation table."""
    path = root / PER_LISTENER
    if not path.is_file():
        raise DatasetError(
            f"{path}: per-listener static annotations missing. PMEmo's public release has only "
            f"song means; supply a CSV with columns {', '.join(PER_LISTENER_COLUMNS)} "
            "(each listener's own ratings on 0-1) at this path"
        )
    try:
        table = pd.read_csv(path, dtype={"subjectId": str})
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable CSV ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in PER_LISTENER_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"{path}: columns {missing} missing (has {list(table.columns)})")
    for col in ("musicId", "Arousal", "Valence"):
        if not pd.api.types.is_numeric_dtype(table[col]):
            raise DatasetError(f"{path}: column {col!r} is not numeric")
    if table["musicId"].isna().any() or table["subjectId"].isna().any():
        raise DatasetError(f"{path}: rows without musicId or subjectId")
    table["subjectId"] = table["subjectId"].str.strip()
    dup = table.duplicated(["musicId", "subjectId"])
    if dup.any():
        row = table[dup].iloc[0]
        raise DatasetError(
            f"{path}: listener {row['subjectId']} rated song {int(row['musicId'])} twice"
        )
    return {
        (int(m), s): (float(v), float(a))
        for m, s, v, a in zip(
            table["musicId"], table["subjectId"], table["Valence"], table["Arousal"], strict=True
        )
    }


def read_eda_file(path: Path) -> dict[str, np.ndarray]:
    """{listener id: trace (float64, trailing padding stripped)} of one {musicId}_EDA.csv."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable file ({type(exc).__name__}: {exc})") from exc
    lines = text.splitlines()
    if not lines:
        raise DatasetError(f"{path}: empty file")
    header = next(csv.reader([lines[0]]))
    if len(header) < 2:
        raise DatasetError(f"{path}: no listener column (header {header})")
    listeners = [h.strip() for h in header[1:]]
    if len(set(listeners)) != len(listeners) or "" in listeners:
        raise DatasetError(f"{path}: empty or repeated listener id in header {header}")
    n_fields = len(header)
    for number, line in enumerate(lines[1:], start=2):
        if line.count(",") + 1 != n_fields:
            raise DatasetError(
                f"{path}: truncated or malformed: line {number} has {line.count(',') + 1} "
                f"fields, the header has {n_fields}"
            )
    try:
        frame = pd.read_csv(io.StringIO(text), header=0, names=["time", *listeners])
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable CSV ({type(exc).__name__}: {exc})") from exc
    traces = {}
    for listener in listeners:
        column = frame[listener]
        if not pd.api.types.is_numeric_dtype(column):
            raise DatasetError(f"{path}: listener {listener}: non-numeric EDA values")
        x = column.to_numpy(dtype=np.float64)
        finite = np.flatnonzero(np.isfinite(x))
        traces[listener] = x[: finite[-1] + 1] if finite.size else x[:0]
    return traces


def read(root: Path) -> tuple[list[TrialRecord], list[dict]]:
    """One trial per (listener, song) with an EDA column; ratings from the per-listener table."""
    folder = root / EDA_FOLDER
    if not folder.is_dir():
        raise DatasetError(f"{folder}: PMEmo EDA folder missing (expected EDA/{{musicId}}_EDA.csv)")
    ratings = read_listener_ratings(root)
    paths = sorted(folder.iterdir())
    files = [p for p in paths if FILE_PATTERN.match(p.name) and p.is_file()]
    warn_stray("pmemo", folder, [p for p in paths if p not in files], "{musicId}_EDA.csv")
    if not files:
        raise DatasetError(f"{folder}: no {{musicId}}_EDA.csv file found")
    trials: list[TrialRecord] = []
    excluded: list[dict] = []
    for path in files:
        music_id = int(FILE_PATTERN.match(path.name).group(1))
        for listener, eda in read_eda_file(path).items():
            reason = signal_problem(eda)
            rating = ratings.get((music_id, listener))
            if reason is None and rating is None:
                reason = f"no rating of this listener in {PER_LISTENER}"
            if reason is None:
                reason = rating_problem(rating[0], rating[1], *SCALE)
            if reason is not None:
                excluded.append(exclusion("pmemo", listener, music_id, path, reason))
                continue
            trials.append(
                TrialRecord(
                    dataset="pmemo", subject=listener, trial=music_id, stimulus=music_id, fs=FS,
                    eda=eda, valence=rating[0], arousal=rating[1], source=str(path),
                )
            )
    return trials, excluded


def read_static_means(root: str | Path) -> pd.DataFrame:
    """`annotations/static_annotations.csv` as (musicId, arousal_mean, valence_mean) on 0-1."""
    path = Path(root) / STATIC_MEANS
    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable CSV ({type(exc).__name__}: {exc})") from exc
    table.columns = [c.strip() for c in table.columns]
    missing = [c for c in STATIC_MEANS_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"{path}: columns {missing} missing (has {list(table.columns)})")
    out = table[STATIC_MEANS_COLUMNS].rename(
        columns={"Arousal(mean)": "arousal_mean", "Valence(mean)": "valence_mean"}
    )
    out["musicId"] = out["musicId"].astype(int)
    return out


def read_static_features(root: str | Path) -> pd.DataFrame:
    """`features/static_features.csv`: musicId + the ComParE_2016 functionals, one row a song."""
    path = Path(root) / STATIC_FEATURES
    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable CSV ({type(exc).__name__}: {exc})") from exc
    if "musicId" not in table.columns:
        raise DatasetError(f"{path}: column 'musicId' missing")
    table["musicId"] = table["musicId"].astype(int)
    return table
