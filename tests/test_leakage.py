"""Leakage-inflation study: protocol splits, the select-on-test guard, the table's statistics
(scipy's Welch test as oracle) and the stimulus-only baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from edaffect.leakage import Protocol, corrected_interval, difference_interval, leakage_table
from edaffect.splits import load_fold, make_protocol_splits
from edaffect.stimulus_baseline import fit_lookup, predict_lookup


def _trials(n_subjects=12, n_songs=12, per_subject=6, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_subjects):
        for m in rng.choice(n_songs, size=per_subject, replace=False):
            rows.append({"trial_id": f"s{s}_{m}", "subject": f"s{s}", "stimulus": str(m)})
    return pd.DataFrame(rows)


def test_pairs_split_mixes_subjects_and_tests_each_trial_once():
    trials = _trials()
    splits, summary = make_protocol_splits(trials, split="pairs", n_folds=4, seed=1)
    assert (splits["split"] == "pairs").all()
    tested = splits[splits["role"] == "test"]
    assert sorted(tested["trial_id"]) == sorted(trials["trial_id"])
    assert set(splits["role"]) == {"train", "test"}
    fold0 = splits[splits["fold"] == 0]
    spans = fold0.groupby("subject")["role"].nunique()
    assert (spans > 1).sum() >= 6  # most subjects are in train and test: the leak (a) measures
    roles = load_fold(splits, 1.0, 0)  # accepted because the rows say split = pairs ...
    assert roles["val"] == [] and roles["test"]
    with pytest.raises(AssertionError, match="two roles"):  # ... and refused otherwise
        load_fold(splits.drop(columns="split"), 1.0, 0)


def test_subject_and_block_splits_are_disjoint():
    trials = _trials(n_subjects=15, n_songs=15, per_subject=10)
    splits, _ = make_protocol_splits(trials, split="subject", n_folds=5, seed=3)
    kept = splits[splits["role"] != "dropped"]
    assert (kept.groupby(["fold", "subject"])["role"].nunique() == 1).all()
    blocks, summary = make_protocol_splits(trials, split="song", n_folds=3, seed=3)
    kept = blocks[blocks["role"] != "dropped"]
    for key in ("subject", "stimulus"):
        assert (kept.groupby(["fold", key])["role"].nunique() == 1).all()
    tested = kept[kept["role"] == "test"]["trial_id"]
    assert not tested.duplicated().any()
    assert (summary[["n_train", "n_val", "n_test"]] > 0).all().all()


def test_select_on_test_only_for_the_original_protocol():
    Protocol("a", "pairs", "test")
    Protocol("b", "subject", "validation")
    for split in ("subject", "song"):
        with pytest.raises(ValueError, match="only allowed"):
            Protocol("x", split, "test")
    with pytest.raises(ValueError, match="no validation fold"):
        Protocol("x", "pairs", "validation")


def test_inflation_interval_matches_scipy_welch():
    rng = np.random.default_rng(0)
    a, b = rng.normal(70, 4, 5), rng.normal(60, 6, 5)
    ra, rb = 0.25, 0.33
    ma = corrected_interval(a, ra)
    mb = corrected_interval(b, rb)
    diff, low, high, p = difference_interval(ma[:2], mb[:2], 5, 5)
    # Welch's t-test with the corrected variances of the means as var/n
    ref = stats.ttest_ind_from_stats(ma[0], np.sqrt(ma[1] * 5), 5, mb[0], np.sqrt(mb[1] * 5), 5,
                                     equal_var=False)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
    assert diff == pytest.approx(a.mean() - b.mean())
    assert low < diff < high
    # the single-mean CI: a one-sample t interval with the corrected scale
    half = stats.t.ppf(0.975, 4) * np.sqrt((1 / 5 + ra) * a.var(ddof=1))
    assert ma[2] == pytest.approx(a.mean() - half) and ma[3] == pytest.approx(a.mean() + half)


def test_leakage_table_rows():
    runs = []
    for protocol, level in (("a", 0.8), ("b", 0.6)):
        for fold in range(4):
            runs.append({"protocol": protocol, "experiment": "m", "dataset": "d",
                         "dimension": "valence", "fold": fold,
                         "accuracy": level + 0.01 * fold, "f1": 0.5, "n_train": 30,
                         "n_test": 10})
    table = leakage_table(pd.DataFrame(runs), [Protocol("a", "pairs", "test"),
                                               Protocol("b", "subject", "validation")])
    row = table.iloc[0]
    assert row["inflation"] == pytest.approx(20.0)
    assert row["inflation_ci_low"] > 0
    assert row["a_mean"] == pytest.approx(81.5)


def test_stimulus_lookup():
    stimuli = pd.Series(["x", "x", "x", "y", "y", "z", "z"])
    labels = pd.Series([1, 1, 0, 0, 0, 1, 0])
    lookup, majority = fit_lookup(stimuli, labels)
    assert majority == 0  # 3 of 7 high
    y, p = predict_lookup(lookup, majority, ["x", "y", "z", "unseen"])
    assert y.tolist() == [1, 0, 0, 0]  # z is tied -> training majority
    assert p.tolist() == pytest.approx([2 / 3, 0.0, 0.5, 0.0])
