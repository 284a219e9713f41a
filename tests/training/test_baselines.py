"""SVM baselines: train-only scaling, the metrics/predictions contract, planted music signal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from edaffect.model_selection.splits import make_splits
from edaffect.signal.eda_features import FEATURE_NAMES
from edaffect.training import baselines as B


@pytest.fixture(scope="module")
def toy():
    """A small PMEmo-like study: 30 listeners x 12 of 40 songs. Song valence is planted in 3
    of 60 music features; listeners label it with their own noise; EDA features are noise."""
    rng = np.random.default_rng(7)
    n_songs, n_subjects = 40, 30
    song_valence = rng.normal(size=n_songs)
    music = rng.normal(size=(n_songs, 60))
    music[:, :3] += 1.5 * song_valence[:, None]
    rows = []
    for s in range(n_subjects):
        for song in rng.choice(n_songs, size=12, replace=False):
            rows.append(
                {
                    "trial_id": f"{100 + s}_{song}",
                    "subject": str(100 + s),
                    "trial": str(song),
                    "stimulus": str(song),
                    "valence_label": int(song_valence[song] + rng.normal(scale=0.6) > 0),
                    "arousal_label": int(rng.random() > 0.5),
                }
            )
    trials = pd.DataFrame(rows)
    splits, _ = make_splits(trials, n_folds=10, fractions=[1.0, 0.4], seed=1)
    eda = pd.DataFrame(
        rng.normal(size=(len(trials), 128)), columns=FEATURE_NAMES, index=trials["trial_id"]
    )
    music_table = pd.DataFrame(music, index=[str(i) for i in range(n_songs)])
    return {"labels": trials, "splits": splits, "eda": eda, "music": music_table}


def test_scaler_sees_training_rows_only(toy):
    parts = B.build_fold(
        toy["splits"], toy["labels"], "valence", 1.0, 0, "eda_features", eda_features=toy["eda"]
    )
    train, test = parts["train"], parts["test"]
    model, _, p_high = B.fit_predict(train, test, c=0.25)
    scaler = model.scaler
    np.testing.assert_allclose(scaler.mean_, train.x.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(scaler.scale_, train.x.std(axis=0), rtol=1e-12)
    # Wild test rows must not move anything fitted: the score of test row 0 is unchanged.
    wild = B.FoldTable(test.trial_id, test.subject, test.x.copy(), test.y)
    wild.x[1:] = 1000.0 * wild.x[1:] + 50.0
    _, _, p_wild = B.fit_predict(train, wild, c=0.25)
    assert p_wild[0] == pytest.approx(p_high[0], rel=1e-12)  # BLAS blocking: last bits
    # ...whereas a scaler fitted on train + test rows would have moved it (the check can fail).
    leaky = B.svm_pipeline(0.25)
    leaky.named_steps["scale"].fit(np.vstack([train.x, wild.x]))
    leaky.named_steps["svm"].fit(leaky.named_steps["scale"].transform(train.x), train.y)
    leaky_score = leaky.named_steps["svm"].decision_function(
        leaky.named_steps["scale"].transform(wild.x[:1])
    )
    assert not np.isclose(expit(leaky_score[0]), p_high[0])


def test_music_svm_beats_chance_on_planted_valence(toy):
    accuracies = []
    for fold in range(10):
        metrics, _, _ = B.fit_svm_fold(
            experiment="svm_music", dataset="pmemo", dimension="valence", fold=fold,
            fraction=1.0, kind="music_features", c=0.25, splits=toy["splits"],
            labels=toy["labels"], music_features=toy["music"],
        )
        accuracies.append(metrics["accuracy"])
    majority = max(toy["labels"]["valence_label"].mean(), 1 - toy["labels"]["valence_label"].mean())
    assert np.mean(accuracies) > max(0.65, majority + 0.1), accuracies


def test_metrics_and_predictions_follow_the_contract(toy, tmp_path):
    toy["splits"].to_csv(tmp_path / "splits.csv", index=False)
    toy["labels"].to_csv(tmp_path / "labels.csv", index=False)
    toy["eda"].reset_index().to_csv(tmp_path / "eda_features.csv", index=False)
    keep = sorted(toy["labels"]["trial_id"])[5:]  # five trials without model inputs
    pd.DataFrame({"row": range(len(keep)), "trial_id": keep}).to_csv(
        tmp_path / "inputs_index.csv", index=False
    )
    out = tmp_path / "runs" / "svm_eda_p40" / "pmemo" / "arousal" / "fold3"
    inputs = {"splits_csv": tmp_path / "splits.csv", "labels_csv": tmp_path / "labels.csv",
              "eda_features_csv": tmp_path / "eda_features.csv",
              "inputs_index_csv": tmp_path / "inputs_index.csv"}
    metrics = B.write_svm_fold(
        out, inputs, experiment="svm_eda_p40", dataset="pmemo", dimension="arousal", fold=3,
        fraction=0.4, kind="eda_features", c=0.25,
    )
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == metrics
    for key in ("experiment", "dataset", "dimension", "fold", "model", "accuracy", "f1",
                "precision", "recall", "confusion_matrix", "n_train", "n_val", "n_test",
                "n_parameters", "train_seconds", "device"):
        assert key in on_disk, key
    assert on_disk["model"] == "svm" and on_disk["n_parameters"] == 129
    predictions = pd.read_csv(out / "predictions.csv", dtype={"trial_id": str, "subject": str})
    assert list(predictions.columns) == ["trial_id", "subject", "y_true", "y_pred", "p_high"]
    # exactly the fold's test trials that have model inputs, with their own labels
    fold = toy["splits"][(toy["splits"]["fraction"] == 0.4) & (toy["splits"]["fold"] == 3)]
    expected = [t for t in fold.loc[fold["role"] == "test", "trial_id"] if t in set(keep)]
    assert list(predictions["trial_id"]) == expected and on_disk["n_test"] == len(expected)
    truth = toy["labels"].set_index("trial_id").loc[expected, "arousal_label"].to_numpy()
    np.testing.assert_array_equal(predictions["y_true"], truth)
    np.testing.assert_array_equal(predictions["y_pred"], (predictions["p_high"] > 0.5).astype(int))
    cm = np.asarray(on_disk["confusion_matrix"])
    assert cm.sum() == len(expected)
    correct = predictions["y_true"] == predictions["y_pred"]
    assert on_disk["accuracy"] == pytest.approx(correct.mean())
    train_subjects = set(fold.loc[fold["role"] == "train", "subject"])
    assert not train_subjects & set(predictions["subject"])


def test_missing_inputs_are_named(toy):
    eda = toy["eda"].drop(index=toy["eda"].index[:3])
    with pytest.raises(ValueError, match="eda_features.csv has no row for"):
        for fold in range(10):
            B.build_fold(toy["splits"], toy["labels"], "valence", 1.0, fold, "eda_features", eda)
    with pytest.raises(ValueError, match="needs music_features.csv"):
        B.build_fold(toy["splits"], toy["labels"], "valence", 1.0, 0, "music_features")
    with pytest.raises(ValueError, match="SVM input must be one of"):
        B.build_fold(toy["splits"], toy["labels"], "valence", 1.0, 0, "eda", toy["eda"])


def test_single_class_training_fold_predicts_that_class():
    train = B.FoldTable(["a", "b"], ["1", "1"], np.ones((2, 3)), np.array([1, 1]))
    test = B.FoldTable(["c"], ["2"], np.zeros((1, 3)), np.array([0]))
    model, y_pred, p_high = B.fit_predict(train, test, 0.25)
    assert model is None and y_pred.tolist() == [1] and p_high.tolist() == [1.0]


def test_merging_duplicate_rows_is_the_same_svm(toy):
    """Weighted unique rows (music: one row per song and label) = the SVM on every row."""
    parts = B.build_fold(
        toy["splits"], toy["labels"], "valence", 1.0, 2, "music_features",
        music_features=toy["music"],
    )
    train, test = parts["train"], parts["test"]
    assert len(np.unique(train.x, axis=0)) < len(train.x) / 3  # listeners share songs
    _, y_pred, p_high = B.fit_predict(train, test, c=0.25)
    plain = B.svm_pipeline(0.25).fit(train.x, train.y)
    np.testing.assert_array_equal(y_pred, plain.predict(test.x))
    np.testing.assert_allclose(p_high, expit(plain.decision_function(test.x)), atol=2e-3)


def test_music_svm_beats_chance_on_generated_pmemo(tmp_path):
    """The generator plants song valence in static_features.csv; through the PMEmo reader, the
    k-means labels, the subject folds and the csv music path, the music SVM finds it."""
    from edaffect.datasets import pmemo as pmemo_reader
    from edaffect.model_selection.labels import assign_labels
    from edaffect.signal.music import read_static_features
    from edaffect.synthetic import generate

    generate(
        "pmemo", tmp_path,
        {"n_subjects": 20, "n_songs": 30, "listeners_per_song": 8, "duration_s": [14.0, 16.0]},
        seed=3,
    )
    root = tmp_path / "PMEmo2019"  # the native folder (ground truth beside it)
    records, _ = pmemo_reader.read(root)
    trials = pd.DataFrame(
        {
            "trial_id": [r.trial_id for r in records],
            "subject": [r.subject for r in records],
            "trial": [str(r.trial) for r in records],
            "stimulus": [str(r.stimulus) for r in records],
            "valence": [r.valence for r in records],
            "arousal": [r.arousal for r in records],
        }
    )
    labels = assign_labels(trials, seed=0)
    splits, _ = make_splits(trials, n_folds=5, fractions=[1.0], seed=0)
    music = read_static_features(
        root / "features" / "static_features.csv", trials["stimulus"].unique()
    ).set_index("stimulus")
    accuracies = [
        B.fit_svm_fold(
            experiment="svm_music", dataset="pmemo", dimension="valence", fold=fold,
            fraction=1.0, kind="music_features", c=0.25, splits=splits, labels=labels,
            music_features=music,
        )[0]["accuracy"]
        for fold in range(5)
    ]
    rate = labels["valence_label"].mean()
    print(f"music SVM, generated PMEmo valence: {np.round(accuracies, 3).tolist()} ({rate:.2f})")
    assert np.mean(accuracies) > max(rate, 1 - rate) + 0.08, (accuracies, rate)
