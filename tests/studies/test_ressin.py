"""Res-SIN: signal images, the 2-D network, the regression pre-experiment and fold feeding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from edaffect.io.config_schema import schema_defaults
from edaffect.models import build_model
from edaffect.models.ressin import RandomCrop2d, ResSIN
from edaffect.signal.preprocessing import PreprocessSettings, decompose_trial
from edaffect.studies.ressin.regression import (
    RegressionSettings,
    out_of_fold_predictions,
    run_regression,
)
from edaffect.studies.ressin.signal_images import (
    SignalImageError,
    image_to_signal,
    minmax,
    signal_rows,
    signal_to_image,
    trial_image,
)
from edaffect.studies.ressin.training import check_fold_roles, fold_arrays

FS = 50.0


def real_pmemo_trace(data_dir, song: str = "108", listener: int = 0) -> np.ndarray:
    """A real PMEmo listener's EDA (demo export, ~12.5 Hz) linearly resampled to 50 Hz."""
    data = json.loads((data_dir / "pmemo-public-samples" / f"{song}.json").read_text())
    t = np.asarray(data["eda"]["t"], dtype=float)
    values = np.asarray(data["eda"]["subjects"][listener]["values"], dtype=float)
    grid = np.arange(t[0], t[-1], 1.0 / FS)
    return np.interp(grid, t, values)


@pytest.fixture(scope="module")
def real_components(data_dir) -> list[np.ndarray]:
    """origin/phasic/tonic of the 16 real PMEmo traces (4 songs x 4 listeners), 15 s cropped."""
    out = []
    for song in ("108", "372", "634", "683"):
        for listener in range(4):
            comp = decompose_trial(real_pmemo_trace(data_dir, song, listener), FS,
                                   PreprocessSettings(crop_s=15.0))
            out.append(np.stack([comp.eda, comp.phasic, comp.tonic]))
    return out


def test_image_round_trip_keeps_curve_shape(real_components):
    """Res-SIN Fig. 3: a 224 x 224 image turned back into 1-D keeps the curve, for every real
    trace and every channel (origin, phasic, tonic)."""
    row_width = int(FS)
    for index, components in enumerate(real_components):
        for name, channel in zip(("origin", "phasic", "tonic"), components, strict=True):
            x = minmax(channel)
            rows = signal_rows(x, row_width)
            image = signal_to_image(x, row_width, 224)
            assert image.shape == (224, 224)
            back = image_to_signal(image, rows.shape[0], row_width)
            r = np.corrcoef(rows.reshape(-1), back)[0, 1]
            assert r > 0.99, f"trace {index} {name}: correlation {r:.4f}"


def test_image_layout_is_one_second_per_row():
    """Rows are consecutive seconds: a ramp becomes an image increasing down and across."""
    x = np.linspace(0.0, 1.0, 20 * 50)
    rows = signal_rows(x, 50)
    assert rows.shape == (20, 50)
    assert np.array_equal(rows[1], x[50:100])
    image = signal_to_image(x, 50, 16)
    assert np.all(np.diff(image[:, 0]) > 0) and np.all(np.diff(image[0]) > 0)


def test_trial_image_min_max_and_flat_channel():
    rng = np.random.default_rng(0)
    comps = np.cumsum(rng.normal(size=(3, 1000)), axis=1) * 7 + 3
    image = trial_image(comps, FS, 24)
    assert image.shape == (3, 24, 24) and image.dtype == np.float32
    assert image.min() >= -1e-6 and image.max() <= 1 + 1e-6
    comps[2] = 5.0
    with pytest.raises(SignalImageError, match="flat"):
        trial_image(comps, FS, 24)


def test_components_crop_15_s_and_exclude_short_trials(tmp_path):
    """write_components: the study's decomposition with Res-SIN's 15 s crop; a trial too short
    after cropping is listed with its reason; a rerun comes from the per-trial cache."""
    from edaffect.studies.ressin.components import ResSINSettings, write_components

    rng = np.random.default_rng(1)
    raw = {"1_1": np.cumsum(rng.normal(size=int(40 * FS))) * 0.01 + 5,
           "1_2": np.cumsum(rng.normal(size=int(20 * FS))) * 0.01 + 5}
    np.savez(tmp_path / "raw.npz", **raw)
    pd.DataFrame({"trial_id": ["1_1", "1_2"], "dataset": "pmemo", "subject": "1",
                  "trial": ["1", "2"], "stimulus": ["1", "2"], "fs": [FS, FS],
                  "n_samples": [2000, 1000], "valence": 0.5, "arousal": 0.5,
                  "source": ["EDA/1_EDA.csv", "EDA/2_EDA.csv"]}).to_csv(tmp_path / "trials.csv",
                                                                      index=False)
    settings = ResSINSettings.from_config({
        **schema_defaults("ressin"), "crop_s": 15.0, "min_duration_s": 10.0, "image_size": 24,
        "channels": [4, 8, 16, 32], "batch_size": 100, "lr": 0.001, "epochs": 1, "table2": {}})
    preprocessing = {"crop_s": 3.0, "length": {"pmemo": 64}, "cvxeda": {}}
    out = [tmp_path / n for n in ("c.npz", "c.csv", "x.csv")]
    for _ in range(2):
        index = write_components(tmp_path / "raw.npz", tmp_path / "trials.csv", *out, settings,
                                 preprocessing, tmp_path / "cache")
    assert index["trial_id"].tolist() == ["1_1"] and index["n_samples"].tolist() == [25 * 50]
    with np.load(out[0]) as comps:
        assert comps["1_1"].shape == (3, 1250)
        y = raw["1_1"][int(15 * FS) :]
        assert np.allclose(comps["1_1"][0], (y - y.mean()) / y.std(), atol=1e-5)
    excluded = pd.read_csv(out[2], dtype=str)
    assert excluded["trial"].tolist() == ["2"]
    assert "dropping the first 15 s" in excluded["reason"].iloc[0]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["1_1.npz", "1_2.npz"]


def test_random_crop_train_and_eval():
    torch.manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    crop = RandomCrop2d(6)
    out = crop.train()(x)
    assert out.shape == (2, 3, 6, 6)
    for b in range(2):  # every sample's crop is a contiguous window of its own image
        top = int((out[b, 0, 0, 0] - x[b, 0, 0, 0]) // 8)
        left = int((out[b, 0, 0, 0] - x[b, 0, 0, 0]) % 8)
        assert torch.equal(out[b], x[b, :, top : top + 6, left : left + 6])
    assert torch.equal(crop.eval()(x), x[..., 1:7, 1:7])


@pytest.mark.parametrize("in_channels,music_dim", [(3, 6373), (1, 0)])
def test_model_shapes(in_channels, music_dim):
    experiment = {"model": "ressin", "music": music_dim > 0, "channels": [8, 16, 32, 64],
                  "crop_size": 28}
    model = build_model(experiment, in_channels, 32, music_dim)
    assert isinstance(model, ResSIN)
    x = torch.randn(4, in_channels, 32, 32)
    music = torch.randn(4, music_dim) if music_dim else None
    assert model.eda_vector(x).shape == (4, 64)
    assert model(x, music).shape == (4, 2)
    model.eval()
    assert model(x, music).shape == (4, 2)


def test_paper_widths_give_512_d_eda_vector_and_fusion_head():
    model = ResSIN(in_channels=3, image_size=64, music_dim=6373, crop_size=56)
    model.eval()
    assert model.eda_vector(torch.randn(2, 3, 64, 64)).shape == (2, 512)
    first = model.classifier[0]
    assert (first.in_features, first.out_features) == (512 + 6373, 512)
    assert model.classifier[-1].out_features == 2
    with pytest.raises(ValueError, match="6373 music features"):
        model(torch.randn(2, 3, 64, 64), None)


def test_imagenet_stem_at_paper_size():
    model = ResSIN(in_channels=3, image_size=224, crop_size=196, channels=(4, 4, 4, 8))
    assert any(isinstance(m, torch.nn.MaxPool2d) for m in model.subnet.stem)
    model.eval()
    assert model(torch.randn(1, 3, 224, 224)).shape == (1, 2)


# ------------------------------------------------------------------ fold feeding (leak test)


def _toy_study(n_subjects=6, trials_per_subject=4, n_folds=3):
    rows, labels = [], []
    subjects = [f"{100 + s}" for s in range(n_subjects)]
    for s, subject in enumerate(subjects):
        for t in range(trials_per_subject):
            trial_id = f"{subject}_{t}"
            labels.append({"trial_id": trial_id, "subject": subject, "trial": str(t),
                           "valence": 0.1 * t, "arousal": 0.2 * s / n_subjects,
                           "valence_label": t % 2, "arousal_label": s % 2})
            test_fold = s % n_folds
            for fold in range(n_folds):
                role = ("test" if fold == test_fold else
                        "val" if (fold + 1) % n_folds == test_fold else "train")
                rows.append({"fraction": 1.0, "fold": fold, "trial_id": trial_id,
                             "subject": subject, "stimulus": str(t), "role": role})
    return pd.DataFrame(labels), pd.DataFrame(rows)


def test_fold_feeding_follows_splits_without_leaks():
    labels, splits = _toy_study()
    ids = labels["trial_id"].tolist()
    rng = np.random.default_rng(0)
    images = rng.random((len(ids), 3, 8, 8)).astype(np.float16)
    music = pd.DataFrame(rng.normal(size=(4, 5)), index=[str(t) for t in range(4)])
    for fold in range(3):
        arrays = fold_arrays(images, ids, labels, splits, music, input_name="mix",
                             dimension="valence", fraction=1.0, fold=fold)
        check_fold_roles(arrays)
        part = splits[splits["fold"] == fold]
        for role in ("train", "val", "test"):
            expected = part.loc[part["role"] == role, "trial_id"].tolist()
            assert arrays[role].trial_id == expected
            assert arrays[role].x.shape == (len(expected), 3, 8, 8)
            assert arrays[role].music.shape == (len(expected), 5)
        # mean subtraction and music z-scoring use the training role only
        assert np.allclose(arrays["train"].x.mean(axis=(0, 2, 3)), 0.0, atol=1e-3)
        assert np.allclose(arrays["train"].music.mean(axis=0), 0.0, atol=1e-5)
        test_subjects = set(arrays["test"].subject)
        assert test_subjects == set(part.loc[part["role"] == "test", "subject"])
        assert arrays["test"].y.tolist() == [int(t.split("_")[1]) % 2 for t in expected]
    single = fold_arrays(images, ids, labels, splits, None, input_name="tonic",
                         dimension="arousal", fraction=1.0, fold=0)
    assert single["train"].x.shape[1] == 1 and single["train"].music is None


def test_fold_feeding_rejects_a_leaking_split():
    labels, splits = _toy_study()
    leak = splits.copy()
    first_test = leak[(leak["fold"] == 0) & (leak["role"] == "test")].index[0]
    leak.loc[first_test, "role"] = "train"  # one trial of a test subject moves to train
    ids = labels["trial_id"].tolist()
    images = np.zeros((len(ids), 3, 4, 4), dtype=np.float16)
    with pytest.raises(AssertionError, match="two roles"):
        fold_arrays(images, ids, labels, leak, None, input_name="mix", dimension="valence",
                    fraction=1.0, fold=0)


# ------------------------------------------------------------------ regression (Table 1)


def test_regression_recovers_a_planted_relation_out_of_fold():
    labels, splits = _toy_study(n_subjects=9, trials_per_subject=6)
    rng = np.random.default_rng(3)
    comps, fs = {}, {}
    for row in labels.itertuples():
        level = 0.2 + 0.6 * rng.random()
        labels.loc[labels["trial_id"] == row.trial_id, "valence"] = level
        phase = 2 * np.pi * np.arange(int(20 * FS)) / (20 * FS)
        # the curve's shape (its cosine share; z-scoring removes the level) encodes the rating
        tonic = (level - 0.5) * np.cos(phase) + 0.3 * np.sin(phase)
        tonic = tonic + rng.normal(0, 0.02, phase.size)
        comps[row.trial_id] = np.stack([tonic, rng.normal(size=phase.size), tonic])
        fs[row.trial_id] = FS
    result = run_regression(comps, fs, labels, splits, ["valence"],
                            RegressionSettings(0.6, 8, 4))
    mlr = result[(result["method"] == "MLR") & (result["input"] == "tonic")].iloc[0]
    noise = result[(result["method"] == "MLR") & (result["input"] == "phasic")].iloc[0]
    assert mlr["pearson_r"] > 0.9 and mlr["rmse"] < noise["rmse"]
    assert set(result["input"]) == {"baseline", "tonic", "phasic"}
    assert mlr["n_trials"] == 54 and mlr["n_folds"] == 3


def test_regression_refuses_training_on_test_rows():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="both a training and a test row"):
        out_of_fold_predictions(x, np.arange(4.0), np.array([0, 0, 1, 1]),
                                {0: np.array([True, False, True, True])}, "MLR")


# ------------------------------------------------------------------ training path and tables


def test_train_folds_writes_runs_from_the_right_fold_roles(tmp_path):
    """The rule's code path: folds trained in one process, each run's test trials are exactly
    the fold's test role, and model.pt rebuilds the network."""
    from edaffect.training.fold_runner import BUILTIN_FAMILIES, FoldJob, result_settings, run_job
    from edaffect.training.trainer import load_trained

    labels, splits = _toy_study(n_subjects=6, trials_per_subject=6)
    ids = labels["trial_id"].tolist()
    rng = np.random.default_rng(0)
    images = rng.random((len(ids), 3, 12, 12)).astype(np.float16)
    np.save(tmp_path / "images.npy", images)
    pd.DataFrame({"row": range(len(ids)), "trial_id": ids}).to_csv(tmp_path / "idx.csv",
                                                                   index=False)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    splits.to_csv(tmp_path / "splits.csv", index=False)
    ressin = {**schema_defaults("ressin"), "crop_s": 15.0, "image_size": 12, "crop_size": 10,
              "channels": [2, 2, 2, 4], "batch_size": 8, "lr": 0.01, "epochs": 2, "table2": {}}
    training = {**schema_defaults("training"), "epochs": 9, "batch_size": 256, "lr": 0.1,
                "device": "cpu"}
    experiment = {**schema_defaults("experiments"), "name": "ressin_test", "model": "ressin",
                  "input": "phasic", "music": False}
    run_dirs = [tmp_path / f"fold{k}" for k in (0, 1)]
    family = BUILTIN_FAMILIES["ressin"]
    job = FoldJob(
        experiment, "pmemo", "valence", [0, 1], run_dirs,
        inputs={"images_npy": str(tmp_path / "images.npy"),
                "images_index_csv": str(tmp_path / "idx.csv"),
                "labels_csv": str(tmp_path / "labels.csv"),
                "splits_csv": str(tmp_path / "splits.csv")},
        settings=result_settings({"training": training, "ressin": ressin}, family),
        seed=1, threads=1, device="cpu",
    )
    results = run_job(job, family)
    for fold, run_dir, metrics in zip((0, 1), run_dirs, results, strict=True):
        part = splits[splits["fold"] == fold]
        predictions = pd.read_csv(run_dir / "predictions.csv", dtype={"trial_id": str})
        assert predictions["trial_id"].tolist() == part.loc[part["role"] == "test", "trial_id"
                                                            ].tolist()
        saved = json.loads((run_dir / "metrics.json").read_text())
        assert saved["n_train"] == (part["role"] == "train").sum()
        assert saved["n_val"] == (part["role"] == "val").sum()
        assert saved["epochs"] == 2 and saved["model"] == "ressin" and saved["fold"] == fold
        assert saved == metrics
        assert not (run_dir / "checkpoint").exists()
        model = load_trained(run_dir / "model.pt")
        assert model(torch.zeros(1, 1, 12, 12)).shape == (1, 2)


def _fake_metrics(tmp_path, experiment, dimension, accuracies):
    paths = []
    for fold, acc in enumerate(accuracies):
        path = tmp_path / experiment / dimension / f"fold{fold}" / "metrics.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({
            "experiment": experiment, "dataset": "pmemo", "dimension": dimension, "fold": fold,
            "accuracy": acc, "f1": acc, "precision": acc, "recall": acc, "n_train": 80,
            "n_test": 10}))
        paths.append(path)
    return paths


def test_table2_pairs_mix_with_each_component_and_shows_paper_values(tmp_path, paper_tables):
    from edaffect.studies.ressin.tables import write_table2

    table2 = {"components": {"origin": "o", "tonic": "t", "phasic": "p", "mix": "m"},
              "features": {"eda": "e", "music": "s", "multi": "m"}}
    levels = {"o": 0.6, "t": 0.62, "p": 0.64, "m": 0.7, "e": 0.55, "s": 0.66}
    paths = []
    for name, level in levels.items():
        for dim in ("valence", "arousal"):
            accs = [level + 0.01 * ((k * 7) % 5) for k in range(10)]
            paths += _fake_metrics(tmp_path, name, dim, accs)
    config = {"ressin": {"crop_s": 15.0, "image_size": 24, "channels": [4, 8, 16, 32],
                         "batch_size": 100, "lr": 0.001, "epochs": 1, "table2": table2},
              "datasets": {"pmemo": {"root": "x", "synthetic": {}}},
              "dimensions": ["valence", "arousal"], "split": {"n_folds": 10},
              "training": {"momentum": 0.9, "weight_decay": 0.0005}}
    config["ressin"] = {**schema_defaults("ressin"), **config["ressin"]}
    paper = paper_tables
    numeric = write_table2(paths, tmp_path / "t2.csv", tmp_path / "t2.md", config,
                           paper_tables=paper)
    origin_v = numeric[(numeric["row"] == "origin") & (numeric["dimension"] == "valence")].iloc[0]
    assert origin_v["accuracy_paper"] == pytest.approx(66.19)
    assert origin_v["accuracy_vs_ref_diff"] == pytest.approx(-10.0)  # origin - mix, points
    assert origin_v["accuracy_vs_ref_p"] < 0.001
    music_a = numeric[(numeric["row"] == "music") & (numeric["dimension"] == "arousal")].iloc[0]
    assert music_a["f1_paper"] == pytest.approx(76.36)
    assert music_a["reference"] == "m"
    text = (tmp_path / "t2.md").read_text()
    assert "SYNTHETIC" in text and "73.43" in text and "SVM + Music" in text
    assert "row minus mix" in text and "momentum 0.9" in text and "batch norm" in text
    assert "| —  " in text or "| — |" in text  # no predictions.csv: single-class unknown


def test_table2_counts_single_class_folds(tmp_path, paper_tables):
    """The tonic rows predict one class in 6 of 10 folds: '6/10' and the mark."""
    from edaffect.studies.ressin.tables import write_table2

    table2 = {"components": {"origin": "o", "tonic": "t", "phasic": "p", "mix": "m"},
              "features": {"eda": "e", "music": "s", "multi": "m"}}
    paths = []
    for name in ("o", "t", "p", "m", "e", "s"):
        for dim in ("valence", "arousal"):
            for path in _fake_metrics(tmp_path, name, dim, [0.6 + 0.01 * k for k in range(10)]):
                fold = int(path.parent.name.removeprefix("fold"))
                y_pred = [1, 1] if name == "t" and fold < 6 else [0, 1]
                pd.DataFrame({"trial_id": ["a", "b"], "subject": ["x", "y"], "y_true": [0, 1],
                              "y_pred": y_pred}).to_csv(path.with_name("predictions.csv"),
                                                        index=False)
                paths.append(path)
    config = {"ressin": {**schema_defaults("ressin"), "crop_s": 15.0, "image_size": 24,
                         "channels": [4, 8, 16, 32], "batch_size": 100, "lr": 0.001,
                         "epochs": 1, "table2": table2},
              "datasets": {"pmemo": {"root": "x", "synthetic": {}}},
              "dimensions": ["valence", "arousal"], "split": {"n_folds": 10},
              "training": {"momentum": 0.9, "weight_decay": 0.0005}}
    numeric = write_table2(paths, tmp_path / "t2.csv", tmp_path / "t2.md", config,
                           paper_tables=paper_tables)
    tonic = numeric[numeric["row"] == "tonic"]
    assert list(tonic["single_class_folds"]) == [6, 6] and tonic["single_class_flag"].all()
    assert (numeric.loc[numeric["row"] != "tonic", "single_class_folds"] == 0).all()
    text = (tmp_path / "t2.md").read_text()
    assert text.count("6/10 ⚠") == 2 and "⚠ tonic" in text and "Single-class folds k/n" in text


def test_table1_places_paper_values_beside_ours(tmp_path, paper_tables):
    from edaffect.studies.ressin.tables import write_table1

    rows = [{"method": m, "dimension": d, "input": i, "rmse": 0.2, "pearson_r": 0.1,
             "n_trials": 450, "n_folds": 10}
            for m in ("MLR", "SVR") for d in ("valence", "arousal")
            for i in ("baseline", "tonic", "phasic")]
    pd.DataFrame(rows).to_csv(tmp_path / "reg.csv", index=False)
    config = {"datasets": {"pmemo": {"root": "/real", "synthetic": False}}}
    numeric = write_table1(tmp_path / "reg.csv", tmp_path / "t1.csv", tmp_path / "t1.md", config,
                           paper_tables=paper_tables)
    svr_v_phasic = numeric[(numeric["method"] == "SVR") & (numeric["dimension"] == "valence")
                           & (numeric["input"] == "phasic")].iloc[0]
    assert svr_v_phasic["rmse_paper"] == pytest.approx(0.1400)
    assert svr_v_phasic["pearson_r_paper"] == pytest.approx(0.0880)
    mlr_a_base = numeric[(numeric["method"] == "MLR") & (numeric["dimension"] == "arousal")
                         & (numeric["input"] == "baseline")].iloc[0]
    assert mlr_a_base["rmse_paper"] == pytest.approx(0.1860)
    assert numeric["rmse_paper"].notna().all() and len(numeric) == 12
    assert "= real" in (tmp_path / "t1.md").read_text()
