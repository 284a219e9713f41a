"""The paper's SVM baselines (Table 3): linear SVM, C = 0.25, on the 128 hand-crafted EDA
features ("SVM") or on the songs' openSMILE features ("SVM [62] Music"), per fold.

Same folds and labels as the networks (splits.csv, labels.csv). The scaler and the SVM are
fitted on the training fold only; C is fixed (paper §5.2.1, after [12]), so the validation
fold is not used; the test fold is scored once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from edaffect.model_selection.labels import fold_labels, read_labels

log = logging.getLogger(__name__)

INPUT_KINDS = ("eda_features", "music_features", "eda_features+music_features")
ROLES = ("train", "val", "test")


@dataclass
class FoldTable:
    """One role of one fold: trial ids, subjects, features (n, F) and binary labels (n,)."""

    trial_id: list[str]
    subject: list[str]
    x: np.ndarray
    y: np.ndarray


def svm_pipeline(c: float) -> Pipeline:
    """The reference model: scikit-learn StandardScaler + linear-kernel SVC (libsvm).
    `LinearSVM` fits the same model faster; tests compare the two."""
    return Pipeline([("scale", StandardScaler()), ("svm", SVC(kernel="linear", C=float(c)))])


@dataclass
class LinearSVM:
    """StandardScaler + linear SVM (libsvm's C-SVC) fitted on training rows only.

    Identical (features, label) rows - every listener of a song who gave it the same label, in
    the music SVM - are merged into one row weighted by its count (the same primal objective,
    C * count * hinge, and the same scaler statistics), and libsvm gets the precomputed Gram
    matrix (one BLAS product) instead of evaluating 6,373-dimensional dot products itself:
    ~100x faster on the music features, the same solution.
    """

    c: float
    scaler: StandardScaler | None = None
    coef: np.ndarray | None = None  # (F,) weights on the scaled features
    intercept: float = 0.0
    classes: np.ndarray | None = None
    n_support: int = 0

    def fit(self, x: np.ndarray, y: np.ndarray) -> LinearSVM:
        rows, counts = _unique_rows(np.column_stack([x, y]))
        weights = counts.astype(np.float64)
        features, labels = rows[:, :-1], rows[:, -1].astype(np.int64)
        self.scaler = StandardScaler().fit(features, sample_weight=weights)
        z = self.scaler.transform(features)
        svm = SVC(kernel="precomputed", C=float(self.c))
        svm.fit(z @ z.T, labels, sample_weight=weights)
        self.coef = svm.dual_coef_[0] @ z[svm.support_]
        self.intercept = float(svm.intercept_[0])
        self.classes = svm.classes_
        self.n_support = int(svm.n_support_.sum())
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Signed distance-like score; > 0 means classes[1] (the high class)."""
        return self.scaler.transform(x) @ self.coef + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.where(self.decision_function(x) > 0, self.classes[1], self.classes[0])


def _unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows of a 2-D float array (byte-wise, sorted) and their counts; hashing each
    row as one opaque value is ~50x faster than np.unique(axis=0) on 6,000 columns."""
    a = np.ascontiguousarray(a, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    view = a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()
    _, first, counts = np.unique(view, return_index=True, return_counts=True)
    return a[first], counts


def fold_rows(
    splits: pd.DataFrame, fraction: float, fold: int, keep: set[str] | None = None
) -> dict[str, pd.DataFrame]:
    """splits.csv rows of one (fraction, fold) per role (train/val/test; dropped left out),
    through the splits stage's `load_fold`. `keep`: the trials that have model inputs
    (inputs_index.csv), so that baselines see exactly the networks' trials."""
    from edaffect.model_selection.splits import load_fold

    ids = load_fold(splits, fraction, fold)
    info = splits.drop_duplicates("trial_id").set_index("trial_id")[["subject", "stimulus"]]
    out = {}
    for role in ROLES:
        chosen = [t for t in ids[role] if keep is None or t in keep]
        out[role] = info.loc[chosen].reset_index()
    return out


def design_matrix(
    rows: pd.DataFrame,
    kind: str,
    eda_features: pd.DataFrame | None,
    music_features: pd.DataFrame | None,
) -> np.ndarray:
    """Feature rows for the given split rows: by trial_id (EDA) and/or by stimulus (music)."""
    if kind not in INPUT_KINDS:
        raise ValueError(f"SVM input must be one of {INPUT_KINDS}, not {kind!r}")
    blocks = []
    if "eda_features" in kind:
        if eda_features is None:
            raise ValueError(f"input {kind!r} needs eda_features.csv")
        missing = [t for t in rows["trial_id"] if t not in eda_features.index]
        if missing:
            raise ValueError(
                f"eda_features.csv has no row for {len(missing)} trials of splits.csv, "
                f"e.g. {missing[:5]} (see eda_features_excluded.csv)"
            )
        blocks.append(eda_features.loc[list(rows["trial_id"])].to_numpy(dtype=np.float64))
    if "music_features" in kind:
        if music_features is None:
            raise ValueError(f"input {kind!r} needs music_features.csv")
        missing = sorted({s for s in rows["stimulus"] if s not in music_features.index})
        if missing:
            raise ValueError(f"music_features.csv has no row for songs {missing[:5]}")
        blocks.append(music_features.loc[list(rows["stimulus"])].to_numpy(dtype=np.float64))
    return np.hstack(blocks) if blocks else np.empty((len(rows), 0))


def build_fold(
    splits: pd.DataFrame,
    labels: pd.DataFrame,
    dimension: str,
    fraction: float,
    fold: int,
    kind: str,
    eda_features: pd.DataFrame | None = None,
    music_features: pd.DataFrame | None = None,
    keep: set[str] | None = None,
) -> dict[str, FoldTable]:
    """train/val/test FoldTables of one fold, labels `{dimension}_label` from labels.csv."""
    out = {}
    for role, rows in fold_rows(splits, fraction, fold, keep).items():
        labelled = fold_labels(labels, rows["trial_id"], dimension, fold=fold, role=role)
        y = labelled[f"{dimension}_label"].to_numpy()
        out[role] = FoldTable(
            trial_id=list(rows["trial_id"]),
            subject=list(rows["subject"]),
            x=design_matrix(rows, kind, eda_features, music_features),
            y=y.astype(np.int64),
        )
    return out


def fit_predict(
    train: FoldTable, test: FoldTable, c: float
) -> tuple[LinearSVM | None, np.ndarray, np.ndarray]:
    """Fit on `train` only, predict `test`: (model, y_pred, p_high).

    p_high = logistic(decision value): a monotone score for the high class, not a calibrated
    probability. A single-class training fold gives the constant classifier (model None).
    """
    classes = np.unique(train.y)
    if classes.size < 2:
        log.warning("training fold has only class %s: predicting it for every test trial", classes)
        y_pred = np.full(len(test.y), int(classes[0]), dtype=np.int64)
        return None, y_pred, y_pred.astype(np.float64)
    model = LinearSVM(c).fit(train.x, train.y)
    decision = model.decision_function(test.x)
    y_pred = model.predict(test.x).astype(np.int64)
    p_high = expit(decision)
    return model, y_pred, p_high


def fit_svm_fold(
    *,
    experiment: str,
    dataset: str,
    dimension: str,
    fold: int,
    fraction: float,
    kind: str,
    c: float,
    splits: pd.DataFrame,
    labels: pd.DataFrame,
    eda_features: pd.DataFrame | None = None,
    music_features: pd.DataFrame | None = None,
    keep: set[str] | None = None,
) -> tuple[dict, pd.DataFrame, LinearSVM | None]:
    """One fold of an SVM experiment -> (metrics.json dict, predictions, fitted model; None:
    constant classifier).  `keep`: trial ids with model inputs (inputs_index.csv); None uses
    every split trial."""
    from edaffect.model_selection.metrics import binary_metrics

    parts = build_fold(
        splits, labels, dimension, fraction, fold, kind, eda_features, music_features, keep
    )
    train, val, test = parts["train"], parts["val"], parts["test"]
    if len(test.y) == 0:
        raise ValueError(f"{dataset} fraction {fraction} fold {fold}: empty test set")
    if len(train.y) == 0:
        raise ValueError(f"{dataset} fraction {fraction} fold {fold}: empty training set")
    start = time.perf_counter()
    model, y_pred, p_high = fit_predict(train, test, c)
    seconds = time.perf_counter() - start
    metrics = {
        "experiment": experiment,
        "dataset": dataset,
        "dimension": dimension,
        "fold": int(fold),
        "model": "svm",
        **binary_metrics(test.y, y_pred),
        "n_train": len(train.y),
        "n_val": len(val.y),
        "n_test": len(test.y),
        "n_parameters": int(train.x.shape[1] + 1) if model is not None else 0,
        "n_features": int(train.x.shape[1]),
        "n_support": model.n_support if model is not None else 0,
        "input": kind,
        "fraction": float(fraction),
        "C": float(c),
        "validation": "unused (C fixed at the paper's value)",
        "train_seconds": seconds,
        "device": "cpu",
    }
    predictions = pd.DataFrame(
        {
            "trial_id": test.trial_id,
            "subject": test.subject,
            "y_true": test.y,
            "y_pred": y_pred,
            "p_high": p_high,
        }
    )
    log.info(
        "%s %s %s fold %d: accuracy %.3f f1 %.3f (n_train %d, n_test %d, %.2f s)",
        experiment, dataset, dimension, fold, metrics["accuracy"], metrics["f1"],
        len(train.y), len(test.y), seconds,
    )
    return metrics, predictions, model


def read_splits(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"trial_id": str, "subject": str, "stimulus": str})


def read_inputs_index(path: str | Path) -> set[str]:
    """Trial ids that have model inputs (the decomposition stage's inputs_index.csv)."""
    return set(pd.read_csv(path, dtype={"trial_id": str})["trial_id"])


def read_fold_tables(inputs: dict) -> dict:
    """The tables of an SVM fold from its stage files (`splits_csv`, `labels_csv`; when present
    `eda_features_csv`, `music_features_csv`, `inputs_index_csv`): the `splits`, `labels`,
    `eda_features`, `music_features` and `keep` keywords of `fit_svm_fold`."""
    from edaffect.signal.eda_features import read_features
    from edaffect.signal.music import read_music_table

    eda, music, index = (inputs.get(key) for key in
                         ("eda_features_csv", "music_features_csv", "inputs_index_csv"))
    return {
        "splits": read_splits(inputs["splits_csv"]),
        "labels": read_labels(inputs["labels_csv"]),
        "eda_features": read_features(eda) if eda else None,
        "music_features": read_music_table(music) if music else None,
        "keep": read_inputs_index(index) if index else None,
    }


def write_svm_fold(run_dir: str | Path, inputs: dict, **fold) -> dict:
    """One SVM fold from the stage files `inputs` (see `read_fold_tables`) into `run_dir`:
    metrics.json, predictions.csv and model.pt (the fitted LinearSVM pickled; None for a
    constant classifier).  `fold`: `fit_svm_fold`'s experiment, dataset, dimension, fold,
    fraction, kind and c."""
    from edaffect.training.run_files import write_run_files

    metrics, predictions, model = fit_svm_fold(**fold, **read_fold_tables(inputs))
    write_run_files(run_dir, metrics, predictions,
                    {"model": model, "kind": fold["kind"], "c": float(fold["c"])},
                    model_format="pickle")
    return metrics
