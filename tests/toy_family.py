"""A toy model family for the "Add a model" walkthrough (docs/architecture.md): a nearest-
centroid classifier on the 128 hand-crafted EDA features, registered through config only:

    model_families: {toy: tests/toy_family.py:FAMILY}
    experiments: {toy_eda: {model: toy, input: eda_features, datasets: [pmemo]}}
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
from sklearn.neighbors import NearestCentroid

from edaffect.model_selection.metrics import binary_metrics
from edaffect.training.fold_runner import FoldJob, ModelFamily


def toy_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """The stage files one fold reads (keys = keyword arguments of load_fold_data)."""
    return {
        "splits_csv": f"results/{dataset}/splits.csv",
        "labels_csv": f"results/{dataset}/labels.csv",
        "eda_features_csv": f"results/{dataset}/eda_features.csv",
    }


def train_toy(job: FoldJob) -> list[dict]:
    """Fit on the training role, score the test role once, write the three run files."""
    from edaffect.training.trainer import load_fold_data

    results = []
    for fold, run_dir in zip(job.folds, job.run_dirs, strict=True):
        train, _, test, _ = load_fold_data(job.experiment, job.dimension, fold, **job.inputs)
        shrink = job.experiment["options"].get("shrink")  # family setting; None: no shrinkage
        model = NearestCentroid(shrink_threshold=shrink).fit(train.x, train.y)
        y_pred = model.predict(test.x)
        metrics = {
            "experiment": job.experiment["name"], "dataset": job.dataset,
            "dimension": job.dimension, "fold": fold, "model": "toy",
            **binary_metrics(test.y, y_pred), "n_train": len(train), "n_test": len(test),
        }
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"trial_id": test.trial_id, "subject": test.subject, "y_true": test.y,
                      "y_pred": y_pred, "p_high": y_pred.astype(float)}).to_csv(
            run_dir / "predictions.csv", index=False)
        (run_dir / "model.pt").write_bytes(pickle.dumps(model))
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
        results.append(metrics)
    return results


FAMILY = ModelFamily(
    name="toy",
    inputs=toy_inputs,
    train=train_toy,
    settings=(),
    gpu=False,
    mem_mb=1000,
    runtime_min=10,
)
