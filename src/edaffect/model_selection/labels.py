"""Per-subject binary valence/arousal labels by k-means (RTCAN-1D §4.2, Fig. 3).

The paper's four steps for one subject: (a) take the subject's (valence, arousal) ratings,
(b) cluster them with k-means, k = 2, and take the midpoint of the two centres,
(c) arousal threshold = the midpoint's arousal, (d) valence threshold = the midpoint's valence.

Tie rule: a rating strictly above its threshold is high (1); a rating equal to or below it is
low (0).

Degenerate subjects: when a subject has fewer than two distinct (valence, arousal) points, or all
of its ratings on one dimension are equal, k-means cannot separate that dimension. Such a
dimension's threshold falls back to the median of the k-means thresholds of the dataset's other
(non-degenerate) subjects, and `threshold_source` says so (`fallback_valence`,
`fallback_arousal` or `fallback_both`; `kmeans` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic

LABEL_COLUMNS = [
    "trial_id",
    "subject",
    "trial",
    "valence",
    "arousal",
    "v_threshold",
    "a_threshold",
    "valence_label",
    "arousal_label",
    "threshold_source",
]
SOURCES = ("kmeans", "fallback_valence", "fallback_arousal", "fallback_both")


@dataclass(frozen=True)
class SubjectThresholds:
    """One subject's k-means result: thresholds (NaN where degenerate) and the two centres."""

    v_threshold: float
    a_threshold: float
    centres: np.ndarray | None  # (2, 2) (valence, arousal) rows by valence; None if < 2 points
    degenerate_valence: bool
    degenerate_arousal: bool


def subject_kmeans(
    valence: np.ndarray, arousal: np.ndarray, *, seed: int = 0, n_init: int = 10
) -> SubjectThresholds:
    """k-means (k = 2) on one subject's ratings; thresholds are the centres' midpoint (Fig. 3).

    A dimension whose ratings are all equal (or a subject with < 2 distinct points) gets NaN and
    is flagged degenerate; `assign_labels` fills it with the dataset fallback.
    """
    points = np.column_stack([np.asarray(valence, float), np.asarray(arousal, float)])
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError("valence and arousal must be 1-D arrays of equal length")
    if not np.all(np.isfinite(points)):
        raise ValueError("valence/arousal ratings contain NaN or inf")
    n_distinct = len(np.unique(points, axis=0)) if len(points) else 0
    if n_distinct < 2:
        return SubjectThresholds(np.nan, np.nan, None, True, True)
    from sklearn.cluster import KMeans  # not at import: training jobs read labels.csv (3.4 s)

    model = KMeans(n_clusters=2, n_init=n_init, random_state=seed, algorithm="lloyd")
    model.fit(points)
    centres = model.cluster_centers_[np.lexsort(model.cluster_centers_.T[::-1])]
    midpoint = centres.mean(axis=0)
    degenerate_v = len(np.unique(points[:, 0])) < 2
    degenerate_a = len(np.unique(points[:, 1])) < 2
    return SubjectThresholds(
        v_threshold=np.nan if degenerate_v else float(midpoint[0]),
        a_threshold=np.nan if degenerate_a else float(midpoint[1]),
        centres=centres,
        degenerate_valence=degenerate_v,
        degenerate_arousal=degenerate_a,
    )


def kmeans_thresholds(
    valence: np.ndarray, arousal: np.ndarray, *, seed: int = 0, n_init: int = 10
) -> tuple[float, float]:
    """(v_threshold, a_threshold) of one subject; NaN on a dimension k-means cannot split."""
    result = subject_kmeans(valence, arousal, seed=seed, n_init=n_init)
    return result.v_threshold, result.a_threshold


def binarize(ratings: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """1 where the rating is strictly above the threshold (high), 0 otherwise (tie → low)."""
    return (np.asarray(ratings, float) > np.asarray(threshold, float)).astype(np.int64)


def _check_trials(trials: pd.DataFrame, origin: str) -> pd.DataFrame:
    missing = [c for c in ("trial_id", "subject", "trial", "valence", "arousal") if c not in trials]
    if missing:
        raise ValueError(f"{origin}: missing column(s) {missing}")
    frame = trials.copy()
    for column in ("trial_id", "subject", "trial"):
        frame[column] = frame[column].astype(str)
    for column in ("valence", "arousal"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = frame.loc[~np.isfinite(values.to_numpy(float)), "trial_id"].tolist()
        if bad:
            raise ValueError(
                f"{origin}: {column} rating missing or not a number for trial(s) {bad[:10]}"
                f"{' …' if len(bad) > 10 else ''}"
            )
        frame[column] = values.astype(float)
    dupes = frame.loc[frame["trial_id"].duplicated(), "trial_id"].tolist()
    if dupes:
        raise ValueError(f"{origin}: duplicate trial_id(s) {dupes[:10]}")
    return frame


def assign_labels(
    trials: pd.DataFrame, *, seed: int = 0, n_init: int = 10, origin: str = "trials"
) -> pd.DataFrame:
    """labels.csv rows for every trial: per-subject k-means thresholds and binary labels.

    `trials` needs trial_id, subject, trial, valence, arousal (native scales). Rows keep the input
    order. Raises if no subject at all can be clustered (no fallback exists then).
    """
    frame = _check_trials(trials, origin)
    per_subject: dict[str, SubjectThresholds] = {}
    for subject, group in frame.groupby("subject", sort=True):
        per_subject[subject] = subject_kmeans(
            group["valence"].to_numpy(), group["arousal"].to_numpy(), seed=seed, n_init=n_init
        )
    fallback = {}
    for dim, attr in (("valence", "v_threshold"), ("arousal", "a_threshold")):
        good = [getattr(r, attr) for r in per_subject.values() if np.isfinite(getattr(r, attr))]
        if not good and any(not np.isfinite(getattr(r, attr)) for r in per_subject.values()):
            raise ValueError(
                f"{origin}: no subject has two distinct {dim} ratings, so k-means thresholds "
                "(and the fallback, their median) cannot be computed"
            )
        fallback[dim] = float(np.median(good)) if good else np.nan

    v_thr, a_thr, source = {}, {}, {}
    for subject, result in per_subject.items():
        fall_v, fall_a = result.degenerate_valence, result.degenerate_arousal
        v_thr[subject] = fallback["valence"] if fall_v else result.v_threshold
        a_thr[subject] = fallback["arousal"] if fall_a else result.a_threshold
        source[subject] = (
            "fallback_both" if fall_v and fall_a
            else "fallback_valence" if fall_v
            else "fallback_arousal" if fall_a
            else "kmeans"
        )
    out = frame[["trial_id", "subject", "trial", "valence", "arousal"]].copy()
    out["v_threshold"] = out["subject"].map(v_thr).astype(float)
    out["a_threshold"] = out["subject"].map(a_thr).astype(float)
    out["valence_label"] = binarize(out["valence"], out["v_threshold"])
    out["arousal_label"] = binarize(out["arousal"], out["a_threshold"])
    out["threshold_source"] = out["subject"].map(source)
    return out[LABEL_COLUMNS].reset_index(drop=True)


def read_trials(path: str | Path) -> pd.DataFrame:
    """trials.csv with the id columns kept as strings (PMEmo ids like 10031, DEAP s01)."""
    return pd.read_csv(path, dtype={"trial_id": str, "subject": str, "trial": str, "stimulus": str})


def read_labels(path: str | Path, dimension: str | None = None) -> pd.DataFrame:
    """labels.csv with the id columns as strings: the one labels reader.  Checks the id columns
    (and `{dimension}_label` when given) and unique trial ids; remembers `path` for the errors
    of `fold_labels`."""
    labels = pd.read_csv(path, dtype={"trial_id": str, "subject": str, "trial": str})
    need = {"trial_id", "subject"} | ({f"{dimension}_label"} if dimension else set())
    missing = need - set(labels.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    if labels["trial_id"].duplicated().any():
        dup = labels.loc[labels["trial_id"].duplicated(), "trial_id"].tolist()[:5]
        raise ValueError(f"{path}: duplicated trial_id {dup}")
    labels.attrs["path"] = str(path)
    return labels


def fold_labels(
    labels: pd.DataFrame, ids, dimension: str, *, fold: int, role: str
) -> pd.DataFrame:
    """The labels.csv rows of trials `ids` (one role of one fold), indexed by trial_id, each
    with a `{dimension}_label`; the error names the file, fold, role and trials otherwise."""
    origin = labels.attrs.get("path", "labels.csv")
    column = f"{dimension}_label"
    if column not in labels.columns:
        raise ValueError(f"{origin}: no column {column}")
    by_trial = labels.set_index("trial_id") if "trial_id" in labels.columns else labels
    ids = list(ids)
    unlabelled = [t for t in ids if t not in by_trial.index]
    if unlabelled:
        raise ValueError(f"{origin}: no label for {len(unlabelled)} fold {fold} {role} trials, "
                         f"e.g. {unlabelled[:5]}")
    rows = by_trial.loc[ids]
    empty = rows.index[rows[column].isna()].tolist()
    if empty:
        raise ValueError(f"{origin}: {column} is empty for fold {fold} {role} trials {empty[:5]}")
    return rows


def write_labels(
    trials_csv: str | Path, labels_csv: str | Path, *, seed: int, n_init: int
) -> pd.DataFrame:
    """Rule `labels`: trials.csv → labels.csv (see module docstring for the method)."""
    trials = read_trials(trials_csv)
    labels = assign_labels(trials, seed=seed, n_init=n_init, origin=str(trials_csv))
    Path(labels_csv).parent.mkdir(parents=True, exist_ok=True)
    atomic.to_csv(labels, labels_csv, index=False)
    return labels
