"""Subject-independent folds: leak tests that fail on a leaky split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edaffect.model_selection.splits import (
    assign_folds,
    check_splits,
    fold_roles,
    fraction_tag,
    load_fold,
    make_splits,
    write_splits,
)

FRACTIONS = [0.1, 0.4, 0.7, 1.0]


def pmemo_like(n_subjects=40, n_songs=60, listeners=8, seed=0) -> pd.DataFrame:
    """(listener, song) trials: each song heard by `listeners` random subjects."""
    rng = np.random.default_rng(seed)
    rows = []
    for song in range(n_songs):
        for subject in rng.choice(n_subjects, listeners, replace=False):
            rows.append({"subject": f"{10000 + subject}", "trial": str(song)})
    frame = pd.DataFrame(rows).sort_values(["subject", "trial"]).reset_index(drop=True)
    frame["trial_id"] = frame["subject"] + "_" + frame["trial"]
    frame["stimulus"] = frame["trial"]
    return frame


def deap_like(n_subjects=12, n_trials=10) -> pd.DataFrame:
    rows = [
        {"subject": f"s{s:02d}", "trial": str(t), "stimulus": str(t)}
        for s in range(1, n_subjects + 1)
        for t in range(1, n_trials + 1)
    ]
    frame = pd.DataFrame(rows)
    frame["trial_id"] = frame["subject"] + "_" + frame["trial"]
    return frame


@pytest.fixture(scope="module")
def pmemo_splits():
    return make_splits(pmemo_like(), n_folds=10, fractions=FRACTIONS, seed=5)


@pytest.fixture(scope="module")
def song_splits():
    return make_splits(pmemo_like(), n_folds=10, fractions=FRACTIONS, seed=5, group_by="song")


def test_no_subject_in_two_roles(pmemo_splits):
    splits, _ = pmemo_splits
    roles = splits.groupby(["fraction", "fold", "subject"])["role"].nunique()
    assert (roles == 1).all()


def test_every_subject_tested_exactly_once(pmemo_splits):
    splits, _ = pmemo_splits
    trials = pmemo_like()
    for _fraction, part in splits.groupby("fraction"):
        tested = part[part["role"] == "test"].groupby("subject")["fold"].nunique()
        assert (tested == 1).all()
        assert set(tested.index) == set(part["subject"])
        # All of a subject's trials are in its test fold.
        test_rows = part[part["role"] == "test"]
        own = trials[trials["subject"].isin(tested.index)]
        assert set(test_rows["trial_id"]) == set(own["trial_id"])
    full = splits[splits["fraction"] == 1.0]
    assert set(full["subject"]) == set(trials["subject"])


def test_val_is_next_subset_and_not_test(pmemo_splits):
    splits, _ = pmemo_splits
    for _fraction, part in splits.groupby("fraction"):
        test_of = {f: set(g.loc[g["role"] == "test", "subject"]) for f, g in part.groupby("fold")}
        for fold, group in part.groupby("fold"):
            val = set(group.loc[group["role"] == "val", "subject"])
            assert val and not val & test_of[fold]
            assert val == test_of[(fold + 1) % 10]  # val of fold k = test subset of fold k+1


def test_fractions_nested_and_sized(pmemo_splits):
    splits, summary = pmemo_splits
    subjects = {f: set(g["subject"]) for f, g in splits.groupby("fraction")}
    assert subjects[0.1] < subjects[0.4] < subjects[0.7] < subjects[1.0]
    assert len(subjects[1.0]) == 40
    assert len(subjects[0.7]) == 28 and len(subjects[0.4]) == 16
    assert len(subjects[0.1]) == 10  # round(0.1 × 40) = 4 < 10 folds -> raised to 10
    assert (summary["n_dropped"] == 0).all()


def test_folds_balanced_by_trial_count():
    counts = {f"s{i}": c for i, c in enumerate([30, 29, 28, 27, 5, 5, 4, 4, 3, 3, 2, 2] * 3)}
    folds = assign_folds(counts, n_folds=6, seed=1)
    totals = np.bincount(list(folds.values()), weights=[counts[s] for s in folds])
    assert totals.max() - totals.min() <= max(counts.values())
    roles = fold_roles(folds, 6, 5)
    assert {s for s, r in roles.items() if r == "val"} == {s for s, f in folds.items() if f == 0}


def test_song_disjoint(song_splits):
    splits, summary = song_splits
    kept = splits[splits["role"] != "dropped"]
    per_song = kept.groupby(["fraction", "fold", "stimulus"])["role"].nunique()
    assert (per_song == 1).all()
    assert summary["n_dropped"].sum() > 0
    assert summary["n_dropped"].sum() == (splits["role"] == "dropped").sum()
    # Test sets are kept whole: every subject is still tested once, on all its trials.
    plain, _ = make_splits(pmemo_like(), n_folds=10, fractions=FRACTIONS, seed=5)
    pd.testing.assert_frame_equal(
        splits[splits["role"] == "test"].reset_index(drop=True),
        plain[plain["role"] == "test"].reset_index(drop=True),
    )
    # Minimal: a trial is dropped only if its song really appears in a higher-priority role.
    rank = {"test": 0, "val": 1, "train": 2}
    for (_, _), part in plain.groupby(["fraction", "fold"]):
        best = part["role"].map(rank).groupby(part["stimulus"]).transform("min")
        should_drop = part["role"].map(rank) > best
        dropped = splits.loc[part.index, "role"] == "dropped"
        assert (should_drop == dropped).all()
    check_splits(splits, song_disjoint=True)


def test_leak_checker_catches_leaks(pmemo_splits, song_splits):
    splits, _ = pmemo_splits
    leaky = splits.copy()
    first = leaky.index[(leaky["role"] == "test") & (leaky["fraction"] == 1.0)][0]
    leaky.loc[first, "role"] = "train"  # the same subject now in test and train
    with pytest.raises(AssertionError):
        check_splits(leaky)
    with pytest.raises(AssertionError, match="song in two roles"):
        check_splits(splits, song_disjoint=True)  # subject folds alone share songs


def test_deterministic_and_seed_dependent(tmp_path):
    trials = pmemo_like()
    path = tmp_path / "trials.csv"
    trials.to_csv(path, index=False)
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        write_splits(path, tmp_path / f"{name}.csv", tmp_path / f"{name}_sum.csv",
                     n_folds=10, fractions=FRACTIONS, seed=seed, group_by="song")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_load_fold(tmp_path):
    trials = deap_like()
    path = tmp_path / "trials.csv"
    trials.to_csv(path, index=False)
    write_splits(path, tmp_path / "splits.csv", tmp_path / "sum.csv",
                 n_folds=4, fractions=[0.5, 1.0], seed=0)
    fold = load_fold(tmp_path / "splits.csv", "p100", 2)
    assert fold == load_fold(tmp_path / "splits.csv", 1.0, 2)
    assert set(fold) == {"train", "val", "test", "dropped"}
    assert len(fold["train"]) + len(fold["val"]) + len(fold["test"]) == len(trials)
    subjects = {r: {t.split("_")[0] for t in ids} for r, ids in fold.items()}
    assert not subjects["train"] & subjects["test"] and not subjects["val"] & subjects["test"]
    assert not subjects["train"] & subjects["val"]
    half = load_fold(tmp_path / "splits.csv", 0.5, 0)
    assert sum(len(v) for v in half.values()) == 6 * 10
    with pytest.raises(KeyError, match="p40"):
        load_fold(tmp_path / "splits.csv", 0.4, 0)
    assert fraction_tag(0.1) == "p10" and fraction_tag(1.0) == "p100"


def test_too_few_subjects_is_an_error():
    with pytest.raises(ValueError, match="cannot form 10"):
        make_splits(deap_like(n_subjects=5), n_folds=10, fractions=[1.0], seed=0)


def test_song_grouping_that_empties_a_role_is_a_clear_error():
    # DEAP-like: every subject sees every video, so the test videos cover all others.
    with pytest.raises(ValueError, match="without train or val trials"):
        make_splits(deap_like(), n_folds=4, fractions=[1.0], seed=0, group_by="song")


def test_song_blocks_keep_each_role_on_its_song_group():
    """Hand-worked: fold 1 of 3 groups tests group 1, validates on group 2, trains on group 0."""
    from edaffect.model_selection.splits import song_blocks

    roles = np.array(["test", "test", "val", "val", "train", "train", "train", "dropped"])
    groups = np.array([1, 0, 2, 1, 0, 1, 2, 0])
    got = song_blocks(roles, groups, 1, 3)
    assert got.tolist() == ["test", "dropped", "val", "dropped", "train", "dropped", "dropped",
                            "dropped"]
    # per-trial folds give the same answer row by row
    assert song_blocks(roles, groups, np.full(8, 4), 3).tolist() == got.tolist()
