"""The one z-score helper: per signal (`zscore`) and per feature column with the statistics of the
training rows only (`standardise`), so that normalisation never sees validation or test data."""

from __future__ import annotations

import warnings

import numpy as np


def zscore(x: np.ndarray, min_std: float = 0.0) -> np.ndarray:
    """(x - mean) / std of one signal (population std); all zeros when std <= min_std."""
    x = np.asarray(x, dtype=float)
    std = float(x.std())
    if std <= min_std:
        return np.zeros_like(x)
    return (x - x.mean()) / std


def standardise(
    train: np.ndarray, *others: np.ndarray, dtype: type = np.float32
) -> list[np.ndarray]:
    """Column-wise (x - mean) / std with the training rows' NaN-aware mean and std, applied to
    `train` and every block of `others`; a constant column gets std 1, a NaN value 0 (the
    training mean)."""
    train = np.asarray(train, dtype=float)
    with warnings.catch_warnings():  # all-NaN columns: handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(train, axis=0)
        std = np.nanstd(train, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    out = []
    for block in (train, *others):
        z = (np.asarray(block, dtype=float) - mean) / std
        out.append(np.where(np.isfinite(z), z, 0.0).astype(dtype))
    return out
