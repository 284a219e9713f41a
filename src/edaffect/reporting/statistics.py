"""Fold-paired comparison of two models: difference, 95 % CI and p-value.

Test used: the corrected resampled t-test of Nadeau & Bengio (2003), in its k-fold form
(Bouckaert & Frank 2004). Why this rather than the Wilcoxon signed-rank test: the k folds of a
cross-validation share most of their training data (8 of 10 subject subsets here), so the per-fold
differences are positively correlated; a plain paired t-test and the Wilcoxon test both assume
independent pairs and are then too liberal. The corrected test inflates the variance of the mean
difference from s²/k to (1/k + n_test/n_train)·s², which accounts for that overlap. It also gives
a 95 % confidence interval of the difference in the metric's own units (Wilcoxon would give only a
rank-based p with, for k = 10 and small test folds, many tied or zero differences).

Pairs are formed by fold only when both models were scored on the same folds of the same split:
same dataset, same subject fraction and, per fold, the same number of test trials. Otherwise the
comparison is reported as "not paired" with the reason, never paired wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

TEST_NAME = "corrected resampled t-test (Nadeau & Bengio 2003), k-fold form"


@dataclass(frozen=True)
class PairedComparison:
    """Model minus reference over paired folds; `paired` False leaves the numbers as NaN."""

    paired: bool
    reason: str
    n_pairs: int = 0
    mean_diff: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    t_stat: float = float("nan")
    p_value: float = float("nan")


def corrected_resampled_ttest(
    diffs: np.ndarray, test_train_ratio: float, confidence: float = 0.95
) -> PairedComparison:
    """Corrected resampled t-test of per-fold differences (model − reference).

    `test_train_ratio` is n_test / n_train of one fold (mean over folds). Returns the mean
    difference, its `confidence` CI and the two-sided p-value (t distribution, k − 1 df).
    """
    diffs = np.asarray(diffs, dtype=float)
    k = diffs.size
    if k < 2:
        return PairedComparison(False, f"not paired: {k} common fold(s), need at least 2", k)
    if not np.all(np.isfinite(diffs)):
        raise ValueError(f"per-fold differences contain non-finite values: {diffs.tolist()}")
    if test_train_ratio < 0:
        raise ValueError(f"n_test/n_train must be >= 0, got {test_train_ratio}")
    mean = float(diffs.mean())
    var = float(diffs.var(ddof=1))
    scale = np.sqrt((1.0 / k + test_train_ratio) * var)
    t_crit = float(stats.t.ppf(0.5 + confidence / 2.0, df=k - 1))
    if scale == 0.0:
        # Identical differences in every fold: no spread, the CI collapses onto the mean.
        p_value = 1.0 if mean == 0.0 else 0.0
        t_stat = 0.0 if mean == 0.0 else float(np.sign(mean) * np.inf)
        return PairedComparison(True, "paired by fold", k, mean, mean, mean, t_stat, p_value)
    t_stat = mean / scale
    p_value = float(2.0 * stats.t.sf(abs(t_stat), df=k - 1))
    return PairedComparison(
        True,
        "paired by fold",
        k,
        mean,
        mean - t_crit * scale,
        mean + t_crit * scale,
        float(t_stat),
        p_value,
    )


def compare_folds(
    model: dict[int, float],
    reference: dict[int, float],
    *,
    model_n_test: dict[int, int],
    reference_n_test: dict[int, int],
    n_train: dict[int, int],
    same_split: bool,
    split_note: str = "",
    model_test_ids: dict[int, frozenset] | None = None,
    reference_test_ids: dict[int, frozenset] | None = None,
) -> PairedComparison:
    """Pair two models' per-fold scores by fold and test model − reference.

    `same_split` says whether both were scored on the same split (dataset and subject fraction);
    when False, or when the folds, their test sizes or (if given) their test trial ids differ,
    the result is "not paired".
    """
    if not same_split:
        return PairedComparison(False, f"not paired: {split_note or 'different splits'}")
    if set(model) != set(reference):
        only_m = sorted(set(model) - set(reference))
        only_r = sorted(set(reference) - set(model))
        return PairedComparison(
            False, f"not paired: fold sets differ (only model {only_m}, only reference {only_r})"
        )
    folds = sorted(model)
    differing = [f for f in folds if model_n_test.get(f) != reference_n_test.get(f)]
    if differing:
        return PairedComparison(
            False, f"not paired: test-set sizes differ in fold(s) {differing}"
        )
    if model_test_ids and reference_test_ids:
        differing = [
            f for f in folds
            if f in model_test_ids and f in reference_test_ids
            and model_test_ids[f] != reference_test_ids[f]
        ]
        if differing:
            return PairedComparison(
                False, f"not paired: test trials differ in fold(s) {differing}"
            )
    diffs = np.array([model[f] - reference[f] for f in folds])
    ratios = [model_n_test[f] / n_train[f] for f in folds if n_train.get(f)]
    ratio = float(np.mean(ratios)) if ratios else 1.0 / max(len(folds) - 1, 1)
    return corrected_resampled_ttest(diffs, ratio)


def holm_adjust(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), NaN entries left out and kept NaN.

    Sorted ascending p_(1..m): adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)).
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    if valid.size == 0:
        return out
    if np.any((p[valid] < 0) | (p[valid] > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p[valid].tolist()}")
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def format_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def format_comparison(result: PairedComparison, scale: float = 100.0, digits: int = 1) -> str:
    """'Δ −3.1 [−6.0, −0.2], p = 0.040' (in percentage points), or the not-paired reason."""
    if not result.paired:
        return result.reason
    fmt = f"{{:+.{digits}f}}"
    p = "p < 0.001" if result.p_value < 0.001 else f"p = {result.p_value:.3f}"
    return (
        f"Δ {fmt.format(result.mean_diff * scale)} "
        f"[{fmt.format(result.ci_low * scale)}, {fmt.format(result.ci_high * scale)}], {p}"
    )


def compare_fold_frames(
    model: pd.DataFrame,
    reference: pd.DataFrame,
    metric: str,
    *,
    same_split: bool = True,
    split_note: str = "",
    with_test_ids: bool = False,
) -> PairedComparison:
    """`compare_folds` on two per-fold frames (columns fold, n_test, n_train, `metric` and, with
    `with_test_ids`, test_trials: test ids are compared only when every fold has them)."""

    def by_fold(frame: pd.DataFrame, column: str) -> dict:
        return dict(zip(frame["fold"], frame[column], strict=True))

    def test_ids(frame: pd.DataFrame) -> dict[int, frozenset] | None:
        if not with_test_ids or frame["test_trials"].isna().any():
            return None
        return by_fold(frame, "test_trials")

    return compare_folds(
        by_fold(model, metric),
        by_fold(reference, metric),
        model_n_test=by_fold(model, "n_test"),
        reference_n_test=by_fold(reference, "n_test"),
        n_train=by_fold(model, "n_train"),
        same_split=same_split,
        split_note=split_note,
        model_test_ids=test_ids(model),
        reference_test_ids=test_ids(reference),
    )
