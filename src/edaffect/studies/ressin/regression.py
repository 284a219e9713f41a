"""Res-SIN Table 1: regression pre-experiment (MLR and SVR fitting static valence/arousal).

Following PMEmo's baseline protocol as Res-SIN §3.2 describes it: each input signal ("baseline" =
the EDA itself, or its cvxEDA tonic or phasic component) is low-pass filtered at 0.6 Hz and
z-scored per trial; we then sample it at `n_points` equally spaced instants so that every trial
gives the same number of regressors.  Models are fitted on the training subjects of each
subject-independent fold (train and validation roles: nothing is selected, so the validation
subjects are simply more training data) and scored on the fold's test subjects; RMSE and Pearson
r are computed over the pooled out-of-fold predictions (each trial is predicted exactly once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import butter, sosfiltfilt
from scipy.stats import pearsonr
from sklearn.linear_model import LinearRegression
from sklearn.svm import SVR

log = logging.getLogger(__name__)

# Table 1 inputs: our name -> index in the (origin, phasic, tonic) component array.
REGRESSION_INPUTS = {"baseline": 0, "tonic": 2, "phasic": 1}
METHODS = ("MLR", "SVR")
# SVR settings (RBF, scikit-learn's scale heuristic); epsilon suits targets on a 0-1 scale.
SVR_PARAMS = {"kernel": "rbf", "C": 1.0, "epsilon": 0.05, "gamma": "scale"}


@dataclass
class RegressionSettings:
    """config.yaml `ressin.regression`."""

    lowpass_hz: float = 0.6
    n_points: int = 32
    filter_order: int = 4


def lowpass(y: np.ndarray, fs: float, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass (the pre-experiment's 0.6 Hz filter)."""
    if cutoff_hz >= fs / 2:
        raise ValueError(f"low-pass cutoff {cutoff_hz} Hz is not below Nyquist ({fs / 2} Hz)")
    sos = butter(order, cutoff_hz, btype="low", fs=fs, output="sos")
    return sosfiltfilt(sos, np.asarray(y, dtype=np.float64))


def signal_regressors(y: np.ndarray, fs: float, settings: RegressionSettings) -> np.ndarray:
    """Low-pass, z-score, then `n_points` equally spaced samples (linear interpolation)."""
    filtered = lowpass(y, fs, settings.lowpass_hz, settings.filter_order)
    sd = filtered.std()
    z = (filtered - filtered.mean()) / sd if sd > 1e-12 else np.zeros_like(filtered)
    grid = np.linspace(0.0, len(z) - 1.0, settings.n_points)
    return np.interp(grid, np.arange(len(z)), z)


def regressor_matrix(
    components: dict[str, np.ndarray],
    fs: dict[str, float],
    trial_ids: list[str],
    input_name: str,
    settings: RegressionSettings,
) -> np.ndarray:
    """(n_trials, n_points) regressors of one input for the given trials."""
    index = REGRESSION_INPUTS[input_name]
    return np.stack(
        [signal_regressors(components[t][index], fs[t], settings) for t in trial_ids]
    )


def make_regressor(method: str):
    """A fresh MLR (ordinary least squares) or SVR model."""
    if method == "MLR":
        return LinearRegression()
    if method == "SVR":
        return SVR(**SVR_PARAMS)
    raise ValueError(f"unknown regression method {method!r}; expected one of {METHODS}")


def out_of_fold_predictions(
    x: np.ndarray,
    y: np.ndarray,
    fold_of: np.ndarray,
    train_folds: dict[int, np.ndarray],
    method: str,
) -> np.ndarray:
    """Predictions for every row from a model fitted on that row's fold's training rows.

    `fold_of[i]` is the fold whose test set holds row i; `train_folds[k]` is a boolean mask of
    the rows that fold k may train on (never a test-subject row of fold k).
    """
    predictions = np.full(len(y), np.nan)
    for fold, train_mask in train_folds.items():
        test_mask = fold_of == fold
        if not test_mask.any():
            continue
        if (train_mask & test_mask).any():
            raise ValueError(f"fold {fold}: a trial is both a training and a test row")
        model = make_regressor(method).fit(x[train_mask], y[train_mask])
        predictions[test_mask] = model.predict(x[test_mask])
    return predictions


def rmse_and_r(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """Root mean square error and Pearson r (NaN when the predictions are constant)."""
    rmse = float(np.sqrt(np.mean((y_true - y_pred) ** 2)))
    if np.std(y_pred) < 1e-12 or np.std(y_true) < 1e-12:
        return rmse, float("nan")
    return rmse, float(pearsonr(y_true, y_pred)[0])


def run_regression(
    components: dict[str, np.ndarray],
    fs: dict[str, float],
    labels: pd.DataFrame,
    splits: pd.DataFrame,
    dimensions: list[str],
    settings: RegressionSettings,
) -> pd.DataFrame:
    """Table 1 rows (method, dimension, input, rmse, pearson_r, n_trials, n_folds) on the
    full-subject folds (`fraction` == 1) of `splits`."""
    folds = splits[np.isclose(splits["fraction"].astype(float), 1.0)]
    tests = folds[folds["role"] == "test"]
    usable = set(components) & set(labels["trial_id"].astype(str)) & set(tests["trial_id"])
    trial_ids = sorted(usable)
    if not trial_ids:
        raise ValueError("no trial has both Res-SIN components, a label and a test fold")
    missing = len(set(tests["trial_id"])) - len(usable)
    if missing:
        log.info("%d test-fold trials have no components or label and are left out", missing)
    position = {t: i for i, t in enumerate(trial_ids)}
    fold_of = np.full(len(trial_ids), -1)
    for row in tests.itertuples(index=False):
        if row.trial_id in position:
            fold_of[position[row.trial_id]] = int(row.fold)
    train_folds: dict[int, np.ndarray] = {}
    for fold, frame in folds.groupby("fold"):
        mask = np.zeros(len(trial_ids), dtype=bool)
        for trial_id in frame.loc[frame["role"].isin(["train", "val"]), "trial_id"]:
            if trial_id in position:
                mask[position[trial_id]] = True
        train_folds[int(fold)] = mask
    label_by_id = labels.set_index(labels["trial_id"].astype(str))
    rows = []
    for input_name in REGRESSION_INPUTS:
        x = regressor_matrix(components, fs, trial_ids, input_name, settings)
        for dimension in dimensions:
            y = label_by_id.loc[trial_ids, dimension].to_numpy(dtype=np.float64)
            for method in METHODS:
                pred = out_of_fold_predictions(x, y, fold_of, train_folds, method)
                rmse, r = rmse_and_r(y, pred)
                rows.append(
                    {
                        "method": method,
                        "dimension": dimension,
                        "input": input_name,
                        "rmse": rmse,
                        "pearson_r": r,
                        "n_trials": len(trial_ids),
                        "n_folds": len(train_folds),
                    }
                )
                log.info("%s %s %s: RMSE %.4f r %.4f", method, dimension, input_name, rmse, r)
    return pd.DataFrame(rows)
