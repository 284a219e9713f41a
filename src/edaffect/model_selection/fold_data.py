"""One fold of the workflow's files as train/val/test arrays: the stage files (folds, labels,
model inputs or hand-crafted features, song features) read once per process, feature and music
columns z-scored with the training fold's statistics only (no torch import)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.model_selection.labels import fold_labels, read_labels
from edaffect.signal.normalise import standardise

log = logging.getLogger(__name__)

CHANNEL_INPUTS = {"eda": None, "origin": 0, "phasic": 1, "tonic": 2}


@dataclass
class FoldData:
    """One role (train, val or test) of one fold: inputs, labels and trial identities."""

    x: np.ndarray  # (n, C, L) float32 signals or (n, F) float32 features
    y: np.ndarray  # (n,) int64 in {0, 1}
    trial_id: list[str]
    subject: list[str]
    music: np.ndarray | None = None  # (n, M) float32 (already z-scored) or None

    def __post_init__(self) -> None:
        self.x = np.ascontiguousarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y).astype(np.int64).ravel()
        self.trial_id = [str(t) for t in self.trial_id]
        self.subject = [str(s) for s in self.subject]
        n = len(self.y)
        sizes = {"x": len(self.x), "trial_id": len(self.trial_id), "subject": len(self.subject)}
        if self.music is not None:
            self.music = np.ascontiguousarray(self.music, dtype=np.float32)
            sizes["music"] = len(self.music)
        wrong = {k: v for k, v in sizes.items() if v != n}
        if wrong:
            raise ValueError(f"FoldData: {n} labels but {wrong}")
        if n and not set(np.unique(self.y).tolist()) <= {0, 1}:
            raise ValueError(f"FoldData: labels must be 0/1, got {sorted(np.unique(self.y))}")
        if not np.isfinite(self.x).all():
            rows = np.where(~np.isfinite(self.x).reshape(n, -1).all(1))[0]
            bad = [self.trial_id[i] for i in rows]
            raise ValueError(f"FoldData: non-finite inputs in trials {bad[:5]}")

    def __len__(self) -> int:
        return len(self.y)


@functools.lru_cache(maxsize=16)
def _read_table(path: str, mtime_ns: int, key: str) -> pd.DataFrame:
    """A stage CSV indexed by `key`, read once per process and file version: packed jobs
    load every fold from the same files (the 6,373-column music table dominates)."""
    return pd.read_csv(path, dtype={key: str, "subject": str}).set_index(key)


def _table(path: str | Path, key: str) -> pd.DataFrame:
    return _read_table(str(path), Path(path).stat().st_mtime_ns, key)


@dataclass(frozen=True)
class StageMatrix:
    """A numeric stage table as one float64 matrix: rows by key, column names kept."""

    rows: dict[str, int]
    columns: list[str]
    values: np.ndarray

    def take(self, keys) -> np.ndarray:
        """The rows of `keys` (in that order) as a (len(keys), n_columns) float64 array."""
        return self.values[[self.rows[str(k)] for k in keys]]


@functools.lru_cache(maxsize=8)
def _read_matrix(path: str, mtime_ns: int, key: str) -> StageMatrix:
    table = _read_table(path, mtime_ns, key)
    return StageMatrix({str(k): i for i, k in enumerate(table.index)},
                       [str(c) for c in table.columns], table.to_numpy(dtype=np.float64))


def stage_matrix(path: str | Path, key: str) -> StageMatrix:
    """`path` (a CSV keyed by column `key`) as a StageMatrix, read once per process and file
    version: row selection on the 6,373-column music table is ~100x faster than DataFrame.loc."""
    return _read_matrix(str(path), Path(path).stat().st_mtime_ns, key)


@functools.lru_cache(maxsize=4)
def _read_splits_once(path: str, mtime_ns: int) -> pd.DataFrame:
    from edaffect.model_selection.splits import read_splits

    return read_splits(path)


def read_splits_once(path: str | Path) -> pd.DataFrame:
    """results/{dataset}/splits.csv, read once per process and file version."""
    return _read_splits_once(str(path), Path(path).stat().st_mtime_ns)


def load_fold_data(
    experiment: dict,
    dimension: str,
    fold: int,
    *,
    splits_csv: str | Path | pd.DataFrame,
    labels_csv: str | Path,
    inputs_npy: str | Path | None = None,
    inputs_index_csv: str | Path | None = None,
    eda_features_csv: str | Path | None = None,
    music_features_csv: str | Path | None = None,
) -> tuple[FoldData, FoldData, FoldData, dict]:
    """Train/val/test FoldData of one fold plus facts for the model (in_channels,
    input_length, music_dim, skipped trials).  Feature and music columns are z-scored with
    training-fold statistics only."""
    from edaffect.model_selection.splits import load_fold

    splits = (splits_csv if isinstance(splits_csv, pd.DataFrame)
              else read_splits_once(splits_csv))
    roles = load_fold(splits, experiment["fraction"], fold)
    stimulus = splits.drop_duplicates("trial_id").set_index("trial_id")["stimulus"].astype(str)
    labels = read_labels(labels_csv, dimension)
    column = f"{dimension}_label"

    source = experiment["input"]
    if experiment.get("model") == "cnn3" or source == "eda_features":
        if eda_features_csv is None:
            raise ValueError(f"experiment {experiment.get('name')}: needs eda_features.csv")
        table = _table(eda_features_csv, "trial_id")
        rows = {t: i for i, t in enumerate(table.index)}
        values = table.to_numpy(dtype=np.float64)
        origin = str(eda_features_csv)
    elif source in CHANNEL_INPUTS:
        if inputs_npy is None or inputs_index_csv is None:
            raise ValueError(f"experiment {experiment.get('name')}: needs inputs.npy + index")
        index = pd.read_csv(inputs_index_csv, dtype={"trial_id": str})
        values = np.load(inputs_npy, mmap_mode="r")
        if values.ndim != 3 or len(values) != len(index):
            raise ValueError(
                f"{inputs_npy}: shape {values.shape} does not match {len(index)} rows of "
                f"{inputs_index_csv} (expected (n, 3, L))"
            )
        rows = dict(zip(index["trial_id"], index["row"].astype(int), strict=True))
        channel = CHANNEL_INPUTS[source]
        if channel is not None:
            values = values[:, channel : channel + 1]
        origin = str(inputs_npy)
    else:
        raise ValueError(f"experiment {experiment.get('name')}: input {source!r} is not for "
                         f"{experiment.get('model')}")

    parts, skipped = {}, []
    for role in ("train", "val", "test"):
        ids = [t for t in roles[role] if t in rows]
        skipped += [t for t in roles[role] if t not in rows]
        labelled = fold_labels(labels, ids, dimension, fold=fold, role=role)
        x = np.asarray(values[[rows[t] for t in ids]], dtype=np.float64)
        parts[role] = (ids, x, labelled[column].to_numpy().astype(np.int64),
                       labelled["subject"].tolist())
    if skipped:
        log.warning("%d fold trials have no row in %s (excluded upstream): %s", len(skipped),
                    origin, skipped[:10])

    xs = [parts[r][1] for r in ("train", "val", "test")]
    if xs[0].ndim == 2:  # hand-crafted features: training-fold scaler
        xs = standardise(*xs)
    musics: list[np.ndarray | None] = [None, None, None]
    if experiment.get("music") and music_features_csv is None:
        log.info("experiment %s fuses music, but this dataset has none: EDA only (RTCAG)",
                 experiment.get("name"))
    if experiment.get("music") and music_features_csv is not None:
        music = stage_matrix(music_features_csv, "stimulus")
        blocks = []
        for role in ("train", "val", "test"):
            songs = stimulus.reindex(parts[role][0])
            lost = [t for t, s in songs.items() if s not in music.rows]
            if lost:
                raise ValueError(
                    f"{music_features_csv}: no features for the songs of trials {lost[:5]} "
                    f"(stimulus {[songs[t] for t in lost[:5]]})"
                )
            blocks.append(music.take(songs.to_numpy()))
        musics = standardise(*blocks)
    data = [
        FoldData(x, parts[r][2], parts[r][0], parts[r][3], m)
        for r, x, m in zip(("train", "val", "test"), xs, musics, strict=True)
    ]
    info = {
        "in_channels": 1 if xs[0].ndim == 2 else int(xs[0].shape[1]),
        "input_length": int(xs[0].shape[-1]),
        "music_dim": 0 if musics[0] is None else int(musics[0].shape[1]),
        "n_skipped_no_input": len(skipped),
    }
    return data[0], data[1], data[2], info
