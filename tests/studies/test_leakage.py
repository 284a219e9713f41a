"""Leakage study: the arms' folds (class-balanced pair folds, equal training sizes, subject
roles), the arm guards, and the table's draw-level statistics (scipy's ttest_rel and
ttest_1samp as oracles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from edaffect.model_selection.splits import load_fold, make_protocol_splits
from edaffect.studies.leakage.arms import Arm, arm_from_config, make_arm_splits
from edaffect.studies.leakage.table import draw_contrast, draw_values, leakage_table
from edaffect.training.stimulus_baseline import fit_lookup, predict_lookup


def _trials(n_subjects=12, n_songs=12, per_subject=6, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_subjects):
        for m in rng.choice(n_songs, size=per_subject, replace=False):
            rows.append({"trial_id": f"s{s}_{m}", "subject": f"s{s}", "stimulus": str(m)})
    return pd.DataFrame(rows)


def _labels(trials: pd.DataFrame, seed=0, p_high=(0.35, 0.6)) -> pd.DataFrame:
    """Per-trial binary labels of two dimensions with different class balances."""
    rng = np.random.default_rng(seed)
    return trials[["trial_id", "subject"]].assign(
        valence_label=(rng.random(len(trials)) < p_high[0]).astype(int),
        arousal_label=(rng.random(len(trials)) < p_high[1]).astype(int))


ARMS = [
    Arm("a", "pairs", "test", validation=False,
        measures=("epoch_mean", "epoch_mean_fold0", "selected")),
    Arm("a_val", "pairs", "validation"),
    Arm("b", "subject", "validation", measures=("selected", "best_test")),
    Arm("c", "song", "validation"),
    Arm("b_c", "subject", "validation", train_size="c"),
]


def test_pair_folds_are_class_balanced_and_test_each_trial_once():
    trials = _trials(n_subjects=13, per_subject=7)
    y = _labels(trials).set_index("trial_id")["valence_label"]
    p_high = y.mean()
    for sizes, validation in ((None, False), ([20, 15, 25, 14, 17], True)):
        splits, summary = make_protocol_splits(trials, split="pairs", n_folds=5, seed=4,
                                               labels=y, validation=validation,
                                               test_sizes=sizes)
        tested = splits[splits["role"] == "test"]
        assert sorted(tested["trial_id"]) == sorted(trials["trial_id"])
        for fold, part in tested.groupby("fold"):
            n_high = part["trial_id"].map(y).sum()
            # each test fold holds each class in proportion, within one trial
            assert abs(n_high - p_high * len(part)) <= 1.0, (fold, n_high, len(part))
            if sizes is not None:
                assert len(part) == sizes[fold]
        if validation:
            for fold in range(5):
                val = splits[(splits["fold"] == fold) & (splits["role"] == "val")]
                nxt = tested[tested["fold"] == (fold + 1) % 5]
                assert sorted(val["trial_id"]) == sorted(nxt["trial_id"])
        else:
            assert set(splits["role"]) == {"train", "test"}
            assert summary["n_test"].max() - summary["n_test"].min() <= 2  # one per class
    spans = splits[splits["fold"] == 0].groupby("subject")["role"].nunique()
    assert (spans > 1).sum() >= 6  # most subjects are in train and test: the leak (a) measures
    roles = load_fold(splits, 1.0, 0)  # accepted because the rows say split = pairs ...
    assert roles["test"]
    with pytest.raises(AssertionError, match="two roles"):  # ... and refused otherwise
        load_fold(splits.drop(columns="split"), 1.0, 0)
    with pytest.raises(ValueError, match="class-balanced"):
        make_protocol_splits(trials, split="pairs", n_folds=5, seed=4)


def test_arm_splits_training_sizes_and_subject_roles():
    trials = _trials(n_subjects=15, n_songs=15, per_subject=10)
    splits, summary = make_arm_splits(trials, _labels(trials), ARMS,
                                      dimensions=["valence", "arousal"], n_folds=3, draws=2,
                                      seed=7)
    n = summary.set_index(["arm", "draw", "dimension", "fold"])
    for key in n.loc["b"].index:
        # pairs + validation: b's train / val / test sizes exactly (equal training size)
        assert n.loc[("a_val", *key), ["n_train", "n_val", "n_test"]].tolist() == \
            n.loc[("b", *key), ["n_train", "n_val", "n_test"]].tolist()
        # (b) subsampled to (c)'s training size; its test fold is b's
        assert n.loc[("b_c", *key), "n_train"] == n.loc[("c", *key), "n_train"]
        assert n.loc[("b_c", *key), "n_train"] < n.loc[("b", *key), "n_train"]
        assert n.loc[("b_c", *key), "n_test"] == n.loc[("b", *key), "n_test"]
        # the original trains on every fold but the test fold: more than (b)
        assert n.loc[("a", *key), "n_val"] == 0
        assert n.loc[("a", *key), "n_train"] > n.loc[("b", *key), "n_train"]
    # no subject in two roles where the arm forbids it; the pair arms do mix them
    for arm in ("b", "c", "b_c"):
        kept = splits[(splits["arm"] == arm) & (splits["role"] != "dropped")]
        assert (kept.groupby(["draw", "dimension", "fold", "subject"])["role"].nunique()
                == 1).all(), arm
    for arm in ("a", "a_val"):
        part = splits[splits["arm"] == arm]
        assert (part.groupby(["draw", "dimension", "fold", "subject"])["role"].nunique()
                > 1).any()
    # draws differ, and a draw is reproducible
    b = splits[(splits["arm"] == "b") & (splits["role"] == "test")]
    assert not b[b["draw"] == 0]["trial_id"].tolist() == b[b["draw"] == 1]["trial_id"].tolist()
    again, _ = make_arm_splits(trials, _labels(trials), ARMS, dimensions=["valence", "arousal"],
                               n_folds=3, draws=2, seed=7)
    pd.testing.assert_frame_equal(splits, again)


def test_arm_guards():
    for kwargs, match in (
        ({"split": "subject", "selection": "validation", "validation": False}, "only the orig"),
        ({"split": "pairs", "selection": "validation", "validation": False}, "can only be"),
        ({"split": "subject", "selection": "validation", "measures": ("last",)}, "not in"),
        ({"split": "subject", "selection": "validation", "train_size": "x"}, "itself"),
    ):
        with pytest.raises(ValueError, match=match):
            Arm("x", **kwargs)
    arm = arm_from_config("b", {"split": "subject", "selection": "validation",
                                "datasets": ["pmemo"]})
    assert arm.validation and arm.train_size is None and arm.measures == ("selected",)


def test_draw_contrast_matches_scipy_ttest_rel():
    rng = np.random.default_rng(2)
    y = rng.uniform(55, 70, 6)
    x = y + rng.normal(3, 2, 6)
    got = draw_contrast(x, y)
    ref = stats.ttest_rel(x, y)
    ci = ref.confidence_interval(0.95)
    assert got["n_draws"] == 6 and got["mean"] == pytest.approx(float(np.mean(x - y)))
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert got["p"] == pytest.approx(ref.pvalue, rel=1e-12)
    same = draw_contrast(y, y)
    assert same["mean"] == 0 and same["ci_low"] == same["ci_high"] == 0
    assert np.isnan(same["p"])
    # differences equal up to rounding (accuracies as k / n) are no spread either
    shifted = draw_contrast(np.array([5 / 12, 7 / 12]) * 100, np.array([1 / 3, 1 / 2]) * 100)
    assert np.isnan(shifted["p"]) and shifted["ci_low"] == pytest.approx(100 / 12)


def _runs(effects: dict, n_draws=5, n_folds=4, seed=0) -> pd.DataFrame:
    """Synthetic fold rows: arm effects in accuracy, a shared draw effect, fold noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for draw in range(n_draws):
        shared = rng.normal(0, 0.03)
        for arm, effect in effects.items():
            for fold in range(n_folds):
                curve = np.clip(0.6 + effect + shared + rng.normal(0, 0.02, 3), 0, 1)
                rows.append({"arm": arm, "experiment": "m", "dataset": "d", "draw": draw,
                             "dimension": "valence", "fold": fold, "model": "rtcan1d",
                             "n_train": 60 if arm == "a" else 45, "n_val": 0, "n_test": 15,
                             "accuracy": curve.max() if arm == "a" else curve[-1],
                             "chosen_epoch": 3, "best_test": curve.max(),
                             "epoch_mean": curve.mean(), "test_curve": ""})
    return pd.DataFrame(rows)


def test_leakage_table_counts_draws_not_folds_or_subjects():
    runs = _runs({"a": 0.10, "a_val": 0.05, "b": 0.0})
    contrasts = [{"name": "printed", "x": "a", "x_measure": "epoch_mean", "y": "b",
                  "y_measure": "selected"},
                 {"name": "selection", "x": "b", "x_measure": "best_test", "y": "b",
                  "y_measure": "selected"}]
    table = leakage_table(runs, ARMS[:3], contrasts)
    row = table.iloc[0]
    per_draw = runs.groupby(["arm", "draw"])
    a_mean = per_draw["epoch_mean"].mean().loc["a"].to_numpy() * 100
    b_sel = per_draw["accuracy"].mean().loc["b"].to_numpy() * 100
    b_best = per_draw["best_test"].mean().loc["b"].to_numpy() * 100
    ref = stats.ttest_rel(a_mean, b_sel)
    assert row["contrast_printed"] == pytest.approx(float(np.mean(a_mean - b_sel)))
    assert row["contrast_printed_p"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert row["contrast_printed_n_draws"] == 5
    assert row["contrast_selection_p"] == pytest.approx(stats.ttest_rel(b_best, b_sel).pvalue)
    assert row["contrast_selection"] > 0  # the best test epoch is never below the chosen one
    ci = stats.ttest_1samp(a_mean, 0).confidence_interval()
    assert (row["a_epoch_mean_ci_low"], row["a_epoch_mean_ci_high"]) == pytest.approx(
        (ci.low, ci.high))
    fold0 = runs[(runs["arm"] == "a") & (runs["fold"] == 0)]["epoch_mean"].mean() * 100
    assert row["a_epoch_mean_fold0"] == pytest.approx(fold0)
    assert row["a_n_train"] == 60 and row["b_n_train"] == 45
    assert "a_val_epoch_mean" not in row  # only the measures an arm asks for
    values = draw_values(runs)
    assert len(values) == 3 * 5 and (values["n_folds"] == 4).all()


def test_stimulus_lookup():
    stimuli = pd.Series(["x", "x", "x", "y", "y", "z", "z"])
    labels = pd.Series([1, 1, 0, 0, 0, 1, 0])
    lookup, majority = fit_lookup(stimuli, labels)
    assert majority == 0  # 3 of 7 high
    y, p = predict_lookup(lookup, majority, ["x", "y", "z", "unseen"])
    assert y.tolist() == [1, 0, 0, 0]  # z is tied -> training majority
    assert p.tolist() == pytest.approx([2 / 3, 0.0, 0.5, 0.0])


def test_header_names_every_arm_and_prints_a_fold_count_other_than_the_papers():
    from edaffect.studies.leakage.table import describe_arm, header

    text = header(ARMS, [], "", 5, 2, 5)
    assert "5 folds per arm (DEVIATES from the paper" in text
    assert "DEVIATES" not in header(ARMS, [], "", 10, 2, 5)
    assert "t CI over the 5 draws, 4 df" in text
    for arm in ARMS:
        assert describe_arm(arm) in text
    assert "no validation fold" in describe_arm(ARMS[0])
    assert "subsampled to (c)'s size" in describe_arm(ARMS[-1])
