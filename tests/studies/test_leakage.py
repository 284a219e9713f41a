"""Leakage-inflation study: protocol splits, the select-on-test guard, the table's statistics
(scipy's ttest_rel and bootstrap as oracles of the paired inflation) and the stimulus-only
baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from edaffect.model_selection.splits import load_fold, make_protocol_splits
from edaffect.studies.leakage.study import (
    Protocol,
    corrected_interval,
    leakage_table,
    paired_subject_interval,
)
from edaffect.training.stimulus_baseline import fit_lookup, predict_lookup


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


def _predictions(n_subjects: int, per_subject, p_correct, seed: int) -> pd.DataFrame:
    """Test predictions of one protocol: every trial once, correct with a per-subject chance."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_subjects):
        for t in range(per_subject[s]):
            y = (s + t) % 2  # the same labels under every protocol
            correct = rng.random() < p_correct[s]
            rows.append({"trial_id": f"s{s}_{t}", "subject": f"s{s}", "y_true": y,
                         "y_pred": y if correct else 1 - y})
    return pd.DataFrame(rows)


def test_paired_inflation_matches_scipy_ttest_rel():
    n = 14
    per_subject = [16 + (s % 5) for s in range(n)]  # unequal trial counts per subject
    rng = np.random.default_rng(2)
    base = rng.uniform(0.5, 0.8, n)
    pred_b = _predictions(n, per_subject, base, seed=3)
    pred_a = _predictions(n, per_subject, np.clip(base + 0.08, 0, 1), seed=4)
    pred_a = pred_a.sample(frac=1.0, random_state=0)  # order must not matter
    got = paired_subject_interval(pred_a, pred_b)

    def subject_accuracy(frame):
        return (frame["y_true"] == frame["y_pred"]).groupby(frame["subject"]).mean() * 100

    acc_a, acc_b = subject_accuracy(pred_a), subject_accuracy(pred_b).loc[
        subject_accuracy(pred_a).index]
    ref = stats.ttest_rel(acc_a.to_numpy(), acc_b.to_numpy())
    ci = ref.confidence_interval(0.95)
    assert got["n_subjects"] == n and got["n_trials"] == sum(per_subject)
    assert got["mean"] == pytest.approx(float((acc_a - acc_b).mean()), rel=1e-12)
    assert got["ci_low"] == pytest.approx(ci.low, rel=1e-9)
    assert got["ci_high"] == pytest.approx(ci.high, rel=1e-9)
    assert got["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    # the BCa bootstrap over subjects (scipy) centres the same but is narrower at 14 subjects:
    # why the table uses t (docs/leakage.md)
    boot = stats.bootstrap(((acc_a - acc_b).to_numpy(),), np.mean, n_resamples=4000,
                           random_state=0).confidence_interval
    width = got["ci_high"] - got["ci_low"]
    assert 0.7 * width < boot.high - boot.low < width
    assert abs((boot.low + boot.high) / 2 - got["mean"]) < 0.15 * width


def test_paired_inflation_uses_common_trials_and_checks_them():
    pred_b = _predictions(6, [10] * 6, [0.6] * 6, seed=1)
    pred_c = pred_b.iloc[::3].copy()  # (c) tests a subset: pairs only those trials
    got = paired_subject_interval(pred_c, pred_b)
    assert got["n_trials"] == len(pred_c) and got["mean"] == pytest.approx(0.0)
    wrong = pred_c.assign(y_true=1 - pred_c["y_true"])
    with pytest.raises(ValueError, match="subject or label differs"):
        paired_subject_interval(wrong, pred_b)
    with pytest.raises(ValueError, match="tested twice"):
        paired_subject_interval(pd.concat([pred_c, pred_c.iloc[:1]]), pred_b)


def test_corrected_fold_interval():
    a = np.random.default_rng(0).normal(70, 4, 5)
    mean, var, low, high = corrected_interval(a, 0.25)
    # a one-sample t interval whose scale is the corrected one (Nadeau & Bengio)
    ref = stats.t.interval(0.95, 4, loc=a.mean(), scale=np.sqrt((1 / 5 + 0.25) * a.var(ddof=1)))
    assert (low, high) == pytest.approx(ref) and mean == pytest.approx(a.mean())


def test_leakage_table_rows():
    n_subjects, per_subject = 8, [12] * 8
    predictions = {"a": _predictions(n_subjects, per_subject, [0.85] * n_subjects, seed=5),
                   "b": _predictions(n_subjects, per_subject, [0.55] * n_subjects, seed=6)}
    runs, preds = [], []
    for protocol, frame in predictions.items():
        frame["fold"] = np.arange(len(frame)) % 4
        for fold, part in frame.groupby("fold"):
            correct = (part["y_true"] == part["y_pred"]).mean()
            runs.append({"protocol": protocol, "experiment": "m", "dataset": "d",
                         "dimension": "valence", "fold": fold, "accuracy": correct, "f1": 0.5,
                         "n_train": 3 * len(part), "n_test": len(part)})
            preds.append(part.assign(protocol=protocol, experiment="m", dataset="d",
                                     dimension="valence"))
    table = leakage_table(pd.DataFrame(runs), pd.concat(preds),
                          [Protocol("a", "pairs", "test"), Protocol("b", "subject", "validation")])
    row = table.iloc[0]
    expected = paired_subject_interval(predictions["a"], predictions["b"])
    assert row["inflation"] == pytest.approx(expected["mean"])
    assert row["inflation_ci_low"] > 0 and row["inflation_n_subjects"] == n_subjects
    assert row["a_n_folds"] == 4 and row["a_ci_low"] < row["a_mean"] < row["a_ci_high"]


def test_stimulus_lookup():
    stimuli = pd.Series(["x", "x", "x", "y", "y", "z", "z"])
    labels = pd.Series([1, 1, 0, 0, 0, 1, 0])
    lookup, majority = fit_lookup(stimuli, labels)
    assert majority == 0  # 3 of 7 high
    y, p = predict_lookup(lookup, majority, ["x", "y", "z", "unseen"])
    assert y.tolist() == [1, 0, 0, 0]  # z is tied -> training majority
    assert p.tolist() == pytest.approx([2 / 3, 0.0, 0.5, 0.0])


def test_header_prints_a_fold_count_other_than_the_papers_as_a_deviation():
    from edaffect.studies.leakage.study import header

    protocols = [Protocol("a", "pairs", "test"), Protocol("b", "subject", "validation")]
    assert "5 folds per protocol (DEVIATES from the paper" in header(protocols, "", 5, 2)
    assert "DEVIATES" not in header(protocols, "", 10, 2)
