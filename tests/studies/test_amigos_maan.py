"""AMIGOS reader (long videos, channel groups, bad input), synthetic AMIGOS layout and planted
EEG/ECG effects, and a hand-written real-format file all the way into the MAAN inputs."""

import os
import re

import numpy as np
import pandas as pd
import pytest
import scipy.io
from scipy import stats

from edaffect.datasets import DatasetError, read_dataset
from edaffect.datasets.amigos import physio_trials
from edaffect.signal.physio import EEG_BANDS, differential_entropy, hrv_series
from edaffect.studies.maan.segments import build_segments, load_maan_fold
from edaffect.synthetic import generate
from edaffect.synthetic.amigos import Brain, simulate_eeg

SEGMENTS = {"segment_s": 10.0, "window_s": 1.0, "crop_s": 0.0, "hrv_length": 24,
            "eda_length": 64}


def _trial(rng, n, n_columns=17):
    """A 17-column trial as in the real files: EEG noise, a crude ECG spike train, GSR."""
    data = rng.normal(0, 10, (n, n_columns))
    t = np.arange(n) / 128.0
    ecg = np.zeros(n)
    for beat in np.arange(0.4, t[-1], 0.8):
        ecg += np.exp(-0.5 * ((t - beat) / 0.012) ** 2)
    data[:, 14] = ecg + rng.normal(0, 0.02, n)
    data[:, 15] = 0.7 * ecg + rng.normal(0, 0.02, n)
    if n_columns > 16:
        data[:, 16] = 2.0 + 0.1 * np.sin(t) + rng.normal(0, 0.01, n)
    return data


def write_mat(path, n_long=4, n_samples=128 * 25, edit=None):
    """One participant file: 16 short + n_long long trials (rest empty 0x0 / 1x0)."""
    rng = np.random.default_rng(0)
    joined = np.empty((1, 20), dtype=object)
    labels = np.empty((1, 20), dtype=object)
    for k in range(20):
        present = k < 16 + n_long
        joined[0, k] = _trial(rng, n_samples) if present else np.zeros((0, 0))
        labels[0, k] = (np.array([[3.0 + k % 5, 7.0 - k % 4] + [5.0] * 10]) if present
                        else np.zeros((1, 0)))
    if edit:
        edit(joined, labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"joined_data": joined, "labels_selfassessment": labels})
    return path


def test_long_videos_are_trials_17_to_20_with_video_type(tmp_path):
    write_mat(tmp_path / "Data_Preprocessed_P01.mat", n_long=4)
    write_mat(tmp_path / "Data_Preprocessed_P02.mat", n_long=0)  # no long-video session
    trials, excluded = read_dataset("amigos", tmp_path, {"videos": "all"})
    assert len(trials) == 16 + 4 + 16 and not excluded
    p1 = [t for t in trials if t.subject == "P01"]
    assert [t.trial for t in p1] == list(range(1, 21))
    assert {t.trial: t.video_type for t in p1}[17] == "long"
    assert {t.trial: t.video_type for t in p1}[16] == "short"
    short, _ = read_dataset("amigos", tmp_path, {"videos": "short"})
    assert len(short) == 32 and max(t.trial for t in short) == 16
    with pytest.raises(ValueError, match="videos"):
        read_dataset("amigos", tmp_path, {"videos": "some"})


def test_bad_amigos_inputs_name_file_and_trial(tmp_path):
    def empty_rating(joined, labels):
        labels[0, 4] = np.zeros((1, 0))

    def nan_gsr(joined, labels):
        joined[0, 6][:, 16] = np.nan

    path = write_mat(tmp_path / "ok" / "Data_Preprocessed_P03.mat", n_long=0,
                     edit=lambda j, lab: (empty_rating(j, lab), nan_gsr(j, lab)))
    trials, excluded = read_dataset("amigos", tmp_path / "ok")
    reasons = {row["trial"]: row for row in excluded}
    assert set(reasons) == {5, 7} and len(trials) == 14
    assert "1x0 rating" in reasons[5]["reason"] and reasons[5]["file"] == str(path)
    assert reasons[7]["reason"] == "all-NaN signal" and reasons[7]["file"] == str(path)

    def sixteen_columns(joined, labels):
        joined[0, 2] = joined[0, 2][:, :16]

    bad = write_mat(tmp_path / "bad" / "Data_Preprocessed_P04.mat", n_long=0,
                    edit=sixteen_columns)
    with pytest.raises(DatasetError, match=re.escape(str(bad)) + r": trial 3: .*16 columns"):
        read_dataset("amigos", tmp_path / "bad")


def test_bad_channels_are_dropped_with_a_reason(tmp_path):
    def bad(joined, labels):
        joined[0, 0][:, 2] = np.nan  # F3 all-NaN
        joined[0, 0][:, 14] = 1.0  # first ECG lead flat

    write_mat(tmp_path / "Data_Preprocessed_P05.mat", n_long=0, edit=bad)
    first = next(iter(physio_trials(tmp_path)))
    assert first.eeg.shape[0] == 13 and "F3" not in first.eeg_names
    assert first.ecg_names == ["ECG_L"] and first.ecg.shape[0] == 1
    assert first.bad["F3"] == "all-NaN signal" and first.bad["ECG_R"].startswith("flat")


def test_hand_written_file_reaches_the_maan_inputs(tmp_path):
    native = tmp_path / "data_preprocessed_matlab"
    for s in range(1, 4):
        write_mat(native / f"Data_Preprocessed_P{s:02d}.mat", n_long=1)
    trials, _ = read_dataset("amigos", tmp_path)  # parent of the native folder also works
    labels = pd.DataFrame({
        "trial_id": [t.trial_id for t in trials], "subject": [t.subject for t in trials],
        "valence_label": [t.trial % 2 for t in trials], "arousal_label": [t.trial // 9 % 2
                                                                          for t in trials],
    })
    labels.to_csv(tmp_path / "labels.csv", index=False)
    index = build_segments(native, tmp_path / "labels.csv", SEGMENTS, videos="all",
                           segments_npz=tmp_path / "seg.npz", index_csv=tmp_path / "seg.csv",
                           excluded_csv=tmp_path / "ex.csv")
    assert len(index) == 3 * 17 * 2  # 25-s trials -> two 10-s segments each
    assert set(index["video_type"]) == {"short", "long"}
    with np.load(tmp_path / "seg.npz") as data:
        assert data["eeg"].shape == (len(index), 4, 14, 10)
        assert data["ecg"].shape == (len(index), 1, 24)
        # 0.8-s spike train -> 12 RR intervals of 0.8 s in every 10-s segment (+-1 at edges)
        counts = (data["ecg"][:, 0] > 0).sum(axis=1)
        assert counts.min() >= 11 and counts.max() <= 13
        np.testing.assert_allclose(data["ecg"][:, 0][data["ecg"][:, 0] > 0], 0.8, atol=0.02)
    train, val, test, layout = load_maan_fold(
        tmp_path / "seg.npz", tmp_path / "seg.csv", tmp_path / "labels.csv", None,
        modalities=["ecg", "eeg", "eda"], protocol="segment", dimension="valence", fold=0,
        n_folds=3, seed=1)
    assert layout == {"ecg": (2, 24), "eeg": (4, 14, 10), "eda": (1, 64)}  # RR + padding mask
    assert train.x.shape[1] == 48 + 560 + 64
    assert len(train) + len(val) + len(test) == len(index)
    assert not set(train.trial_id) & set(test.trial_id)


def test_synthetic_folder_is_native_and_torcheeg_style_reading_works(tmp_path):
    generate("amigos", tmp_path, {"n_subjects": 4, "duration_s": [20.0, 30.0],
                                  "long_duration_s": [25.0, 30.0], "long_video_rate": 0.5},
             seed=5)
    native = tmp_path / "data_preprocessed_matlab"
    assert (tmp_path / "ground_truth.csv").is_file()
    # the cell layout as TorchEEG's AMIGOSDataset.process_record indexes it (torcheeg 1.1.2):
    # every file of the folder is a participant file, joined_data[0][k] /
    # labels_selfassessment[0][k][0], empty trials skipped when sum(shape) == 0, 14 EEG
    # columns, a 5 x 128-sample baseline; the real reader runs in
    # tests/datasets/test_torcheeg_amigos.py
    for name in os.listdir(native):
        subject = int(re.findall(r"Data_Preprocessed_P(\d*).mat", name)[0])
        data = scipy.io.loadmat(os.path.join(native, name), verify_compressed_data_integrity=False)
        samples, labels = data["joined_data"][0], data["labels_selfassessment"][0]
        assert len(samples) == 20 and subject >= 1
        for k in range(len(samples)):
            trial, rating = samples[k], labels[k][0]
            if (not sum(trial.shape)) or (not sum(rating.shape)):
                assert k >= 16 or not sum(rating.shape)
                continue
            assert rating.shape == (12,) and trial.shape[1] == 17
            baseline = trial[: 5 * 128, :14].reshape(5, 128, 14).mean(axis=0)
            assert baseline.shape == (128, 14)
    truth = pd.read_csv(tmp_path / "ground_truth.csv")
    assert set(truth["video_type"]) == {"short", "long"}
    trials, _ = read_dataset("amigos", native)
    assert len(trials) == (~truth["rating_missing"]).sum()


def test_planted_heart_and_eeg_effects_are_measurable(tmp_path):
    generate("amigos", tmp_path, {"n_subjects": 3, "duration_s": [40.0, 50.0],
                                  "long_video_rate": 0.0, "eeg_artefact_rate": 0.0,
                                  "ecg_artefact_rate": 0.0}, seed=11)
    truth = pd.read_csv(tmp_path / "ground_truth.csv").set_index("trial_id")
    hr, beta, asym, ids = [], [], [], []
    bands = [EEG_BANDS["alpha"], EEG_BANDS["beta"], EEG_BANDS["gamma"]]
    for trial in physio_trials(tmp_path / "data_preprocessed_matlab"):
        times, rr = hrv_series(trial.ecg[0], 128.0)
        hr.append(60.0 / rr.mean())
        de = differential_entropy(trial.eeg, 128.0, bands)
        names = trial.eeg_names
        beta.append(de[:, 1:].mean())
        right = de[[names.index(c) for c in ("F4", "F8", "AF4", "FC6")], 0].mean()
        left = de[[names.index(c) for c in ("F3", "F7", "AF3", "FC5")], 0].mean()
        asym.append(right - left)
        ids.append(trial.trial_id)
    t = truth.loc[ids]
    assert np.corrcoef(hr, t["heart_rate_bpm"])[0, 1] > 0.95
    assert stats.spearmanr(hr, t["latent_arousal"]).statistic > 0.5
    assert stats.spearmanr(beta, t["latent_arousal"]).statistic > 0.3
    assert stats.spearmanr(asym, t["latent_valence"]).statistic > 0.5


def test_planted_modality_artefacts_degrade_only_their_trials(tmp_path):
    """The partial artefacts (EMG from 20 Hz, a few pops per trial, drawn independently):
    EMG trials carry much more 20-45 Hz power, motion-artefact trials give spurious R peaks
    (NeuroKit2 finds beats that are not in the true beat list); clean trials of the same run
    keep the heart-rate effect exact."""
    gen = generate("amigos", tmp_path, {"n_subjects": 2, "duration_s": [30.0, 40.0],
                                        "long_video_rate": 0.0, "eeg_artefact_rate": 0.5,
                                        "ecg_artefact_rate": 0.5, "eeg_artefact_low_hz": 20.0,
                                        "eeg_artefact_gain": [1.0, 3.0],
                                        "ecg_pop_rate_hz": [0.3, 1.0],
                                        "artefacts_exclusive": False, "keep_signals": True},
                   seed=3)
    truth = gen.ground_truth.set_index("trial_id")
    assert 0 < (truth["eeg_emg_gain"] > 0).sum() < len(truth)
    assert 0 < (truth["ecg_pop_rate_hz"] > 0).sum() < len(truth)
    gamma, spurious, ids = [], [], []
    for trial in physio_trials(tmp_path / "data_preprocessed_matlab"):
        times, _ = hrv_series(trial.ecg[0], 128.0)
        true = gen.signals[f"{trial.trial_id}_beats"]
        nearest = np.abs(times[:, None] - true[None, :]).min(axis=1)
        spurious.append(float(np.mean(nearest > 0.05)))
        gamma.append(differential_entropy(trial.eeg, 128.0, [EEG_BANDS["gamma"]]).mean())
        ids.append(trial.trial_id)
    t = truth.loc[ids]
    gamma, spurious = np.array(gamma), np.array(spurious)
    emg = (t["eeg_emg_gain"] > 0).to_numpy()
    pops = (t["ecg_pop_rate_hz"] > 0).to_numpy()
    assert gamma[emg].min() > gamma[~emg].max()
    assert spurious[~pops].max() < 0.01 < spurious[pops].mean()


def test_whole_modality_artefacts_are_exclusive_and_cover_every_eeg_band(tmp_path):
    """The default (whole-modality) artefacts: no trial has both (`artefacts_exclusive`), both
    kinds occur; the 1-Hz artefact band raises the alpha DE of its trials above every clean
    trial's (the 20-Hz EMG leaves alpha alone), and 2-4 pops per s make over a third of the
    detected R peaks spurious."""
    gen = generate("amigos", tmp_path, {
        "n_subjects": 2, "duration_s": [30.0, 40.0], "long_video_rate": 0.0,
        "eeg_artefact_rate": 0.4, "ecg_artefact_rate": 0.4, "keep_signals": True}, seed=5)
    truth = gen.ground_truth.set_index("trial_id")
    emg, pops = truth["eeg_emg_gain"] > 0, truth["ecg_pop_rate_hz"] > 0
    assert not (emg & pops).any() and emg.any() and pops.any()
    alpha, spurious, ids = [], [], []
    for trial in physio_trials(tmp_path / "data_preprocessed_matlab"):
        alpha.append(differential_entropy(trial.eeg, 128.0, [EEG_BANDS["alpha"]]).mean())
        times, _ = hrv_series(trial.ecg[0], 128.0)
        true = gen.signals[f"{trial.trial_id}_beats"]
        spurious.append(float(np.mean(np.abs(times[:, None] - true[None, :]).min(axis=1)
                                      > 0.05)))
        ids.append(trial.trial_id)
    alpha, spurious = np.array(alpha), np.array(spurious)
    bad_eeg, bad_ecg = emg.loc[ids].to_numpy(), pops.loc[ids].to_numpy()
    assert alpha[bad_eeg].min() > alpha[~bad_eeg].max()
    assert spurious[~bad_ecg].max() < 0.01 and np.median(spurious[bad_ecg]) > 0.3
    with pytest.raises(ValueError, match="eeg_artefact_rate \\+ ecg_artefact_rate"):
        generate("amigos", tmp_path / "x", {"n_subjects": 2, "eeg_artefact_rate": 0.6,
                                            "ecg_artefact_rate": 0.6,
                                            "artefacts_exclusive": True}, seed=5)


def test_eeg_generator_plants_band_effects_exactly_in_direction():
    brain = Brain(scale_uv=10.0, alpha_hz=10.0, channel_gain=np.ones(14))
    bands = [EEG_BANDS["alpha"], EEG_BANDS["beta"]]
    low, _, _ = simulate_eeg(np.random.default_rng(0), brain, 128 * 60, 128.0, -2.0, -2.0)
    high, _, _ = simulate_eeg(np.random.default_rng(0), brain, 128 * 60, 128.0, 2.0, 2.0)
    de_low, de_high = differential_entropy(low, 128.0, bands), differential_entropy(high, 128.0,
                                                                                    bands)
    # beta relative to alpha at occipital O1 (no asymmetry there) rises with arousal
    assert de_high[6, 1] - de_high[6, 0] > de_low[6, 1] - de_low[6, 0] + 0.3
    # frontal alpha: right minus left rises with valence
    assert (de_high[11, 0] - de_high[2, 0]) > (de_low[11, 0] - de_low[2, 0]) + 0.5


def test_fold_runner_trains_maan_folds_packed_or_one_at_a_time_alike(tmp_path):
    """The `maan` family through a FoldJob: both folds in one job or fold 1 alone give the same
    files; predictions carry each modality's attention and the fused features."""
    from edaffect.studies.maan.study import FAMILY, maan_fold_inputs
    from edaffect.training.fold_runner import FoldJob, run_job

    native = tmp_path / "data_preprocessed_matlab"
    for s in range(1, 4):
        write_mat(native / f"Data_Preprocessed_P{s:02d}.mat", n_long=0)
    trials, _ = read_dataset("amigos", native)
    pd.DataFrame({
        "trial_id": [t.trial_id for t in trials], "subject": [t.subject for t in trials],
        "valence_label": [t.trial % 2 for t in trials],
        "arousal_label": [t.trial // 9 % 2 for t in trials],
    }).to_csv(tmp_path / "labels.csv", index=False)
    build_segments(native, tmp_path / "labels.csv", SEGMENTS, videos="all",
                   segments_npz=tmp_path / "seg.npz", index_csv=tmp_path / "seg.csv",
                   excluded_csv=tmp_path / "ex.csv")
    experiment = {"name": "m", "model": "maan", "datasets": ["amigos"], "options": {
        "modalities": ["ecg", "eeg", "eda"], "attention": True, "protocol": "segment"}}
    assert set(maan_fold_inputs(experiment, "amigos")) == {"segments_npz", "segments_csv",
                                                          "labels_csv"}
    inputs = {"segments_npz": str(tmp_path / "seg.npz"),
              "segments_csv": str(tmp_path / "seg.csv"),
              "labels_csv": str(tmp_path / "labels.csv")}
    settings = {
        "training": {"epochs": 2, "batch_size": 16, "lr": 0.03, "lr_decay": 1.0,
                     "lr_step_epochs": 100, "momentum": 0.9, "weight_decay": 5e-4,
                     "init": "code", "init_std": 0.01, "patience": 0, "min_steps": 0,
                     "amp": False},
        "maan.training": {"init": "pytorch"},
        "maan.model": {"width": 4, "eda_width": 4, "hidden": [8], "attention_hidden": 2,
                       "attention_form": "residual"},
        "split.n_folds": 3,
    }

    def job(folds, out):
        return FoldJob(experiment=experiment, dataset="amigos", dimension="valence",
                       folds=folds, run_dirs=[tmp_path / out / f"fold{k}" for k in folds],
                       inputs=inputs, settings=settings, seed=7, threads=1, device="cpu")

    packed = run_job(job([0, 1], "packed"), FAMILY)
    alone = run_job(job([1], "alone"), FAMILY)
    assert packed[1]["accuracy"] == alone[0]["accuracy"]
    assert packed[1]["n_test"] + packed[1]["n_val"] + packed[1]["n_train"] == 3 * 16 * 2
    a = pd.read_csv(tmp_path / "packed" / "fold1" / "predictions.csv")
    b = pd.read_csv(tmp_path / "alone" / "fold1" / "predictions.csv")
    pd.testing.assert_frame_equal(a, b)
    attention = a[["attention_ecg", "attention_eeg", "attention_eda"]].to_numpy()
    assert ((attention > 0) & (attention < 1)).all()
    assert sum(c.startswith("fused_") for c in a.columns) == 3 * 4
    tested = set(pd.read_csv(tmp_path / "packed" / "fold0" / "predictions.csv")["trial_id"])
    assert not tested & set(a["trial_id"])  # segment folds: disjoint test chunks
    for k in (0, 1):
        assert (tmp_path / "packed" / f"fold{k}" / "model.pt").is_file()


def test_rr_padding_mask_tells_a_beat_at_the_mean_from_padding(tmp_path):
    import torch

    from edaffect.models.maan import MAAN

    # every beat lasts 1.0 s, so every z-scored beat is 0, exactly the padding's value: only the
    # mask channel carries how many beats a segment holds, and the label is that count >= 5
    counts = np.tile(np.arange(2, 8), 8)
    n, length = len(counts), 8
    ecg = np.zeros((n, 1, length), np.float32)
    for k, c in enumerate(counts):
        ecg[k, 0, :c] = 1.0
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "seg.npz", ecg=ecg, eeg=rng.normal(size=(n, 4, 14, 2)).astype(np.float32),
             eda=rng.normal(size=(n, 1, 8)).astype(np.float32))
    trials = [f"P{k % 4}_{k}" for k in range(n)]
    pd.DataFrame({"segment_id": [f"{t}_s0" for t in trials], "trial_id": trials,
                  "subject": [t.split("_")[0] for t in trials]}).to_csv(tmp_path / "seg.csv",
                                                                        index=False)
    pd.DataFrame({"trial_id": trials, "subject": [t.split("_")[0] for t in trials],
                  "valence_label": (counts >= 5).astype(int),
                  "arousal_label": 0}).to_csv(tmp_path / "labels.csv", index=False)
    parts = load_maan_fold(tmp_path / "seg.npz", tmp_path / "seg.csv", tmp_path / "labels.csv",
                           None, modalities=["ecg"], protocol="segment", dimension="valence",
                           fold=0, n_folds=4, seed=1)
    layout = parts[3]
    assert layout == {"ecg": (2, length)}
    x = np.concatenate([p.x for p in parts[:3]]).reshape(n, 2, length)
    y = np.concatenate([p.y for p in parts[:3]])
    assert not x[:, 0].any()  # the RR channel alone cannot tell 2 beats from 7
    np.testing.assert_array_equal(x[:, 1].sum(axis=1) >= 5, y == 1)
    np.testing.assert_array_equal(x[0, 1], [1.0] * int(x[0, 1].sum()) + [0.0] * int(
        length - x[0, 1].sum()))  # beats first, then padding
    torch.manual_seed(0)
    model = MAAN(layout, attention=False, width=4, hidden=(8,))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    xt, yt = torch.from_numpy(x.reshape(n, -1)), torch.from_numpy(y).long()
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    model.eval()
    assert (model(xt).argmax(1) == yt).float().mean() == 1.0
