"""The planted ceiling: how well the synthetic data's labels can be predicted at all.

A logistic regression on the generator's realised per-trial quantities (results/synthetic/
{dataset}/ground_truth.csv: number of SCRs, SCR rate, amplitude, tonic level; the models never
see them), standardised on the training fold, fitted on each fold's training trials (fraction
1.0, role `train` of splits.csv; no setting is chosen, so nothing is selected on validation or
test) and scored on the fold's test trials with the study's labels.  Per (dimension, fold) it
also writes the majority share of the test fold: the best a constant prediction scores there.
Tables 3 and 5 and the MAAN table print the result and each row's share of it (docs/ceiling.md).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic

GROUND_TRUTH_FEATURES = ("n_scr", "scr_rate_per_min", "scr_amplitude_us", "tonic_level_us")
COLUMNS = ("dataset", "dimension", "fold", "accuracy", "majority", "n_train", "n_test",
           "n_subjects_test", "features", "c")


def majority_share(y_true) -> float:
    """Share of the most frequent class among `y_true` (what a constant prediction scores at
    best on these trials)."""
    y = np.asarray(y_true)
    if y.size == 0:
        raise ValueError("majority_share: no trials")
    return float(np.unique(y, return_counts=True)[1].max() / y.size)


def share_recovered(ours: float, majority: float, ceiling: float) -> float:
    """(ours - majority) / (ceiling - majority); NaN when the ceiling does not beat majority."""
    values = (ours, majority, ceiling)
    if any(v is None or not math.isfinite(float(v)) for v in values) or ceiling <= majority:
        return float("nan")
    return (float(ours) - float(majority)) / (float(ceiling) - float(majority))


def _read(path: str | Path, what: str, need: set[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype={"trial_id": str, "subject": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{path}: cannot read {what} ({err})") from err
    missing = sorted(need - set(frame.columns))
    if missing:
        raise ValueError(f"{path}: {what} lacks column(s) {missing}")
    return frame


def ceiling_folds(
    truth: pd.DataFrame,
    labels: pd.DataFrame,
    splits: pd.DataFrame,
    *,
    dataset: str,
    dimensions: list[str],
    features: list[str],
    c: float,
    fraction: float = 1.0,
    origin: str = "ground_truth.csv",
) -> pd.DataFrame:
    """One row per (dimension, fold): the ceiling's test accuracy and the test fold's majority
    share, fitted on the fold's training trials only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from edaffect.model_selection.splits import load_fold

    truth = truth.drop_duplicates("trial_id").set_index("trial_id")
    bad = truth[list(features)].isna().any(axis=1) | ~np.isfinite(
        truth[list(features)].to_numpy(dtype=float)).all(axis=1)
    if bad.any():
        raise ValueError(f"{origin}: non-finite {list(features)} in trials "
                         f"{truth.index[bad].tolist()[:5]}")
    by_trial = labels.set_index("trial_id")
    folds = sorted(splits.loc[np.isclose(splits["fraction"].astype(float), fraction), "fold"]
                   .astype(int).unique())
    if not folds:
        raise ValueError(f"splits: no folds of fraction {fraction:g}")
    rows = []
    for dimension in dimensions:
        column = f"{dimension}_label"
        if column not in by_trial.columns:
            raise ValueError(f"labels: no column {column}")
        for fold in folds:
            roles = load_fold(splits, fraction, fold)
            parts = {}
            for role in ("train", "test"):
                ids = [t for t in roles[role] if t in by_trial.index
                       and not pd.isna(by_trial.at[t, column])]
                unknown = [t for t in ids if t not in truth.index]
                if unknown:
                    raise ValueError(f"{origin}: no ground truth for fold {fold} {role} trials "
                                     f"{unknown[:5]}")
                parts[role] = (truth.loc[ids, list(features)].to_numpy(dtype=float),
                               by_trial.loc[ids, column].to_numpy(dtype=int),
                               by_trial.loc[ids, "subject"].astype(str).to_numpy())
            x_train, y_train, _ = parts["train"]
            x_test, y_test, test_subjects = parts["test"]
            if len(y_test) == 0 or len(np.unique(y_train)) < 2:
                raise ValueError(f"{dataset} {dimension} fold {fold}: the training fold needs "
                                 "both classes and the test fold a trial")
            scaler = StandardScaler().fit(x_train)
            model = LogisticRegression(C=c, max_iter=1000).fit(scaler.transform(x_train), y_train)
            y_pred = model.predict(scaler.transform(x_test))
            rows.append({
                "dataset": dataset, "dimension": dimension, "fold": int(fold),
                "accuracy": float(np.mean(y_pred == y_test)),
                "majority": majority_share(y_test), "n_train": len(y_train),
                "n_test": len(y_test), "n_subjects_test": len(set(test_subjects)),
                "features": "+".join(features), "c": float(c),
            })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_ceiling(
    ground_truth_csv: str | Path,
    labels_csv: str | Path,
    splits_csv: str | Path,
    out_csv: str | Path,
    *,
    dataset: str,
    dimensions: list[str],
    features: list[str],
    c: float,
) -> pd.DataFrame:
    """Rule `planted_ceiling`: ground truth, labels, folds -> the ceiling per dimension and fold."""
    from edaffect.model_selection.labels import read_labels
    from edaffect.model_selection.splits import read_splits

    truth = _read(ground_truth_csv, "the generator's ground truth",
                  {"trial_id", *features})
    frame = ceiling_folds(
        truth, read_labels(labels_csv), read_splits(splits_csv), dataset=dataset,
        dimensions=dimensions, features=features, c=c, origin=str(ground_truth_csv),
    )
    atomic.to_csv(frame, out_csv, index=False)
    return frame


def load_ceiling(path: str | Path) -> pd.DataFrame:
    """A planted_ceiling.csv as written by `write_ceiling` (columns checked)."""
    frame = _read(path, "planted ceiling", set(COLUMNS))
    if frame.empty:
        raise ValueError(f"{path}: planted ceiling has no rows")
    return frame


def summary(frame: pd.DataFrame, dimension: str) -> dict:
    """Mean/std over folds (in percent) of the ceiling and of the test folds' majority share."""
    sub = frame[frame["dimension"] == dimension]
    if sub.empty:
        return {}
    acc = sub["accuracy"].astype(float) * 100.0
    return {
        "accuracy_mean": float(acc.mean()),
        "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
        "majority_mean": float(sub["majority"].astype(float).mean() * 100.0),
        "n_folds": len(sub), "n_test": int(sub["n_test"].sum()),
        "n_subjects": int(sub["n_subjects_test"].sum()),
    }


def describe(settings: dict) -> str:
    """What the ceiling is, for a table header (settings: config `planted_ceiling`)."""
    return (
        f"Planted ceiling (synthetic data only): logistic regression (C = {settings['c']:g}, "
        "standardised on the training fold) on the generator's realised per-trial "
        f"{', '.join(settings['features'])} (results/synthetic/<dataset>/ground_truth.csv; no "
        "model sees them), fitted on each fold's training subjects and scored on its test "
        "subjects with the same labels. An upper bound on what the EDA carries: "
        "noisy-electrode subjects' recordings hide these quantities from any model; a model "
        "that reads the stimulus can exceed it (docs/ceiling.md). Share of ceiling = "
        "(ours − majority) / (ceiling − majority), majority = the test fold's majority-class "
        "share (the best a constant prediction scores there), each averaged over folds; rows "
        "on all subjects (fraction 1.0) only; — where the ceiling does not beat the majority."
    )

