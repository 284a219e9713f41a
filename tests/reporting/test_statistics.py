"""Corrected resampled t-test: known values, CI coverage behaviour, pairing rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from edaffect.reporting.statistics import (
    compare_folds,
    corrected_resampled_ttest,
    format_comparison,
)


def test_matches_hand_computed_formula():
    diffs = np.array([0.05, 0.02, 0.08, 0.01, 0.04, 0.06, 0.03, 0.07, 0.00, 0.05])
    ratio = 45 / 360
    result = corrected_resampled_ttest(diffs, ratio)
    k = len(diffs)
    se = np.sqrt((1 / k + ratio) * diffs.var(ddof=1))
    t = diffs.mean() / se
    assert result.t_stat == pytest.approx(t)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(t), k - 1))
    half = stats.t.ppf(0.975, k - 1) * se
    assert (result.ci_low, result.ci_high) == pytest.approx((diffs.mean() - half,
                                                             diffs.mean() + half))
    # The correction widens the plain paired t-test's interval and raises its p-value.
    plain = stats.ttest_1samp(diffs, 0.0)
    assert result.p_value > plain.pvalue


def test_no_difference_gives_large_p_and_ci_covering_zero():
    rng = np.random.default_rng(1)
    result = corrected_resampled_ttest(rng.normal(0, 0.02, 10), 0.1)
    assert result.ci_low < 0 < result.ci_high
    assert result.p_value > 0.05


def test_constant_differences():
    assert corrected_resampled_ttest(np.zeros(5), 0.2).p_value == 1.0
    result = corrected_resampled_ttest(np.full(5, 0.1), 0.2)
    assert result.p_value == 0.0 and result.ci_low == pytest.approx(0.1)


def test_pairing_rules():
    a = {0: 0.7, 1: 0.8, 2: 0.75}
    b = {0: 0.6, 1: 0.7, 2: 0.65}
    n = {0: 10, 1: 10, 2: 10}
    ok = compare_folds(a, b, model_n_test=n, reference_n_test=n, n_train={0: 80, 1: 80, 2: 80},
                       same_split=True)
    assert ok.paired and ok.mean_diff == pytest.approx(0.1)
    diff_split = compare_folds(a, b, model_n_test=n, reference_n_test=n, n_train=n,
                               same_split=False, split_note="different subject subsets")
    assert not diff_split.paired and "different subject subsets" in diff_split.reason
    missing = compare_folds({0: 0.7, 1: 0.8}, b, model_n_test=n, reference_n_test=n,
                            n_train=n, same_split=True)
    assert not missing.paired and "fold sets differ" in missing.reason
    assert format_comparison(missing) == missing.reason
    assert format_comparison(ok).startswith("Δ +10.0 [")


def test_rejects_non_finite():
    with pytest.raises(ValueError, match="non-finite"):
        corrected_resampled_ttest(np.array([0.1, np.nan, 0.2]), 0.1)


def test_same_sizes_but_different_test_trials_are_not_paired():
    a, b = {0: 0.7, 1: 0.8}, {0: 0.6, 1: 0.7}
    n = {0: 2, 1: 2}
    ids_a = {0: frozenset({"s1_1", "s1_2"}), 1: frozenset({"s2_1", "s2_2"})}
    ids_b = {0: frozenset({"s1_1", "s1_2"}), 1: frozenset({"s2_1", "s3_1"})}
    result = compare_folds(a, b, model_n_test=n, reference_n_test=n, n_train={0: 8, 1: 8},
                           same_split=True, model_test_ids=ids_a, reference_test_ids=ids_b)
    assert not result.paired and result.reason == "not paired: test trials differ in fold(s) [1]"
    same = compare_folds(a, b, model_n_test=n, reference_n_test=n, n_train={0: 8, 1: 8},
                         same_split=True, model_test_ids=ids_a, reference_test_ids=ids_a)
    assert same.paired and same.n_pairs == 2
