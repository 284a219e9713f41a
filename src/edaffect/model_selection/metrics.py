"""Binary classification metrics shared by the networks and the baselines."""

from __future__ import annotations

import numpy as np


def binary_metrics(y_true, y_pred) -> dict:
    """Accuracy, balanced accuracy (mean recall over the classes present), F1 / precision /
    recall of the high class (label 1) and the confusion matrix [[tn, fp], [fn, tp]].  Undefined
    ratios (no predicted or no true positives) are 0."""
    t = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(y_pred).astype(int).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels but y_pred has {p.size}")
    if t.size == 0:
        raise ValueError("binary_metrics: no samples to score")
    bad = sorted(set(np.unique(np.concatenate([t, p])).tolist()) - {0, 1})
    if bad:
        raise ValueError(f"binary_metrics: labels must be 0 or 1, got {bad}")
    tp = int(np.sum((t == 1) & (p == 1)))
    tn = int(np.sum((t == 0) & (p == 0)))
    fp = int(np.sum((t == 0) & (p == 1)))
    fn = int(np.sum((t == 1) & (p == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    recalls = [hits / n for hits, n in ((tn, tn + fp), (tp, tp + fn)) if n]
    return {
        "accuracy": (tp + tn) / t.size,
        "balanced_accuracy": float(np.mean(recalls)),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }
