"""The planted ceiling from hand-made ground truth, labels and folds
(edaffect.training.planted_ceiling)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from edaffect.training.planted_ceiling import (
    GROUND_TRUTH_FEATURES,
    ceiling_folds,
    majority_share,
    share_recovered,
    write_ceiling,
)

SUBJECTS = [f"s{i}" for i in range(6)]  # fold k: subjects 2k, 2k+1 test, the next two val


def make_data(flip_test_fold: int | None = None, n_trials: int = 10):
    """Ground truth whose valence label is `n_scr >= 5` (arousal: its opposite), three folds;
    with `flip_test_fold` that fold's subjects have the relation reversed."""
    rng = np.random.default_rng(3)
    truth, labels, splits = [], [], []
    for s_index, subject in enumerate(SUBJECTS):
        for t in range(n_trials):
            trial_id = f"{subject}_{t}"
            n_scr = int(rng.integers(0, 10))
            high = int(n_scr >= 5)
            if flip_test_fold is not None and s_index // 2 == flip_test_fold:
                high = 1 - high
            truth.append({"trial_id": trial_id, "subject": subject, "n_scr": n_scr,
                          "scr_rate_per_min": rng.uniform(3, 6),
                          "scr_amplitude_us": rng.uniform(0.1, 0.5),
                          "tonic_level_us": rng.uniform(2, 6)})
            labels.append({"trial_id": trial_id, "subject": subject, "valence_label": high,
                           "arousal_label": 1 - high})
    for fold in range(3):
        for s_index, subject in enumerate(SUBJECTS):
            group = s_index // 2
            role = "test" if group == fold else "val" if group == (fold + 1) % 3 else "train"
            for t in range(n_trials):
                splits.append({"fraction": 1.0, "fold": fold, "trial_id": f"{subject}_{t}",
                               "subject": subject, "stimulus": str(t), "role": role})
    return pd.DataFrame(truth), pd.DataFrame(labels), pd.DataFrame(splits)


def test_majority_share_and_share_recovered_by_hand():
    assert majority_share([0, 0, 1]) == pytest.approx(2 / 3)
    assert majority_share([1, 1, 1, 0]) == pytest.approx(0.75)
    # 60 % of which 50 is majority, ceiling 70: half of the reachable 20 points
    assert share_recovered(60.0, 50.0, 70.0) == pytest.approx(0.5)
    assert share_recovered(45.0, 50.0, 70.0) == pytest.approx(-0.25)
    assert math.isnan(share_recovered(60.0, 55.0, 55.0))  # ceiling no better than majority
    with pytest.raises(ValueError, match="no trials"):
        majority_share([])


def test_ceiling_recovers_a_planted_rule():
    truth, labels, splits = make_data()
    frame = ceiling_folds(truth, labels, splits, dataset="toy", dimensions=["valence", "arousal"],
                          features=["n_scr"], c=100.0)
    assert len(frame) == 6 and set(frame["fold"]) == {0, 1, 2}
    assert (frame["accuracy"] == 1.0).all()
    assert (frame["n_test"] == 20).all() and (frame["n_train"] == 20).all()
    assert (frame["n_subjects_test"] == 2).all()
    # The majority share is the test fold's own: count it by hand for fold 1 valence.
    test_ids = splits[(splits.fold == 1) & (splits.role == "test")]["trial_id"]
    y = labels.set_index("trial_id").loc[test_ids, "valence_label"]
    row = frame[(frame.fold == 1) & (frame.dimension == "valence")].iloc[0]
    assert row["majority"] == pytest.approx(max(y.mean(), 1 - y.mean()))


def test_ceiling_is_fitted_on_the_training_fold_only():
    """Fold 0's test subjects follow the reversed rule: fitted on training subjects, the
    ceiling gets every one of them wrong (fitting on test would not)."""
    truth, labels, splits = make_data(flip_test_fold=0)
    frame = ceiling_folds(truth, labels, splits, dataset="toy", dimensions=["valence"],
                          features=["n_scr"], c=1.0)
    assert frame.loc[frame.fold == 0, "accuracy"].item() == 0.0


def test_missing_ground_truth_names_the_file(tmp_path):
    truth, labels, splits = make_data()
    truth.iloc[1:].to_csv(tmp_path / "ground_truth.csv", index=False)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    splits.to_csv(tmp_path / "splits.csv", index=False)
    with pytest.raises(ValueError, match="ground_truth.csv: no ground truth for fold"):
        write_ceiling(tmp_path / "ground_truth.csv", tmp_path / "labels.csv",
                      tmp_path / "splits.csv", tmp_path / "out.csv", dataset="toy",
                      dimensions=["valence"], features=["n_scr"], c=1.0)
    truth.drop(columns="tonic_level_us").to_csv(tmp_path / "ground_truth.csv", index=False)
    with pytest.raises(ValueError, match=r"ground_truth.csv: .* lacks column\(s\) \['tonic"):
        write_ceiling(tmp_path / "ground_truth.csv", tmp_path / "labels.csv",
                      tmp_path / "splits.csv", tmp_path / "out.csv", dataset="toy",
                      dimensions=["valence"], features=list(GROUND_TRUTH_FEATURES), c=1.0)
    assert not (tmp_path / "out.csv").exists()
