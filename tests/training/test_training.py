"""Per-fold training: metrics, validation-only selection, resume, determinism, fold loading."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from edaffect.io.config_schema import schema_defaults
from edaffect.model_selection.metrics import binary_metrics
from edaffect.models import build_model
from edaffect.training.trainer import (
    FoldData,
    TrainingSettings,
    fold_seed,
    load_fold_data,
    load_trained,
    run_fold,
    train_and_test,
)

SMALL = {**schema_defaults("experiments"), "model": "rtcan1d",
         "modules": ["sca_res", "sca", "rnta"], "music": True, "depth": 1,
         "channels": [8, 8, 8, 8], "name": "tiny"}
TRAINING = schema_defaults("training")  # the schema's defaults, as validation fills them in
LENGTH = 48


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_fold(n: int, seed: int, music_dim: int = 4, prefix: str = "t") -> FoldData:
    """Label 1 trials carry a bump in the phasic channel and shifted music features."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(0, 0.5, (n, 3, LENGTH)).astype(np.float32)
    x[:, 1, 10:20] += 2.0 * y[:, None]
    music = rng.normal(0, 1, (n, music_dim)).astype(np.float32) + y[:, None]
    ids = [f"{prefix}{i}" for i in range(n)]
    return FoldData(x, y, ids, [f"s{i % 5}" for i in range(n)], music)


def settings(**kw) -> TrainingSettings:
    values = {"epochs": 6, "batch_size": 16, "lr": 0.01, "init": "normal", "init_std": 0.1,
              "checkpoint_every": 1, "patience": 0, "min_steps": 0}
    values.update(kw)
    seed, threads = values.pop("seed", 7), values.pop("threads", 1)
    return TrainingSettings.from_config({**TRAINING, **values}, seed=seed, threads=threads)


def factory():
    return build_model(SMALL, 3, LENGTH, 4)


def test_binary_metrics_by_hand():
    m = binary_metrics([1, 1, 1, 0, 0, 0, 1], [1, 0, 1, 0, 1, 0, 1])
    assert m["confusion_matrix"] == [[2, 1], [1, 3]]
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(3 / 4)
    assert binary_metrics([0, 0], [0, 0])["f1"] == 0.0
    with pytest.raises(ValueError, match="0 or 1"):
        binary_metrics([0, 2], [0, 1])


def test_settings_from_config():
    training = {**TRAINING, "epochs": 12, "batch_size": 32, "lr": 0.001, "gpu": True,
                "threads": 4}
    s = TrainingSettings.from_config(training, {"epochs": 3}, seed=5, threads=2)
    assert (s.epochs, s.batch_size, s.seed, s.threads) == (3, 32, 5, 2)
    assert fold_seed(1, "r_f", "pmemo", "valence", 0) == fold_seed(1, "r_f", "pmemo", "valence", 0)
    assert fold_seed(1, "r_f", "pmemo", "valence", 0) != fold_seed(1, "r_f", "pmemo", "valence", 1)


def test_training_learns_and_reports_contract_fields():
    train, val, test = make_fold(64, 0), make_fold(16, 1, prefix="v"), make_fold(16, 2, prefix="e")
    result = train_and_test(factory, train, val, test, settings(epochs=8), None)
    m = result.metrics
    assert m["accuracy"] >= 0.75, m
    for key in ("f1", "precision", "recall", "confusion_matrix", "n_train", "n_val", "n_test",
                "chosen_epoch", "val_curve", "n_parameters", "train_seconds",
                "seconds_per_epoch", "device"):
        assert key in m
    assert len(m["val_curve"]) == 8 and 1 <= m["chosen_epoch"] <= 8
    assert m["val_curve"][m["chosen_epoch"] - 1] == max(m["val_curve"])
    assert list(result.predictions.columns) == ["trial_id", "subject", "y_true", "y_pred",
                                                "p_high"]
    assert result.predictions["trial_id"].tolist() == test.trial_id


def test_selection_never_looks_at_the_test_fold():
    """Changing the test fold (inputs and labels) must not change the chosen epoch or weights,
    and the test inputs may reach the network only once, after the last training step."""
    train, val = make_fold(48, 0), make_fold(16, 1, prefix="v")
    test_a = make_fold(16, 2, prefix="e")
    test_b = FoldData(test_a.x[::-1] * -3.0, 1 - test_a.y, test_a.trial_id, test_a.subject,
                      test_a.music[::-1] * 5.0)
    seen = []

    def spying_factory():
        model = factory()
        forward = model.forward

        def spy(x, music=None):
            is_test = bool((x.abs() > 1e3).any())
            seen.append(("test" if is_test else "other", model.training))
            return forward(x, music)

        model.forward = spy
        return model

    marked = FoldData(test_a.x + 1e4, test_a.y, test_a.trial_id, test_a.subject, test_a.music)
    results = [
        train_and_test(f, train, val, t, settings(), None)
        for f, t in ((factory, test_a), (factory, test_b), (spying_factory, marked))
    ]
    a, b, spied = (r.metrics for r in results)
    assert a["chosen_epoch"] == b["chosen_epoch"] == spied["chosen_epoch"]
    assert a["val_curve"] == b["val_curve"] == spied["val_curve"]
    for key, value in results[0].state_dict.items():
        torch.testing.assert_close(value, results[1].state_dict[key])
    test_calls = [i for i, (kind, _) in enumerate(seen) if kind == "test"]
    assert len(test_calls) == 1 and test_calls[0] == len(seen) - 1
    assert seen[-1] == ("test", False)  # scored once, in eval mode, at the very end


def test_resume_after_interruption_matches_uninterrupted(tmp_path):
    train, val, test = make_fold(40, 0), make_fold(12, 1, prefix="v"), make_fold(12, 2, prefix="e")
    full = train_and_test(factory, train, val, test, settings(), tmp_path / "full")

    class Killed(RuntimeError):
        pass

    def dying_factory(after_batches=9):  # 3 batches per epoch: dies inside epoch 4
        model = factory()
        forward, calls = model.forward, [0]

        def counted(x, music=None):
            if model.training:
                calls[0] += 1
                if calls[0] > after_batches:
                    raise Killed("killed mid-epoch")
            return forward(x, music)

        model.forward = counted
        return model

    with pytest.raises(Killed):
        train_and_test(dying_factory, train, val, test, settings(), tmp_path / "cut")
    assert (tmp_path / "cut" / "last.pt").exists()
    resumed = train_and_test(factory, train, val, test, settings(), tmp_path / "cut")
    assert resumed.metrics["resumed_from_epoch"] == 3
    assert full.metrics["resumed_from_epoch"] == 0
    for key in ("accuracy", "f1", "confusion_matrix", "chosen_epoch", "val_curve",
                "val_loss_curve", "train_loss_curve"):
        assert resumed.metrics[key] == full.metrics[key], key
    pd.testing.assert_frame_equal(resumed.predictions, full.predictions)
    # A checkpoint of another run (other seed) is not resumed.
    other = train_and_test(factory, train, val, test, settings(seed=8), tmp_path / "cut")
    assert other.metrics["resumed_from_epoch"] == 0


def test_same_seed_same_result_on_cpu():
    train, val, test = make_fold(32, 0), make_fold(8, 1, prefix="v"), make_fold(8, 2, prefix="e")
    runs = [train_and_test(factory, train, val, test, settings(epochs=3), None)
            for _ in range(2)]
    assert runs[0].metrics["val_loss_curve"] == runs[1].metrics["val_loss_curve"]
    pd.testing.assert_frame_equal(runs[0].predictions, runs[1].predictions)


def test_fold_data_rejects_bad_input():
    with pytest.raises(ValueError, match="labels must be 0/1"):
        FoldData(np.zeros((2, 3, 4)), [0, 2], ["a", "b"], ["s", "s"])
    with pytest.raises(ValueError, match="non-finite inputs in trials \\['b'\\]"):
        FoldData(np.array([[0.0], [np.nan]]), [0, 1], ["a", "b"], ["s", "s"])
    with pytest.raises(ValueError, match="2 labels"):
        FoldData(np.zeros((3, 3, 4)), [0, 1], ["a", "b"], ["s", "s"])


def write_stage_files(root, n_subjects=10, per_subject=4, missing_input="s9_3"):
    """Hand-made stage outputs in the contract's layout: one fold of 10 subjects."""
    rng = np.random.default_rng(0)
    rows, ids = [], []
    for s in range(n_subjects):
        for t in range(per_subject):
            ids.append(f"s{s}_{t}")
            role = "test" if s == 0 else "val" if s == 1 else "train"
            rows.append({"fraction": 1.0, "fold": 0, "trial_id": f"s{s}_{t}", "subject": f"s{s}",
                         "stimulus": str(t + 1), "role": role})
    splits = pd.DataFrame(rows)
    splits.to_csv(root / "splits.csv", index=False)
    labels = pd.DataFrame({"trial_id": ids, "subject": splits["subject"],
                           "valence_label": [i % 2 for i in range(len(ids))],
                           "arousal_label": [(i // 2) % 2 for i in range(len(ids))]})
    labels.to_csv(root / "labels.csv", index=False)
    with_input = [t for t in ids if t != missing_input]
    np.save(root / "inputs.npy", rng.normal(size=(len(with_input), 3, LENGTH)).astype("float32"))
    pd.DataFrame({"row": range(len(with_input)), "trial_id": with_input}).to_csv(
        root / "inputs_index.csv", index=False)
    music = pd.DataFrame(rng.normal(5, 2, (per_subject, 6)), columns=[f"m{i}" for i in range(6)])
    music.insert(0, "stimulus", [str(t + 1) for t in range(per_subject)])
    music.to_csv(root / "music_features.csv", index=False)
    feats = pd.DataFrame(rng.normal(3, 4, (len(ids), 128)), columns=[f"f{i}" for i in range(128)])
    feats.iloc[0, 5] = np.nan
    feats.insert(0, "trial_id", ids)
    feats.to_csv(root / "eda_features.csv", index=False)
    return {
        "splits_csv": root / "splits.csv", "labels_csv": root / "labels.csv",
        "inputs_npy": root / "inputs.npy", "inputs_index_csv": root / "inputs_index.csv",
        "music_features_csv": root / "music_features.csv",
        "eda_features_csv": root / "eda_features.csv",
    }


def test_load_fold_data_scales_with_training_statistics_only(tmp_path):
    paths = write_stage_files(tmp_path)
    train, val, test, info = load_fold_data(
        dict(SMALL, fraction=1.0), "arousal", 0,
        **{k: v for k, v in paths.items() if k != "eda_features_csv"},
    )
    assert (len(train), len(val), len(test)) == (31, 4, 4)  # s9_3 has no model input
    assert info == {"in_channels": 3, "input_length": LENGTH, "music_dim": 6,
                    "n_skipped_no_input": 1}
    assert set(train.subject).isdisjoint(val.subject) and set(val.subject).isdisjoint(test.subject)
    np.testing.assert_allclose(train.music.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(train.music.std(0), 1, atol=1e-4)
    assert train.y.tolist() == [(int(t.split("_")[0][1:]) * 4 + int(t.split("_")[1])) // 2 % 2
                                for t in train.trial_id]

    cnn = {"model": "cnn3", "input": "eda_features", "fraction": 1.0, "name": "cnn3_eda"}
    train, val, test, info = load_fold_data(cnn, "valence", 0, splits_csv=paths["splits_csv"],
                                            labels_csv=paths["labels_csv"],
                                            eda_features_csv=paths["eda_features_csv"])
    assert train.x.shape == (32, 128) and info["in_channels"] == 1
    assert info["input_length"] == 128 and np.isfinite(test.x).all()
    np.testing.assert_allclose(train.x.mean(0), 0, atol=1e-5)


def test_load_fold_data_names_the_missing_song(tmp_path):
    paths = write_stage_files(tmp_path)
    music = pd.read_csv(paths["music_features_csv"])
    music[music["stimulus"] != 2].to_csv(paths["music_features_csv"], index=False)
    with pytest.raises(ValueError, match="stimulus \\['2'"):
        load_fold_data(dict(SMALL, fraction=1.0), "valence", 0,
                       **{k: v for k, v in paths.items() if k != "eda_features_csv"})


def test_run_fold_writes_the_contract_files(tmp_path):
    paths = write_stage_files(tmp_path)
    out = tmp_path / "runs" / "fold0"
    inputs = {k: v for k, v in paths.items() if k != "eda_features_csv"}
    metrics = run_fold(
        dict(SMALL, fraction=1.0), "pmemo", "valence", 0, inputs=inputs,
        training={**TRAINING, "epochs": 2, "batch_size": 16, "lr": 0.01}, seed=1, threads=1,
        metrics_json=out / "metrics.json", predictions_csv=out / "predictions.csv",
        model_pt=out / "model.pt",
    )
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert (saved["experiment"], saved["dataset"], saved["fold"]) == ("tiny", "pmemo", 0)
    assert saved["model"] == "rtcan1d" and saved["music_dim"] == 6
    assert not (out / "checkpoint").exists()
    predictions = pd.read_csv(out / "predictions.csv", dtype={"trial_id": str, "subject": str})
    model = load_trained(out / "model.pt")
    _, _, test, _ = load_fold_data(dict(SMALL, fraction=1.0), "valence", 0, **inputs)
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(test.x), torch.from_numpy(test.music)), 1)[:, 1]
    np.testing.assert_allclose(predictions["p_high"], p.numpy(), rtol=1e-5, atol=1e-6)
    assert predictions["trial_id"].tolist() == test.trial_id


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    """The run stops `patience` epochs after its best validation epoch; the same run without a
    patience has that epoch's curve as its prefix (stopping changes nothing before it)."""
    sets = make_fold(40, 0), make_fold(12, 1, prefix="v"), make_fold(12, 2, prefix="e")
    full = train_and_test(factory, *sets, settings(epochs=15, lr=0.05), None)
    stopped = train_and_test(factory, *sets, settings(epochs=15, lr=0.05, patience=1), None)
    run = stopped.metrics["epochs_run"]
    assert run < 15 and run == stopped.metrics["chosen_epoch"] + 1
    assert stopped.metrics["val_curve"] == full.metrics["val_curve"][:run]
    assert full.metrics["epochs_run"] == 15
