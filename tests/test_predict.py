"""`edaffect predict` on a real recording (NeuroKit2's bio_eventrelated_100hz EDA) at 4, 50 and
100 Hz with models trained on a tiny study built through the workflow's own stage functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.signal import resample_poly

from edaffect.cli import main as cli_main
from edaffect.predict import (
    INFERENCE_FIELDS,
    INFERENCE_KEY,
    SIDECAR,
    PredictError,
    load_model,
    music_normalisation,
    predict,
    write_sidecar,
)
from edaffect.signal.decomposition_batches import run_batch
from edaffect.signal.preprocessing import settings_from_config
from edaffect.training.fold_runner import BUILTIN_FAMILIES, FoldJob, run_job
from edaffect.training.trainer import load_fold_data

DATA = Path(__file__).parent / "data"
REAL = DATA / "real-eda-neurokit" / "bio_eventrelated_100hz.csv"
SONG = DATA / "pmemo-public-samples" / "108.mp3"
FS = 50.0  # the tiny study's native rate (PMEmo's)
TRIAL_S = 20.0
PREPROCESSING = {
    "crop_s": 3.0, "min_duration_s": 10.0, "max_nan_gap_s": 1.0, "length": {"pmemo": 64},
    "resample_hz": None,
    "cvxeda": {"tau0": 2.0, "tau1": 0.7, "delta_knot": 10.0, "alpha": 0.0008, "gamma": 0.01},
}
TRAINING_PARAMS = {"epochs": 2, "batch_size": 8, "lr": 0.01, "lr_decay": 0.9,
                   "lr_step_epochs": 15, "momentum": 0.9, "weight_decay": 5e-4, "init": "normal",
                   "init_std": 0.1, "patience": 0, "min_steps": 0,
                   "amp": False}  # result settings only (a FoldJob adds device, checkpoints)
EDA_ONLY = {"name": "tiny_rtcag", "model": "rtcan1d", "modules": ["sca_res", "sca", "rnta"],
            "music": False, "input": "eda", "fraction": 1.0, "depth": 1, "channels": [8, 8, 8, 8],
            "datasets": ["pmemo"]}
SONGS = ["108", "372", "634", "683"]


def real_eda() -> np.ndarray:
    return pd.read_csv(REAL)["EDA"].to_numpy(np.float64)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A tiny study: 6 listeners x 4 songs, each trial a 20-s stretch of the real recording at
    50 Hz (scaled and shifted per trial), preprocessed by the decomposition stage's run_batch,
    3 subject folds; through the fold runner an EDA-only model trained vectorised (3 folds,
    both dimensions) and a music model trained packed (fold 0, valence)."""
    root = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(0)
    eda50 = resample_poly(real_eda(), 1, 2, padtype="line")
    n = int(TRIAL_S * FS)
    trials, raw, splits = [], {}, []
    for s in range(6):
        for t, song in enumerate(SONGS):
            tid = f"s{s}_{song}"
            start = int(rng.integers(0, len(eda50) - n))
            raw[tid] = eda50[start:start + n] * rng.uniform(0.5, 2) + rng.uniform(-2, 2)
            trials.append({"trial_id": tid, "dataset": "pmemo", "subject": f"s{s}",
                           "trial": str(t), "stimulus": song, "fs": FS, "n_samples": n})
    for fold in range(3):
        for row in trials:
            s = int(row["subject"][1:])
            role = "test" if s == fold else "val" if s == fold + 1 else "train"
            splits.append({"fraction": 1.0, "fold": fold, "trial_id": row["trial_id"],
                           "subject": row["subject"], "stimulus": row["stimulus"], "role": role})
    pd.DataFrame(trials).to_csv(root / "trials.csv", index=False)
    pd.DataFrame(splits).to_csv(root / "splits.csv", index=False)
    np.savez(root / "raw_eda.npz", **raw)
    settings = settings_from_config(PREPROCESSING, "pmemo")
    run_batch(root / "raw_eda.npz", root / "trials.csv", 0, 1000, settings, root / "cache",
              root / "batch.npz")
    with np.load(root / "batch.npz") as batch:
        ids = [str(t) for t in batch["trial_id"]]
        np.save(root / "inputs.npy", batch["inputs"])
    assert len(ids) == len(trials)
    pd.DataFrame({"row": range(len(ids)), "trial_id": ids}).to_csv(root / "inputs_index.csv",
                                                                  index=False)
    y = np.arange(len(trials)) % 2
    pd.DataFrame({"trial_id": [r["trial_id"] for r in trials],
                  "subject": [r["subject"] for r in trials], "valence_label": y,
                  "arousal_label": 1 - y}).to_csv(root / "labels.csv", index=False)
    from edaffect.signal.music import feature_names

    music = pd.DataFrame(rng.normal(0, 3, (len(SONGS), 6373)), columns=feature_names())
    music.insert(0, "stimulus", SONGS)
    music.to_csv(root / "music_features.csv", index=False)
    inputs = {"splits_csv": root / "splits.csv", "labels_csv": root / "labels.csv",
              "inputs_npy": root / "inputs.npy", "inputs_index_csv": root / "inputs_index.csv"}
    music_exp = dict(EDA_ONLY, name="tiny_rtcan", music=True)

    runs = root / "runs" / EDA_ONLY["name"] / "pmemo"
    trained = {}
    # Trained through the workflow's fold runner (edaffect.training.fold_runner.run_job, the
    # built-in
    # rtcan1d family): the inference metadata comes with model.pt, nothing is written by hand.
    for experiment, mode, dimensions, folds in ((EDA_ONLY, "vectorised", ("valence", "arousal"),
                                                 [0, 1, 2]),
                                                (music_exp, "packed", ("valence",), [0])):
        job_inputs = {**inputs, "trials_csv": root / "trials.csv"}
        if experiment["music"]:
            job_inputs["music_features_csv"] = root / "music_features.csv"
        for dimension in dimensions:
            dirs = [root / "runs" / experiment["name"] / "pmemo" / dimension / f"fold{f}"
                    for f in folds]
            job = FoldJob(experiment, "pmemo", dimension, folds, dirs,
                          {k: str(v) for k, v in job_inputs.items()},
                          {"training": TRAINING_PARAMS, "preprocessing": PREPROCESSING},
                          seed=1, threads=1, device="cpu", mode=mode)
            trained[experiment["name"], dimension] = run_job(job, BUILTIN_FAMILIES["rtcan1d"])
    music_dir = root / "runs" / "tiny_rtcan" / "pmemo" / "valence" / "fold0"
    return {"root": root, "runs": runs, "music_model": music_dir / "model.pt",
            "music_exp": music_exp, "inputs": inputs, "settings": settings, "trained": trained}


def recording(tmp_path, hz: int) -> Path:
    """The real 100-Hz recording at `hz`: 100 Hz without a time column (--fs), 50 and 4 Hz
    resampled by scipy with a time column."""
    eda = real_eda()
    path = tmp_path / f"rec_{hz}hz.csv"
    if hz == 100:
        pd.read_csv(REAL).to_csv(path, index=False)
        return path
    y = resample_poly(eda, hz, 100, padtype="line")
    pd.DataFrame({"time": np.arange(len(y)) / hz, "EDA": y}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("hz", [4, 50, 100])
def test_predict_at_three_rates_gives_probabilities(study, tmp_path, hz):
    result = predict(study["runs"], recording(tmp_path, hz), fs=100.0 if hz == 100 else None)
    table = result.table
    assert len(table) == int((150 - TRIAL_S) // TRIAL_S) + 1  # 150-s recording, 20-s windows
    assert (table["excluded"] == "").all()
    for dim in ("valence", "arousal"):
        p = table[[f"{dim}_p_low", f"{dim}_p_high"]].to_numpy()
        assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
        assert (table[f"{dim}_n_models"] == 3).all()  # the fold ensemble
    np.testing.assert_allclose(table["start_s"], np.arange(len(table)) * TRIAL_S)


def test_predict_applies_the_workflow_preprocessing(study, tmp_path):
    """Window 2 of the 100-Hz recording, cut and resampled to 50 Hz by scipy, goes through the
    decomposition stage's run_batch as a trial: the same tensor as predict's input."""
    result = predict(study["runs"], recording(tmp_path, 100), fs=100.0)
    (x,) = result.inputs.values()
    eda50 = resample_poly(real_eda(), 1, 2, padtype="line")
    n = int(TRIAL_S * FS)
    window = eda50[2 * n:3 * n]
    np.savez(tmp_path / "raw.npz", w2=window)
    pd.DataFrame([{"trial_id": "w2", "dataset": "pmemo", "subject": "u", "trial": "2",
                   "stimulus": "x", "fs": FS, "n_samples": n}]).to_csv(tmp_path / "t.csv",
                                                                      index=False)
    run_batch(tmp_path / "raw.npz", tmp_path / "t.csv", 0, 10, study["settings"],
              tmp_path / "cache", tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz") as batch:
        np.testing.assert_array_equal(batch["inputs"][0], x[2])
    # and the network sees exactly that tensor: its probabilities from the stage's input
    model = load_model(study["runs"] / "valence" / "fold0" / "model.pt")
    with torch.no_grad():
        p0 = torch.softmax(model.model(torch.from_numpy(x[2:3])).double(), 1)[0, 1].item()
    single = predict(study["runs"] / "valence" / "fold0" / "model.pt", recording(tmp_path, 100),
                     fs=100.0)
    # (a batch of 1 vs 7 windows: float32 sums differ in the last bits)
    assert single.table.loc[2, "valence_p_high"] == pytest.approx(p0, abs=1e-6)


def test_cli_writes_csv_and_gradcam_plot(study, tmp_path):
    out, png = tmp_path / "p.csv", tmp_path / "cam.png"
    code = cli_main(["predict", "--model", str(study["runs"] / "valence"), "--eda",
                     str(recording(tmp_path, 50)), "--window", "30", "--hop", "15", "--out",
                     str(out), "--plot", str(png)])
    assert code == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns[:3]) == ["window", "start_s", "end_s"]
    assert "valence_p_high" in table and "arousal_p_high" not in table
    assert len(table) == int((150 - 30) // 15) + 1
    assert png.stat().st_size > 10_000


def test_music_model_needs_the_song_and_uses_training_normalisation(study, tmp_path):
    rec = recording(tmp_path, 50)
    with pytest.raises(PredictError, match="--audio"):
        predict(study["music_model"], rec)
    # the stored normalisation is the one the trainer applied to the fold's training rows
    meta = torch.load(study["music_model"], weights_only=False)[INFERENCE_KEY]
    train, *_ = load_fold_data(study["music_exp"], "valence", 0, **study["inputs"],
                               music_features_csv=study["root"] / "music_features.csv")
    table = pd.read_csv(study["root"] / "music_features.csv", dtype={"stimulus": str})
    table = table.set_index("stimulus")
    songs = pd.read_csv(study["inputs"]["splits_csv"], dtype=str).drop_duplicates("trial_id")
    songs = songs.set_index("trial_id")["stimulus"]
    raw = table.loc[songs.reindex(train.trial_id).to_numpy()].to_numpy()
    z = (raw - np.asarray(meta["music"]["mean"])) / np.asarray(meta["music"]["std"])
    np.testing.assert_allclose(z, train.music, rtol=1e-5, atol=1e-5)
    assert meta["music"] == music_normalisation(study["music_exp"], 0,
                                                study["inputs"]["splits_csv"],
                                                study["root"] / "music_features.csv")
    result = predict(study["music_model"], rec, audio=SONG)
    p = result.table[["valence_p_low", "valence_p_high"]].to_numpy()
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)


def test_runner_models_carry_the_inference_metadata(study, tmp_path):
    """Every model the fold runner trains (vectorised and packed) holds INFERENCE_FIELDS in
    model.pt; a model.pt without them (older runs) is read with an inference.json sidecar."""
    models = sorted((study["root"] / "runs").rglob("model.pt"))
    assert len(models) == 7  # 3 folds x 2 dimensions vectorised + 1 packed music fold
    assert study["trained"]["tiny_rtcag", "valence"][0]["fold_mode"] == "vectorised"
    assert "fold_mode" not in study["trained"]["tiny_rtcan", "valence"][0]  # packed
    for path in models:
        meta = torch.load(path, weights_only=False)[INFERENCE_KEY]
        assert set(meta) == set(INFERENCE_FIELDS)
        assert meta["fs_hz"] == FS and meta["window_s"] == TRIAL_S
        assert meta["fold"] == int(path.parent.name[4:])
        assert meta["dimension"] == path.parent.parent.name
        assert (meta["music"] is not None) == ("tiny_rtcan" in path.parts)
        assert load_model(path).meta == meta
    old = tmp_path / "fold0" / "model.pt"
    old.parent.mkdir()
    saved = torch.load(models[0], weights_only=False)
    meta = saved.pop(INFERENCE_KEY)
    torch.save(saved, old)
    with pytest.raises(PredictError, match="no inference metadata"):
        load_model(old)
    assert write_sidecar(old, meta) == old.parent / SIDECAR
    assert load_model(old).meta == meta


def test_clear_errors(study, tmp_path):
    short = tmp_path / "short.csv"
    pd.DataFrame({"EDA": real_eda()[:1500]}).to_csv(short, index=False)  # 15 s < 20-s window
    with pytest.raises(PredictError, match="shorter than one window"):
        predict(study["runs"], short, fs=100.0)
    bogus = tmp_path / "model.pt"
    bogus.write_text("not a model")
    with pytest.raises(PredictError, match="not a model file"):
        predict(bogus, recording(tmp_path, 50))
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(PredictError, match="unknown model file"):
        predict(tmp_path / "other.pt", recording(tmp_path, 50))
    with pytest.raises(PredictError, match="no such file"):
        predict(tmp_path / "missing", recording(tmp_path, 50))
    no_fs = tmp_path / "nofs.csv"
    pd.DataFrame({"EDA": real_eda()}).to_csv(no_fs, index=False)
    with pytest.raises(PredictError, match="give --fs"):
        predict(study["runs"], no_fs)
    assert cli_main(["predict", "--model", str(bogus), "--eda", str(no_fs), "--fs", "100",
                     "--out", str(tmp_path / "x.csv")]) == 2
