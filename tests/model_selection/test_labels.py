"""Per-subject k-means thresholds and labels.csv (RTCAN-1D §4.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edaffect.model_selection.labels import (
    LABEL_COLUMNS,
    assign_labels,
    binarize,
    fold_labels,
    kmeans_thresholds,
    read_labels,
    subject_kmeans,
    write_labels,
)


def frame(subject: str, valence, arousal) -> pd.DataFrame:
    n = len(valence)
    return pd.DataFrame(
        {
            "trial_id": [f"{subject}_{i}" for i in range(n)],
            "subject": subject,
            "trial": [str(i) for i in range(n)],
            "valence": valence,
            "arousal": arousal,
        }
    )


def test_thresholds_hand_computed():
    # Two tight clusters: centres (2, 3) and (8, 6) -> midpoint (5, 4.5).
    v = [1, 2, 3, 7, 8, 9]
    a = [3, 3, 3, 5, 6, 7]
    v_thr, a_thr = kmeans_thresholds(v, a, seed=0, n_init=10)
    assert v_thr == pytest.approx(5.0)
    assert a_thr == pytest.approx(4.5)
    result = subject_kmeans(v, a, seed=0, n_init=10)
    np.testing.assert_allclose(result.centres, [[2, 3], [8, 6]])


def test_thresholds_differ_per_dimension_like_fig3():
    # Clusters split on arousal mostly: centres (0.4, 0.2) and (0.6, 0.8) -> (0.5, 0.5).
    v = [0.35, 0.45, 0.4, 0.55, 0.65, 0.6]
    a = [0.15, 0.25, 0.2, 0.75, 0.85, 0.8]
    v_thr, a_thr = kmeans_thresholds(v, a)
    assert (v_thr, a_thr) == (pytest.approx(0.5), pytest.approx(0.5))


def test_tie_goes_low():
    assert binarize([4.0, 5.0, 5.0000001, 6.0], 5.0).tolist() == [0, 0, 1, 1]


def test_labels_file_columns_and_values(tmp_path):
    trials = pd.concat(
        [frame("s01", [1, 2, 3, 7, 8, 9], [3, 3, 3, 5, 6, 7]),
         frame("s02", [2, 2, 8, 8], [2, 8, 2, 8])],
        ignore_index=True,
    )
    trials["stimulus"] = "x"
    path = tmp_path / "trials.csv"
    trials.to_csv(path, index=False)
    out = tmp_path / "labels.csv"
    write_labels(path, out, seed=1, n_init=5)
    labels = pd.read_csv(out, dtype={"subject": str, "trial": str, "trial_id": str})
    assert list(labels.columns) == LABEL_COLUMNS
    s1 = labels[labels["subject"] == "s01"]
    assert s1["valence_label"].tolist() == [0, 0, 0, 1, 1, 1]
    assert s1["arousal_label"].tolist() == [0, 0, 0, 1, 1, 1]
    assert set(labels["threshold_source"]) == {"kmeans"}
    s2 = labels[labels["subject"] == "s02"]
    # Four corners: either split gives the midpoint (5, 5).
    assert s2["v_threshold"].iloc[0] == pytest.approx(5.0)
    assert s2["a_threshold"].iloc[0] == pytest.approx(5.0)


def test_degenerate_subjects_fall_back_and_are_flagged():
    trials = pd.concat(
        [
            frame("a", [1, 2, 3, 7, 8, 9], [3, 3, 3, 5, 6, 7]),  # thresholds (5, 4.5)
            frame("b", [2, 2, 8, 8], [1, 3, 5, 7]),  # thresholds (5, 4)
            frame("c", [6, 6, 6], [6, 6, 6]),  # one distinct point
            frame("d", [3, 3, 3, 3], [1, 2, 8, 9]),  # valence constant only
            frame("e", [4], [8]),  # a single trial
        ],
        ignore_index=True,
    )
    labels = assign_labels(trials, seed=0, n_init=10)
    first = labels.drop_duplicates("subject").set_index("subject")
    assert first.loc["a", "threshold_source"] == "kmeans"
    assert first.loc["c", "threshold_source"] == "fallback_both"
    assert first.loc["e", "threshold_source"] == "fallback_both"
    assert first.loc["d", "threshold_source"] == "fallback_valence"
    # Fallback = median of the k-means subjects' thresholds: valence median(5, 5) = 5,
    # arousal median(4.5, 4, d's own 5) = 4.5.
    assert first.loc["c", "v_threshold"] == pytest.approx(5.0)
    assert first.loc["c", "a_threshold"] == pytest.approx(4.5)
    assert first.loc["d", "v_threshold"] == pytest.approx(5.0)
    assert first.loc["d", "a_threshold"] == pytest.approx(5.0)  # its own k-means arousal
    c = labels[labels["subject"] == "c"]
    assert c["valence_label"].tolist() == [1, 1, 1]  # 6 > 5
    assert labels[labels["subject"] == "e"]["valence_label"].tolist() == [0]  # 4 <= 5


def test_all_degenerate_is_an_error():
    with pytest.raises(ValueError, match="no subject has two distinct valence"):
        assign_labels(frame("x", [5, 5], [1, 9]))


def test_bad_rating_names_the_trial():
    trials = frame("s01", [1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="s01_1"):
        assign_labels(trials, origin="results/x/trials.csv")


def test_deterministic():
    rng = np.random.default_rng(3)
    trials = pd.concat(
        [frame(f"s{i}", rng.uniform(1, 9, 20), rng.uniform(1, 9, 20)) for i in range(5)],
        ignore_index=True,
    )
    first = assign_labels(trials, seed=7, n_init=4)
    second = assign_labels(trials, seed=7, n_init=4)
    pd.testing.assert_frame_equal(first, second)


def test_the_labels_reader_names_file_fold_role_and_trials(tmp_path):
    path = tmp_path / "labels.csv"
    labels = assign_labels(pd.concat([frame("1", [1, 2, 8, 9], [1, 2, 8, 9])]), seed=0)
    labels.to_csv(path, index=False)
    read = read_labels(path, "valence")
    assert read["trial_id"].tolist() == ["1_0", "1_1", "1_2", "1_3"]
    rows = fold_labels(read, ["1_3", "1_0"], "valence", fold=2, role="test")
    assert rows["valence_label"].tolist() == [1, 0] and rows.index.tolist() == ["1_3", "1_0"]
    with pytest.raises(ValueError, match=r"labels\.csv: no label for 1 fold 2 val trials.*1_9"):
        fold_labels(read, ["1_0", "1_9"], "valence", fold=2, role="val")
    labels.loc[1, "arousal_label"] = np.nan
    labels.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"arousal_label is empty for fold 0 train trials .'1_1'"):
        fold_labels(read_labels(path), ["1_0", "1_1"], "arousal", fold=0, role="train")
    labels.drop(columns="arousal_label").to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"labels\.csv: missing columns \['arousal_label'\]"):
        read_labels(path, "arousal")
    pd.concat([labels, labels.iloc[:1]]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"duplicated trial_id \['1_0'\]"):
        read_labels(path)
