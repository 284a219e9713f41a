"""Fold-vectorised training agrees with the sequential trainer fold by fold (CPU).

Tolerance: vmap turns the k folds' convolutions and matrix products into grouped/batched kernels
that sum in a different order than one model alone, so weights differ by float32 rounding
(measured: at most 4e-7 on any weight or batch-norm statistic after 5 epochs, 1.2e-7 on test
probabilities; we allow 1e-5).
Chosen epochs, test predictions and test metrics must be identical.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from edaffect.models import build_model
from edaffect.training.trainer import FoldData, TrainingSettings, train_and_test
from edaffect.training.vectorised import lr_schedule, train_and_test_folds

SMALL = {"model": "rtcan1d", "modules": ["sca_res", "sca", "rnta"], "music": True,
         "depth": 1, "channels": [8, 8, 8, 8], "name": "tiny"}
LENGTH = 48
MUSIC = 4


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_fold(n: int, seed: int, prefix: str) -> FoldData:
    """Label-1 trials carry a bump in the phasic channel and shifted music features."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    x = rng.normal(0, 0.7, (n, 3, LENGTH)).astype(np.float32)
    x[:, 1, 10:20] += 1.0 * y[:, None]
    music = rng.normal(0, 1, (n, MUSIC)).astype(np.float32) + 0.5 * y[:, None]
    return FoldData(x, y, [f"{prefix}{i}" for i in range(n)], [f"s{i % 5}" for i in range(n)],
                    music)


def splits():
    # different sizes: different batch counts and last-batch sizes per fold (one of size 1)
    sizes = [(70, 30, 30), (49, 25, 31), (81, 20, 26)]
    return [tuple(make_fold(n, 100 * f + r, f"f{f}r{r}_") for r, n in enumerate(s))
            for f, s in enumerate(sizes)]


def settings(seed: int, **kw) -> TrainingSettings:
    values = {"epochs": 5, "batch_size": 16, "lr": 0.01, "lr_step_epochs": 2, "lr_decay": 0.5,
              "momentum": 0.9, "weight_decay": 5e-4, "init": "normal", "init_std": 0.1,
              "device": "cpu", "amp": False, "threads": 1, "seed": seed, "checkpoint_every": 2,
              "patience": 0, "min_steps": 0}
    values.update(kw)
    return TrainingSettings(**values)


def factory():
    return build_model(SMALL, 3, LENGTH, MUSIC)


def assert_same_fold(vec, seq):
    assert vec.metrics["chosen_epoch"] == seq.metrics["chosen_epoch"]
    for key in ("accuracy", "f1", "precision", "recall", "confusion_matrix", "n_train"):
        assert vec.metrics[key] == seq.metrics[key], key
    np.testing.assert_allclose(vec.metrics["val_curve"], seq.metrics["val_curve"])
    np.testing.assert_allclose(vec.metrics["train_loss_curve"], seq.metrics["train_loss_curve"],
                               rtol=1e-4)
    assert (vec.predictions["y_pred"] == seq.predictions["y_pred"]).all()
    np.testing.assert_allclose(vec.predictions["p_high"], seq.predictions["p_high"], atol=1e-5)
    assert list(vec.state_dict) == list(seq.state_dict)
    for name, tensor in seq.state_dict.items():
        torch.testing.assert_close(vec.state_dict[name], tensor, atol=1e-5, rtol=1e-5,
                                   msg=name)


def test_vectorised_matches_sequential_fold_by_fold():
    data = splits()
    seeds = [11, 22, 33]
    seq = [train_and_test(factory, *d, settings(s), None) for d, s in zip(data, seeds, strict=True)]
    vec = train_and_test_folds(factory, data, [settings(s) for s in seeds], [None] * 3)
    assert len({r.metrics["chosen_epoch"] for r in seq}) >= 1
    for v, s in zip(vec, seq, strict=True):
        assert_same_fold(v, s)
    # the folds really are different models (per-fold seeds and data)
    assert not torch.equal(vec[0].state_dict["shallow.0.weight"],
                           vec[1].state_dict["shallow.0.weight"])
    # batch norm statistics are per fold and moved during training
    means = [v.state_dict["shallow.1.running_mean"] for v in vec]
    assert not torch.allclose(means[0], means[1])
    assert not torch.allclose(means[0], torch.zeros_like(means[0]))


def test_lr_schedule_is_steplr():
    lrs = lr_schedule(settings(0, epochs=7, lr=0.1, lr_step_epochs=3, lr_decay=0.9))
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, 3, 0.9)
    expected = [opt.param_groups[0]["lr"]]
    for _ in range(7):
        opt.step()
        sched.step()
        expected.append(opt.param_groups[0]["lr"])
    assert lrs == expected


def test_killed_vectorised_run_resumes_and_checkpoints_are_interchangeable(tmp_path):
    """A run cut at 3 epochs leaves each fold's epoch-2 checkpoint (none after a run's last
    epoch); resumed vectorised to 5: same as uninterrupted.  The sequential trainer resumes from
    a vectorised fold checkpoint too."""
    data = splits()
    seeds = [5, 6, 7]
    dirs = [tmp_path / f"fold{f}" / "checkpoint" for f in range(3)]
    full = train_and_test_folds(factory, data, [settings(s) for s in seeds], [None] * 3)
    train_and_test_folds(factory, data, [settings(s, epochs=3) for s in seeds], dirs)
    assert all(torch.load(d / "last.pt", weights_only=False)["state"]["epoch"] == 2
               for d in dirs)
    # fold 2 advances alone to epoch 4 (of 5): folds then resume from different epochs
    seq2 = train_and_test(factory, *data[2], settings(7, epochs=5), dirs[2])
    assert seq2.metrics["resumed_from_epoch"] == 2
    resumed = train_and_test_folds(factory, data, [settings(s) for s in seeds], dirs)
    assert [r.metrics["resumed_from_epoch"] for r in resumed] == [2, 2, 4]
    for r, f in zip(resumed, full, strict=True):
        assert r.metrics["chosen_epoch"] == f.metrics["chosen_epoch"]
        assert (r.predictions["y_pred"] == f.predictions["y_pred"]).all()
        for name, tensor in f.state_dict.items():
            torch.testing.assert_close(r.state_dict[name], tensor, atol=1e-5, rtol=1e-5)


def test_rejects_folds_with_different_settings():
    data = splits()[:2]
    with pytest.raises(ValueError, match="but the seed"):
        train_and_test_folds(factory, data, [settings(1), settings(2, lr=0.5)], [None, None])


def write_stage_files(root, n_subjects=8, per_subject=5, n_folds=3):
    """Stage outputs in the workflow's layout (splits, labels, inputs, song and EDA features)."""
    rng = np.random.default_rng(3)
    rows, ids = [], []
    for s in range(n_subjects):
        for t in range(per_subject):
            ids.append(f"s{s}_{t}")
    for fold in range(n_folds):
        for trial in ids:
            s = int(trial[1:].split("_")[0])
            role = "test" if s == fold else "val" if s == fold + 1 else "train"
            rows.append({"fraction": 1.0, "fold": fold, "trial_id": trial, "subject": f"s{s}",
                         "stimulus": trial.split("_")[1], "role": role})
    pd.DataFrame(rows).to_csv(root / "splits.csv", index=False)
    y = rng.permutation(np.arange(len(ids)) % 2)
    pd.DataFrame({"trial_id": ids, "subject": [t.split("_")[0] for t in ids],
                  "valence_label": y, "arousal_label": 1 - y}).to_csv(root / "labels.csv",
                                                                       index=False)
    x = rng.normal(size=(len(ids), 3, LENGTH)).astype("float32")
    x[:, 1, 5:15] += y[:, None]
    np.save(root / "inputs.npy", x)
    pd.DataFrame({"row": range(len(ids)), "trial_id": ids}).to_csv(root / "inputs_index.csv",
                                                                  index=False)
    music = pd.DataFrame(rng.normal(5, 2, (per_subject, 6)), columns=[f"m{i}" for i in range(6)])
    music.insert(0, "stimulus", [str(t) for t in range(per_subject)])
    music.to_csv(root / "music_features.csv", index=False)
    feats = pd.DataFrame(rng.normal(3, 4, (len(ids), 20)), columns=[f"f{i}" for i in range(20)])
    feats.insert(0, "trial_id", ids)
    feats.to_csv(root / "eda_features.csv", index=False)
    return {k: root / f"{k.rsplit('_', 1)[0]}.{k.rsplit('_', 1)[1]}" for k in (
        "splits_csv", "labels_csv", "inputs_npy", "inputs_index_csv", "music_features_csv",
        "eda_features_csv")}


@pytest.mark.parametrize("experiment", [
    dict(SMALL, fraction=1.0, input="eda"),
    {"name": "c3", "model": "cnn3", "input": "eda_features", "music": False, "fraction": 1.0},
])
def test_run_folds_vectorised_writes_what_run_fold_writes(tmp_path, experiment):
    from edaffect.training.trainer import run_fold
    from edaffect.training.vectorised import run_folds_vectorised

    paths = write_stage_files(tmp_path)
    training = {k: v for k, v in vars(settings(0, epochs=3)).items() if k not in ("seed",
                                                                                   "threads")}
    folds = [0, 1, 2]

    def files(mode, fold):
        d = tmp_path / mode / f"fold{fold}"
        return d / "metrics.json", d / "predictions.csv", d / "model.pt"

    seq = [run_fold(experiment, "pmemo", "valence", f, inputs=paths, training=training, seed=4,
                    threads=1, metrics_json=files("seq", f)[0],
                    predictions_csv=files("seq", f)[1], model_pt=files("seq", f)[2])
           for f in folds]
    vec = run_folds_vectorised(
        experiment, "pmemo", "valence", folds, inputs=paths, training=training, seed=4,
        threads=1, metrics_json=[files("vec", f)[0] for f in folds],
        predictions_csv=[files("vec", f)[1] for f in folds],
        model_pt=[files("vec", f)[2] for f in folds])
    for f, s, v in zip(folds, seq, vec, strict=True):
        on_disk = json.loads(files("vec", f)[0].read_text())
        assert on_disk == json.loads(json.dumps(v))
        assert set(s) <= set(v)  # same keys (plus fold_mode, vectorised_folds)
        assert (v["chosen_epoch"], v["accuracy"], v["seed"]) == (
            s["chosen_epoch"], s["accuracy"], s["seed"])
        p_seq, p_vec = (pd.read_csv(files(m, f)[1]) for m in ("seq", "vec"))
        assert p_seq.columns.tolist() == p_vec.columns.tolist()
        assert (p_seq["y_pred"] == p_vec["y_pred"]).all()
        m_seq, m_vec = (torch.load(files(m, f)[2], weights_only=False) for m in ("seq", "vec"))
        assert set(m_seq) <= set(m_vec)
        for name, tensor in m_seq["state_dict"].items():
            torch.testing.assert_close(m_vec["state_dict"][name], tensor, atol=1e-5, rtol=1e-5)
        assert not (files("vec", f)[0].parent / "checkpoint").exists()


def test_bfloat16_forward_matches_autocast_of_one_model():
    """vmap bypasses autocast for convolutions, so the vectorised path casts by itself; its
    bfloat16 logits match each model under torch.autocast to bfloat16 precision."""
    from edaffect.models import init_normal
    from edaffect.training.fold_stack import FoldStack

    models = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model = factory()
        init_normal(model, 0.1)
        models.append(model.eval())
    stack = FoldStack(models, torch.device("cpu"))
    x = torch.randn(2, 6, 3, LENGTH)
    music = torch.randn(2, 6, MUSIC)
    vec = stack.forward(stack.params, stack.buffers, x, music, train=False, amp=True).float()
    full = stack.forward(stack.params, stack.buffers, x, music, train=False).float()
    for f, model in enumerate(models):
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
            one = model(x[f], music[f]).float()
        # measured: identical on CPU; float32 logits differ from them by ~1.5e-3
        torch.testing.assert_close(vec[f].detach(), one, atol=2e-4, rtol=0)
        assert (vec[f] - full[f]).abs().max() > 5e-4  # really ran in bfloat16
    assert stack.buffers["shallow.1.running_mean"].dtype == torch.float32


def test_fold_runner_vectorised_mode_writes_the_packed_files(tmp_path):
    """Through edaffect.training.fold_runner.run_job with the built-in rtcan1d family (what rule
    train_folds runs): `fold_mode: vectorised` gives the packed mode's chosen epochs, test
    metrics and predictions exactly, and its weights to 1e-5 (summation order, see the top)."""
    from edaffect.training.fold_runner import BUILTIN_FAMILIES, FoldJob, run_job

    family = BUILTIN_FAMILIES["rtcan1d"]
    assert family.train_vectorised == "edaffect.training.vectorised:train_folds"
    paths = {k: str(v) for k, v in write_stage_files(tmp_path).items()
             if k != "eda_features_csv"}
    training = {k: v for k, v in vars(settings(0, epochs=3)).items()
                if k not in ("seed", "threads", "device", "checkpoint_every")}
    out = {}
    for mode in ("packed", "vectorised"):
        job = FoldJob(dict(SMALL, fraction=1.0, input="eda"), "pmemo", "arousal", [0, 1, 2],
                      [tmp_path / mode / f"fold{f}" for f in range(3)], paths,
                      {"training": training}, seed=9, threads=1, device="cpu", mode=mode)
        out[mode] = run_job(job, family)
    for p, v in zip(out["packed"], out["vectorised"], strict=True):
        assert v["fold_mode"] == "vectorised" and "fold_mode" not in p
        for key in ("chosen_epoch", "accuracy", "f1", "precision", "recall",
                    "confusion_matrix", "n_test", "seed"):
            assert p[key] == v[key], key
        assert p["test_loss"] == pytest.approx(v["test_loss"], abs=1e-5)
    for f in range(3):
        a, b = (torch.load(tmp_path / m / f"fold{f}" / "model.pt", weights_only=False)
                for m in ("packed", "vectorised"))
        for name, tensor in a["state_dict"].items():
            torch.testing.assert_close(b["state_dict"][name], tensor, atol=1e-5, rtol=1e-5)
        pa, pb = (pd.read_csv(tmp_path / m / f"fold{f}" / "predictions.csv")
                  for m in ("packed", "vectorised"))
        assert (pa["y_pred"] == pb["y_pred"]).all()
        np.testing.assert_allclose(pa["p_high"], pb["p_high"], atol=1e-5)


def test_monitor_scores_the_test_fold_every_epoch_without_steering_the_choice():
    data = splits()
    seeds = [11, 22, 33]
    plain = train_and_test_folds(factory, data, [settings(s) for s in seeds], [None] * 3)
    watched = train_and_test_folds(factory, data, [settings(s) for s in seeds], [None] * 3,
                                   monitor=[test for _, _, test in data])
    for p, w in zip(plain, watched, strict=True):
        curve = w.metrics["monitor_curve"]
        assert len(curve) == 5
        # the monitor changes nothing: same chosen epoch, same test accuracy ...
        assert w.metrics["chosen_epoch"] == p.metrics["chosen_epoch"]
        assert w.metrics["accuracy"] == p.metrics["accuracy"]
        # ... and its curve at the chosen epoch is the final test pass of the chosen weights
        assert curve[w.metrics["chosen_epoch"] - 1] == pytest.approx(w.metrics["accuracy"])
    assert "monitor_curve" not in plain[0].metrics


def test_early_stopping_matches_sequential_and_stops_folds_apart():
    """With a patience each fold stops on its own validation curve; the vectorised folds stop
    where they would alone, the others go on (code initialisation, the default)."""
    data = splits()
    seeds = [11, 22, 33]
    kw = {"epochs": 12, "patience": 2, "init": "code", "lr": 0.05}
    seq = [train_and_test(factory, *d, settings(s, **kw), None)
           for d, s in zip(data, seeds, strict=True)]
    vec = train_and_test_folds(factory, data, [settings(s, **kw) for s in seeds], [None] * 3)
    for v, s in zip(vec, seq, strict=True):
        assert_same_fold(v, s)
        assert v.metrics["epochs_run"] == s.metrics["epochs_run"]
        assert v.metrics["epochs_run"] == min(12, s.metrics["chosen_epoch"] + 2)
        assert len(v.metrics["val_curve"]) == v.metrics["epochs_run"]
    assert any(r.metrics["epochs_run"] < 12 for r in seq)


def test_step_floor_scales_small_folds_and_matches_sequential():
    """min_steps 20 at batch 16 and 2 epochs: the 49-trial fold (3 steps an epoch) gets 4x the
    epochs (24 steps), the 70- and 81-trial folds (5 and 6 steps) 2x; the folds train as two
    stacks and each equals its sequential run."""
    data = splits()
    seeds = [11, 22, 33]
    kw = {"epochs": 2, "patience": 1, "lr_step_epochs": 1, "min_steps": 20}
    scaled = [settings(s, **kw).for_training_set(len(d[0])) for d, s in zip(data, seeds,
                                                                            strict=True)]
    assert [(s.epochs, s.patience, s.lr_step_epochs) for s in scaled] == [(4, 2, 2), (8, 4, 4),
                                                                           (4, 2, 2)]
    assert settings(1, **{**kw, "min_steps": 0}).for_training_set(49).epochs == 2
    seq = [train_and_test(factory, *d, settings(s, **kw), None)
           for d, s in zip(data, seeds, strict=True)]
    vec = train_and_test_folds(factory, data, [settings(s, **kw) for s in seeds], [None] * 3)
    for v, s, want in zip(vec, seq, scaled, strict=True):
        assert_same_fold(v, s)
        assert v.metrics["epochs"] == s.metrics["epochs"] == want.epochs
