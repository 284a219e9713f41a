"""`stimulus-only` baseline of Table 3 (issue 14 item 8): predict a test trial's label as the
majority label of its stimulus (song / video) among the training fold's trials.

It reads no signal at all, so its accuracy is how much of any model's accuracy a stimulus lookup
already explains. Same folds (subject-independent), labels and trials (those with model inputs)
as the networks and SVMs; fit on the training role only, the validation role is unused (nothing
to select). A stimulus absent from the training fold, or tied, takes the training fold's overall
majority (ties of that: the low class, 0). `p_high` is the stimulus's share of high labels in
training. Registered as model family `stimulus` (config `model_families`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.training.fold_runner import FoldJob, ModelFamily
from edaffect.training.run_files import write_run_files

log = logging.getLogger(__name__)


def stimulus_fold_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """Folds, labels and the networks' trial list (so the same trials are scored)."""
    return {
        "splits_csv": f"results/{dataset}/splits.csv",
        "labels_csv": f"results/{dataset}/labels.csv",
        "inputs_index_csv": f"results/{dataset}/inputs_index.csv",
    }


def fit_lookup(stimuli: pd.Series, labels: pd.Series) -> tuple[dict[str, float], int]:
    """Per-stimulus share of high labels in training, and the training majority (tie: 0)."""
    frame = pd.DataFrame({"stimulus": stimuli.astype(str).to_numpy(),
                          "y": labels.astype(int).to_numpy()})
    if frame.empty:
        raise ValueError("stimulus baseline: empty training fold")
    share = frame.groupby("stimulus")["y"].mean().to_dict()
    majority = int(frame["y"].mean() > 0.5)
    return {str(k): float(v) for k, v in share.items()}, majority


def predict_lookup(lookup: dict[str, float], majority: int, stimuli) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """(y_pred, p_high): the stimulus's majority; unseen or tied stimuli -> `majority`."""
    shares = np.array([lookup.get(str(s), np.nan) for s in stimuli], dtype=float)
    y = np.where(np.isnan(shares) | (shares == 0.5), majority, (shares > 0.5).astype(int))
    p = np.where(np.isnan(shares), float(majority), shares)
    return y.astype(np.int64), p


def run_stimulus_fold(
    *, experiment: str, dataset: str, dimension: str, fold: int, fraction: float,
    splits: pd.DataFrame, labels: pd.DataFrame, keep: set[str] | None,
) -> tuple[dict, pd.DataFrame, dict]:
    """One fold -> (metrics.json dict, predictions, fitted lookup)."""
    from edaffect.model_selection.metrics import binary_metrics
    from edaffect.model_selection.splits import load_fold

    roles = load_fold(splits, fraction, fold)
    info = splits.drop_duplicates("trial_id").set_index("trial_id")
    lab = labels.set_index("trial_id")
    column = f"{dimension}_label"
    parts = {}
    for role in ("train", "val", "test"):
        ids = [t for t in roles[role] if keep is None or t in keep]
        missing = [t for t in ids if t not in lab.index]
        if missing:
            raise ValueError(f"labels.csv: no label for fold {fold} {role} trials {missing[:5]}")
        parts[role] = ids
    train, test = parts["train"], parts["test"]
    if not test:
        raise ValueError(f"{dataset} fold {fold}: empty test set")
    lookup, majority = fit_lookup(info.loc[train, "stimulus"], lab.loc[train, column])
    y_true = lab.loc[test, column].astype(int).to_numpy()
    y_pred, p_high = predict_lookup(lookup, majority, info.loc[test, "stimulus"])
    unseen = sum(str(s) not in lookup for s in info.loc[test, "stimulus"])
    metrics = {
        "experiment": experiment, "dataset": dataset, "dimension": dimension, "fold": int(fold),
        "model": "stimulus", **binary_metrics(y_true, y_pred),
        "n_train": len(train), "n_val": len(parts["val"]), "n_test": len(test),
        "n_parameters": len(lookup) + 1, "n_test_unseen_stimulus": int(unseen),
        "fraction": float(fraction), "validation": "unused (nothing to select)",
        "device": "cpu",
    }
    predictions = pd.DataFrame({
        "trial_id": test, "subject": lab.loc[test, "subject"].astype(str).to_numpy(),
        "y_true": y_true, "y_pred": y_pred, "p_high": p_high,
    })
    log.info("%s %s %s fold %d: accuracy %.3f (%d test trials, %d of an unseen stimulus)",
             experiment, dataset, dimension, fold, metrics["accuracy"], len(test), unseen)
    return metrics, predictions, {"lookup": lookup, "majority": majority}


def _write_run(run_dir: Path, metrics: dict, predictions: pd.DataFrame, model: dict) -> None:
    """The fold's run files (`training.run_files`), the lookup pickled."""
    write_run_files(run_dir, metrics, predictions, model, model_format="pickle")


def train_folds(job: FoldJob) -> list[dict]:
    """Fold-runner trainer: every fold of the job -> metrics.json, predictions.csv, model.pt
    (the pickled lookup)."""
    from edaffect.training.baselines import read_inputs_index, read_labels, read_splits

    splits = read_splits(job.inputs["splits_csv"])
    labels = read_labels(job.inputs["labels_csv"])
    keep = read_inputs_index(job.inputs["inputs_index_csv"])
    results = []
    for fold, run_dir in zip(job.folds, job.run_dirs, strict=True):
        metrics, predictions, model = run_stimulus_fold(
            experiment=job.experiment["name"], dataset=job.dataset, dimension=job.dimension,
            fold=fold, fraction=float(job.experiment["fraction"]), splits=splits,
            labels=labels, keep=keep,
        )
        _write_run(Path(run_dir), metrics, predictions, model)
        results.append(metrics)
    return results


FAMILY = ModelFamily(
    "stimulus", stimulus_fold_inputs, "edaffect.training.stimulus_baseline:train_folds", (),
    gpu=False, mem_mb=2000, runtime_min=10,
)
