"""Synthetic generators: generator -> reader round trip, determinism, planted ground truth,
realistic EDA and the datasets section of the config schema."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.io
import yaml
from scipy.stats import spearmanr

from edaffect.datasets import read_dataset
from edaffect.datasets.pmemo import read_static_features, read_static_means
from edaffect.synthetic import generate
from edaffect.synthetic.eda import (
    AROUSAL_ON_TONIC,
    TAU0,
    TAU1,
    TONIC_TAU_S,
    SubjectPhysiology,
    bateman_kernel,
    draw_latents,
    draw_subject,
    simulate_eda,
)
from edaffect.synthetic.pmemo import assign_listeners, compare_feature_names

PMEMO_SMALL = {"n_subjects": 8, "n_songs": 6, "listeners_per_song": 4, "n_trials": 26}
AMIGOS_SMALL = {"n_subjects": 3, "duration_s": [12.0, 20.0], "nan_run_rate": 0.5,
                "missing_rating_rate": 0.2, "long_video_rate": 0.0}  # long videos: test_amigos_maan


@pytest.fixture(scope="module")
def pmemo_small(tmp_path_factory):
    root = tmp_path_factory.mktemp("pmemo")
    return root, generate("pmemo", root, {**PMEMO_SMALL, "keep_signals": True}, seed=7)


@pytest.fixture(scope="module")
def amigos_small(tmp_path_factory):
    root = tmp_path_factory.mktemp("amigos")
    return root, generate("amigos", root, {**AMIGOS_SMALL, "keep_signals": True}, seed=7)


@pytest.fixture(scope="module")
def deap_small(tmp_path_factory):
    root = tmp_path_factory.mktemp("deap")
    return root, generate("deap", root, {"n_subjects": 2, "keep_signals": True}, seed=7)


def test_pmemo_round_trip(pmemo_small):
    root, gen = pmemo_small
    truth = gen.ground_truth
    assert truth.equals(pd.read_csv(root / "ground_truth.csv", dtype={"subject": str}).astype(
        truth.dtypes.to_dict()))
    trials, excluded = read_dataset("pmemo", root)
    assert not excluded and len(trials) == len(truth) == 26
    assert truth.groupby("stimulus").size().min() == 4  # every song heard by >= 4 listeners
    by_id = truth.set_index("trial_id")
    for t in trials:
        np.testing.assert_allclose(t.eda, gen.signals[t.trial_id], rtol=0, atol=1e-9)
        assert t.n_samples == by_id.loc[t.trial_id, "n_samples"]
        assert (t.valence, t.arousal) == (
            by_id.loc[t.trial_id, "rating_valence"], by_id.loc[t.trial_id, "rating_arousal"])
        assert t.fs == 50.0 and t.stimulus == t.trial
    # listeners of one song have different lengths -> trailing empty cells in the same file
    lengths = truth.groupby("stimulus")["n_samples"].nunique()
    assert (lengths > 1).any()
    assert gen.root == root / "PMEmo2019"  # native folder; the truth stays outside it
    assert sorted(p.name for p in gen.root.iterdir()) == ["EDA", "annotations", "features"]
    per_listener = pd.read_csv(gen.root / "annotations/static_annotations_per_listener.csv")
    assert list(per_listener.columns) == ["musicId", "subjectId", "Arousal", "Valence"]
    assert set((per_listener[["Arousal", "Valence"]] * 8).stack().round(9) % 1) == {0.0}
    means = read_static_means(root).set_index("musicId")
    expected = per_listener.groupby("musicId")["Valence"].mean().round(4)
    np.testing.assert_allclose(means.loc[expected.index, "valence_mean"], expected)


def test_pmemo_music_features(pmemo_small):
    root, gen = pmemo_small
    features = read_static_features(root)
    names = compare_feature_names()
    assert len(names) == 6373 and list(features.columns) == ["musicId", *names]
    truth = gen.ground_truth.drop_duplicates("stimulus").set_index("stimulus")
    assert sorted(features["musicId"]) == sorted(truth.index)
    x = features.set_index("musicId").loc[truth.index].to_numpy()
    r = np.array([np.corrcoef(col, truth["stimulus_valence"])[0, 1] for col in x.T])
    assert np.nanmax(np.abs(r)) > 0.9 and np.nanmedian(np.abs(r)) < 0.6


def test_amigos_round_trip_with_nan_runs_and_missing_ratings(amigos_small):
    root, gen = amigos_small
    truth = gen.ground_truth.set_index("trial_id")
    trials, excluded = read_dataset("amigos", root)
    missing = set(truth.index[truth["rating_missing"]])
    assert missing, "the small config should plant at least one missing rating"
    assert {f"{e['subject']}_{e['trial']}" for e in excluded} == missing
    assert all("1x0" in e["reason"] for e in excluded)
    assert len(trials) + len(excluded) == 3 * 16
    assert any(np.isnan(t.eda).any() for t in trials)
    for t in trials:
        np.testing.assert_array_equal(t.eda, gen.signals[t.trial_id])  # NaN runs included
        assert (t.valence, t.arousal) == (
            truth.loc[t.trial_id, "rating_valence"], truth.loc[t.trial_id, "rating_arousal"])
    mat = scipy.io.loadmat(gen.root / "Data_Preprocessed_P01.mat")
    assert mat["joined_data"].shape == (1, 20) and mat["labels_selfassessment"].shape == (1, 20)
    assert mat["joined_data"][0, 0].shape[1] == 17 and mat["joined_data"][0, 19].size == 0


def test_deap_round_trip_and_native_shapes(deap_small):
    root, gen = deap_small
    with open(root / "data_preprocessed_python/s02.dat", "rb") as f:
        subject = pickle.load(f, encoding="latin1")
    assert subject["data"].shape == (40, 40, 8064) and subject["labels"].shape == (40, 4)
    assert (subject["data"][:, 36] > 1e4).all()  # skin resistance in Ohm
    assert not subject["data"][:, :36].any()
    trials, excluded = read_dataset("deap", root)
    assert not excluded and len(trials) == 80
    truth = gen.ground_truth.set_index("trial_id")
    for t in trials:
        np.testing.assert_allclose(t.eda, 1e6 / gen.signals[t.trial_id].astype(float), rtol=1e-12)
        assert (t.valence, t.arousal) == (
            truth.loc[t.trial_id, "rating_valence"], truth.loc[t.trial_id, "rating_arousal"])
    # the simulated conductance comes back within float32 precision
    first = trials[0]
    assert abs(first.eda.mean() / truth.loc[first.trial_id, "tonic_level_us"] - 1) < 0.5


def test_generation_is_deterministic_and_subject_streams_are_stable(tmp_path, amigos_small):
    root, gen = amigos_small
    again = generate("amigos", tmp_path / "a", AMIGOS_SMALL, seed=7).ground_truth
    pd.testing.assert_frame_equal(again, gen.ground_truth.assign(file=again["file"]))
    cells = [scipy.io.loadmat(p / "data_preprocessed_matlab/Data_Preprocessed_P02.mat")[
        "joined_data"][0, 5] for p in (root, tmp_path / "a")]
    np.testing.assert_array_equal(*cells)
    bigger = generate("amigos", tmp_path / "b", {**AMIGOS_SMALL, "n_subjects": 4}, seed=7)
    p01 = scipy.io.loadmat(bigger.root / "Data_Preprocessed_P01.mat")["joined_data"][0, 3]
    np.testing.assert_array_equal(p01, scipy.io.loadmat(
        gen.root / "Data_Preprocessed_P01.mat")["joined_data"][0, 3])  # EDA independent of n
    assert len(bigger.ground_truth) == 64
    other = generate("amigos", tmp_path / "c", AMIGOS_SMALL, seed=8).ground_truth
    assert not np.allclose(other["latent_arousal"], gen.ground_truth["latent_arousal"])


def test_regeneration_removes_stale_files(tmp_path):
    generate("pmemo", tmp_path, {**PMEMO_SMALL, "n_trials": None}, seed=1)
    generate("pmemo", tmp_path, {"n_subjects": 4, "n_songs": 3, "listeners_per_song": 2}, seed=1)
    assert len(list((tmp_path / "PMEmo2019" / "EDA").iterdir())) == 3
    trials, _ = read_dataset("pmemo", tmp_path)
    assert len(trials) == 6


def test_listener_assignment_paper_scale_counts():
    counts = [len(x) for x in assign_listeners(np.random.default_rng(0), 794, 457, 10, 7962)]
    assert sum(counts) == 7962 and min(counts) == 10 and max(counts) == 11
    with pytest.raises(ValueError, match="listeners_per_song 12 > n_subjects 10"):
        assign_listeners(np.random.default_rng(0), 5, 10, 12, 60)


def test_planted_effects_default_sizes(tmp_path, repo_root):
    """On the default PMEmo/AMIGOS sizes: arousal drives SCRs, V/A ratings correlate as in the
    paper's Table 2, raters differ in offset, songs carry shared latents."""
    config = yaml.safe_load((repo_root / "config.yaml").read_text())["datasets"]
    for name, target in (("pmemo", 0.52), ("amigos", 0.56)):
        truth = generate(name, tmp_path / name, config[name]["synthetic"], seed=2026).ground_truth
        rated = truth[~truth["rating_missing"]]
        rho = spearmanr(rated["rating_valence"], rated["rating_arousal"])[0]
        assert abs(rho - target) < 0.1, (name, rho)
        assert spearmanr(truth["latent_arousal"], truth["scr_rate_per_min"])[0] > 0.6
        assert spearmanr(truth["latent_arousal"], truth["n_scr"])[0] > 0.4
        assert spearmanr(truth["latent_arousal"], truth["tonic_level_us"])[0] > 0.1
        offsets = truth.groupby("subject")["rater_offset_valence"].first()
        assert offsets.std() > 0.3  # own offsets -> per-subject thresholds matter
        assert spearmanr(truth["stimulus_valence"], truth["latent_valence"])[0] > 0.5


def test_simulated_eda_is_realistic():
    rng = np.random.default_rng(3)
    subject = draw_subject(rng)
    calm, aroused = (
        [simulate_eda(rng, subject, n_samples=3000, fs=50, arousal=a, valence=0) for _ in range(30)]
        for a in (-1.5, 1.5)
    )
    assert all((s.signal > 0).all() for s in calm + aroused)
    assert np.mean([s.n_scr for s in aroused]) > 2 * np.mean([s.n_scr for s in calm])
    kernel = bateman_kernel(100.0)
    peak = np.argmax(kernel) / 100.0
    expected = TAU0 * TAU1 / (TAU0 - TAU1) * np.log(TAU0 / TAU1)
    assert abs(peak - expected) < 0.02 and kernel[-1] < 0.01
    spiky = simulate_eda(
        rng, subject, n_samples=3000, fs=50, arousal=0, valence=0, artefact_rate=1
    )
    assert spiky.artefact in {"spike", "step"}


def test_exact_latents():
    v, a = draw_latents(np.random.default_rng(0), 16, 0.8, exact=True)
    assert abs(np.corrcoef(v, a)[0, 1] - 0.8) < 1e-9 and abs(v.std(ddof=1) - 1) < 1e-9
    stim = np.random.default_rng(1).normal(size=(16, 2))
    v, a = draw_latents(np.random.default_rng(0), 16, 0.5, exact=True, orthogonal_to=stim)
    assert np.abs(stim.T @ np.column_stack([v, a])).max() < 1e-9


def test_datasets_schema(repo_root):
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    validate(copy.deepcopy(config), str(repo_root / "config/schema.yaml"))
    paper = yaml.safe_load((repo_root / "config/paper-scale.yaml").read_text())
    merged = copy.deepcopy(config)
    for name, block in paper["datasets"].items():
        merged["datasets"][name]["synthetic"].update(block["synthetic"])
    validate(merged, str(repo_root / "config/schema.yaml"))
    bad = copy.deepcopy(config)
    bad["datasets"]["deap"]["synthetic"]["n_trials"] = 40  # unknown generator key
    with pytest.raises(WorkflowError, match="n_trials"):
        validate(bad, str(repo_root / "config/schema.yaml"))
    real = copy.deepcopy(config)
    real["datasets"]["pmemo"]["synthetic"] = False
    validate(real, str(repo_root / "config/schema.yaml"))


# ------------------------------------------------------------- stimulus shortcut, dynamics, realism


def test_pmemo_durations_keep_song_means_with_listener_jitter(pmemo_small):
    """Issue 14: a recording's length must not identify the song. Listeners of one song differ
    by seconds; over all trials the lengths stay centred on the songs' chorus lengths."""
    _, gen = pmemo_small
    truth = gen.ground_truth
    seconds = truth["n_samples"] / truth["fs"]
    offset = seconds - truth["stimulus_duration_s"]
    assert abs(offset.mean()) < 1.5 and 1.5 < offset.std() < 4.5
    assert truth.assign(s=seconds).groupby("stimulus")["s"].std().min() > 0.5
    # nearest-length lookup of the song, leave-one-out: far from the identity it was (>= 1)
    s, song = seconds.to_numpy(), truth["stimulus"].to_numpy()
    hits = [song[np.argsort(np.abs(s - s[i]))[1]] == song[i] for i in range(len(s))]
    assert np.mean(hits) < 0.5


def test_deap_trial_length_and_signal_carry_no_video_fingerprint(deap_small):
    """DEAP's fixed 63-s excerpts are real, so the shortcut is tested instead: every trial has the
    same length, and two viewers' GSR traces of the same video are no more alike than traces of
    different videos (the video acts only through the planted latents)."""
    root, gen = deap_small
    assert set(gen.ground_truth["n_samples"]) == {8064}
    first = {t: gen.signals[f"s01_{t}"].astype(float) for t in range(1, 41)}
    second = {t: gen.signals[f"s02_{t}"].astype(float) for t in range(1, 41)}
    same = [np.corrcoef(np.diff(first[t]), np.diff(second[t]))[0, 1] for t in range(1, 41)]
    other = [np.corrcoef(np.diff(first[t]), np.diff(second[t % 40 + 1]))[0, 1]
             for t in range(1, 41)]
    assert abs(np.mean(same) - np.mean(other)) < 0.05


def test_pmemo_dynamic_annotations_native_format_and_truth(pmemo_small):
    """annotations/dynamic_annotations.csv as PMEmo ships it (2 Hz from 15.5 s), its traces a
    monotone image of the planted trajectories in dynamic_truth.csv, whose mean over the chorus
    (scipy quad) is the song's static latent; each listener has a 1-3 s response lag."""
    from scipy.integrate import quad

    root, gen = pmemo_small
    dyn = pd.read_csv(gen.root / "annotations/dynamic_annotations.csv")
    std = pd.read_csv(gen.root / "annotations/dynamic_annotations_std.csv")
    assert list(dyn.columns) == ["musicId", "frameTime", "Arousal(mean)", "Valence(mean)"]
    assert list(std.columns) == ["musicId", "frameTime", "Arousal(std)", "Valence(std)"]
    assert (dyn[["musicId", "frameTime"]].to_numpy() == std[["musicId", "frameTime"]].to_numpy()
            ).all()
    truth = gen.ground_truth
    params = pd.read_csv(root / "dynamic_truth.csv")
    assert not (gen.root / "dynamic_truth.csv").exists()  # truth stays outside the native folder
    lengths = truth.groupby("stimulus")["stimulus_duration_s"].first()
    for music_id, frames in dyn.groupby("musicId"):
        t = frames["frameTime"].to_numpy()
        assert t[0] == 15.5 and np.allclose(np.diff(t), 0.5) and t[-1] <= lengths[music_id]
        assert lengths[music_id] - t[-1] < 0.5
        assert frames[["Arousal(mean)", "Valence(mean)"]].stack().between(0, 1).all()
        for dim, column in (("arousal", "Arousal(mean)"), ("valence", "Valence(mean)")):
            p = params[(params["musicId"] == music_id) & (params["dimension"] == dim)]

            def latent(x, p=p):
                return p["static_latent"].iloc[0] + p["offset"].iloc[0] + np.sum(
                    p["amplitude"] * np.sin(2 * np.pi * p["frequency_hz"] * x + p["phase_rad"]))

            mean = quad(latent, 0.0, lengths[music_id], limit=200)[0] / lengths[music_id]
            assert mean == pytest.approx(p["static_latent"].iloc[0], abs=1e-3)
            trace = [latent(x) for x in t]
            assert spearmanr(trace, frames[column])[0] > 0.999
    stimulus = truth.drop_duplicates("stimulus").set_index("stimulus")
    static = params.drop_duplicates(["musicId", "dimension"]).pivot(
        index="musicId", columns="dimension", values="static_latent")
    np.testing.assert_allclose(static.loc[stimulus.index, "arousal"], stimulus["stimulus_arousal"])
    lags = truth.groupby("subject")["response_lag_s"].agg(["min", "max"])
    assert (lags["min"] == lags["max"]).all() and lags["min"].between(1.0, 3.0).all()


def test_scr_rate_follows_a_lagged_arousal_trajectory():
    """With `dynamics`, SCR onsets concentrate where the (lagged) arousal trajectory is high,
    without low-pass (the tonic's slow response: the next test)."""
    rng = np.random.default_rng(11)
    subject = draw_subject(rng)
    fs, n = 20.0, 2400
    step = np.where(np.arange(n) >= n // 2, 1.0, -1.0)  # low arousal, then high
    late = early = 0
    for _ in range(60):
        sim = simulate_eda(rng, subject, n_samples=n, fs=fs, arousal=0.0, valence=0.0,
                           dynamics=(np.zeros(n), step))
        late += int(np.sum(sim.onsets_s >= n / fs / 2))
        early += int(np.sum(sim.onsets_s < n / fs / 2))
    assert late + early == pytest.approx(60 * subject.scr_rate_per_min * 2 * np.cosh(0.55),
                                         rel=0.2)
    assert 2.2 < late / early < 4.0  # planted: exp(2 * AROUSAL_ON_RATE) = 3.0
    flat = simulate_eda(rng, subject, n_samples=n, fs=fs, arousal=0.0, valence=0.0)
    assert np.all((flat.onsets_s >= 0) & (flat.onsets_s < n / fs))


def test_tonic_level_follows_arousal_through_a_slow_first_order_low_pass():
    """The tonic level's dynamic arousal modulation is low-passed (time constant TONIC_TAU_S
    >= 10 s): a step in arousal moves log(tonic) along the analytic first-order step response
    1 - exp(-t / tau), and a sinusoid comes out with gain 1 / sqrt(1 + (w tau)^2) and phase lag
    atan(w tau). Same seed with and without dynamics: the traces differ by the tonic only."""
    assert TONIC_TAU_S >= 10.0
    fs, n = 20.0, 3600
    t = np.arange(n) / fs
    quiet = SubjectPhysiology(tonic_us=4.0, scr_rate_per_min=1e-12, scr_amplitude_us=0.3,
                              noise_psd=0.0)

    def log_tonic_modulation(da):
        with_dyn, without = (
            simulate_eda(np.random.default_rng(5), quiet, n_samples=n, fs=fs, arousal=0.0,
                         valence=0.0, dynamics=(np.zeros(n), x))
            for x in (da, np.zeros(n))
        )
        assert with_dyn.n_scr == without.n_scr == 0
        # tonic(t) = 4 µS * exp(AROUSAL_ON_TONIC * y(t)); drift is added to it, same draws
        excess = with_dyn.signal - without.signal
        return np.log1p(excess / quiet.tonic_us) / AROUSAL_ON_TONIC, with_dyn

    t0 = 30.0
    step = (t >= t0).astype(float)
    y, sim = log_tonic_modulation(step)
    # Analytic response to a step held from sample k on: 1 - exp(-(t - t0 + 1/fs) / tau).
    expected = np.where(t >= t0, 1.0 - np.exp(-(t - t0 + 1.0 / fs) / TONIC_TAU_S), 0.0)
    np.testing.assert_allclose(y, expected, atol=1e-6)
    assert sim.tonic_level_us == pytest.approx(
        4.0 * np.mean(np.exp(AROUSAL_ON_TONIC * expected)), rel=1e-9)

    f = 0.05  # Hz, inside the trajectories' 0.02-0.12 Hz
    y, _ = log_tonic_modulation(np.sin(2 * np.pi * f * t))
    settled = t > 6 * TONIC_TAU_S
    design = np.column_stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)])[settled]
    (b_sin, b_cos), *_ = np.linalg.lstsq(design, y[settled], rcond=None)
    w_tau = 2 * np.pi * f * TONIC_TAU_S
    assert np.hypot(b_sin, b_cos) == pytest.approx(1 / np.sqrt(1 + w_tau**2), rel=0.01)
    assert -np.arctan2(b_cos, b_sin) == pytest.approx(np.arctan(w_tau), abs=0.02)


def test_synthetic_eda_statistics_match_real_recordings(data_dir):
    """SCR rate (NeuroKit2 eda_process as the independent detector) and the noise spectrum above
    1 Hz of synthetic PMEmo-rate traces fall within what the real recordings in tests/data show
    (numbers in docs/datasets.md)."""
    import json
    import warnings

    import neurokit2 as nk
    from scipy.signal import welch

    def scr_per_min(y, fs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, info = nk.eda_process(y, sampling_rate=fs)
        return len(info["SCR_Peaks"]) / (len(y) / fs / 60.0)

    def band_power(y, fs):  # median PSD 1-5 Hz of the linearly detrended trace, and per variance
        idx = np.arange(len(y))
        resid = y - np.polyval(np.polyfit(idx, y, 1), idx)
        f, p = welch(resid, fs=fs, nperseg=min(len(y), int(16 * fs)))
        band = np.median(p[(f >= 1.0) & (f <= min(5.0, fs / 2))])
        return band, band / resid.var()

    real = pd.read_csv(data_dir / "real-eda-neurokit/bio_eventrelated_100hz.csv")["EDA"]
    real_rate = scr_per_min(real.to_numpy(), 100.0)
    real_floor, _ = band_power(real.to_numpy(), 100.0)
    demo_rates, demo_noisy = [], []
    for path in sorted((data_dir / "pmemo-public-samples").glob("[0-9]*.json")):
        eda = json.loads(path.read_text())["eda"]
        fs = (len(eda["t"]) - 1) / (eda["t"][-1] - eda["t"][0])
        for subject in eda["subjects"]:
            y = np.asarray(subject["values"])
            demo_rates.append(scr_per_min(y, fs))
            demo_noisy.append(band_power(y, fs)[1] > 0.01)
    rng = np.random.default_rng(2026)
    rates, floors, noisy = [], [], []
    for _ in range(30):
        subject = draw_subject(rng)
        sim = simulate_eda(rng, subject, n_samples=50 * 45, fs=50.0, arousal=rng.normal(),
                           valence=rng.normal())
        rates.append(scr_per_min(sim.signal, 50.0))
        floor, per_var = band_power(sim.signal, 50.0)
        noisy.append(per_var > 0.01)
        if not noisy[-1]:
            floors.append(floor)
    low, high = sorted([real_rate, float(np.median(demo_rates))])
    assert low * 0.8 <= np.median(rates) <= high * 1.2, (np.median(rates), low, high)
    assert real_floor / 3 < np.median(floors) < real_floor * 3, (np.median(floors), real_floor)
    assert 0.05 <= np.mean(noisy) <= 0.45 and 0.05 <= np.mean(demo_noisy) <= 0.45


def test_synthetic_chorus_audio_is_read_as_music_and_follows_arousal(tmp_path):
    """`chorus_audio_s` writes chorus/{musicId}.wav that the music stage picks up (source
    'audio'), and openSMILE's loudness of the song follows the planted song arousal."""
    from edaffect.signal.music import audio_features, choose_source

    params = {"n_subjects": 4, "n_songs": 8, "listeners_per_song": 2,
              "duration_s": [20.0, 22.0], "chorus_audio_s": 2.5}
    generated = generate("pmemo", tmp_path, params, seed=3)
    root = tmp_path / "PMEmo2019"
    songs = sorted(p.stem for p in (root / "chorus").glob("*.wav"))
    assert len(songs) == 8 and choose_source(root, songs) == "audio"
    truth = generated.ground_truth.groupby("stimulus")["stimulus_arousal"].first()
    loudness = [audio_features(root / "chorus" / f"{s}.wav")["pcm_RMSenergy_sma_amean"]
                for s in songs]
    rho = spearmanr([truth[int(s)] for s in songs], loudness).statistic
    assert rho > 0.7, rho
