"""The 128 hand-crafted EDA features: real EDA, known signals (sine, planted SCRs), exclusions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edaffect.signal import eda_features as F

SETTINGS = F.FeatureSettings()


@pytest.fixture(scope="module")
def neurokit_eda(data_dir) -> np.ndarray:
    """Real EDA (µS) of NeuroKit's 100 Hz event-related recording."""
    frame = pd.read_csv(data_dir / "real-eda-neurokit" / "bio_eventrelated_100hz.csv")
    return frame["EDA"].to_numpy(dtype=np.float64)


def test_feature_names_are_128_unique_and_documented(repo_root):
    assert len(F.FEATURE_NAMES) == 128 == len(set(F.FEATURE_NAMES))
    assert sum(name.startswith("mfcc") for name in F.FEATURE_NAMES) == 100
    doc = (repo_root / "docs" / "features.md").read_text()
    undocumented = [name for name in F.FEATURE_NAMES if f"`{name}`" not in doc]
    assert not undocumented, f"docs/features.md lacks {undocumented[:5]}"


def test_real_eda_gives_128_finite_named_features(neurokit_eda):
    fs = 100.0
    trials = pd.DataFrame(
        {
            "trial_id": ["nk_1", "nk_2", "nk_3"],
            "dataset": "neurokit",
            "subject": "nk",
            "trial": ["1", "2", "3"],
            "fs": fs,
            "source": "bio_eventrelated_100hz.csv",
        }
    )
    raw = {f"nk_{i + 1}": neurokit_eda[i * 5000 : (i + 1) * 5000] for i in range(3)}
    table, excluded = F.dataset_features(trials, raw, SETTINGS)
    assert excluded.empty
    assert list(table.columns) == ["trial_id", *F.FEATURE_NAMES]
    assert table.shape == (3, 129)
    values = table[F.FEATURE_NAMES].to_numpy()
    assert np.isfinite(values).all()
    # the recording has stimulus-locked SCRs: every 50 s segment shows some
    assert (table["scr_count"] >= 1).all()
    assert (table["scr_rise_time_mean"] > 0.2).all() and (table["scr_rise_time_mean"] < 5).all()
    # deterministic: the same input gives bit-identical features
    again, _ = F.dataset_features(trials, raw, SETTINGS)
    pd.testing.assert_frame_equal(table, again)
    # min-max normalisation: a change of unit (µS -> nS) and offset changes nothing
    scaled = {k: 1000.0 * v + 5.0 for k, v in raw.items()}
    table_scaled, _ = F.dataset_features(trials, scaled, SETTINGS)
    np.testing.assert_allclose(table_scaled[F.FEATURE_NAMES], values, rtol=1e-6, atol=1e-8)


def _sine(freq: float, fs: float = 50.0, seconds: float = 40.0, amplitude: float = 1.0):
    t = np.arange(int(seconds * fs)) / fs
    return amplitude * np.sin(2 * np.pi * freq * t)


def test_mfcc_of_a_sine_is_stationary_and_peaks_at_its_frequency():
    fs = 50.0
    for freq in (2.0, 7.0):
        coefficients = F.mfcc(_sine(freq, fs), fs, SETTINGS)
        assert coefficients.shape[0] == 20 and coefficients.shape[1] >= 30
        # integer periods per hop: every frame sees the same spectrum
        assert np.abs(coefficients.std(axis=1)).max() < 1e-6
        # the log-mel spectrum rebuilt from the mean MFCCs peaks in the band of the sine
        padded = np.zeros(SETTINGS.mfcc_n_mels)
        padded[:20] = coefficients.mean(axis=1)
        log_mel = F.sfft.idct(padded, type=2, norm="ortho")
        edges = F._mel_to_hz(np.linspace(0, F._hz_to_mel(fs / 2), SETTINGS.mfcc_n_mels + 2))
        centres = edges[1:-1]
        peak = centres[int(np.argmax(log_mel))]
        assert abs(peak - freq) <= 1.0, (freq, peak)

    # the features of a sine: std 0, mean == median, kurtosis/skewness 0 (constant series)
    feats = dict(zip(F.MFCC_NAMES, F.mfcc_features(_sine(3.0, fs), fs, SETTINGS), strict=True))
    for i in range(20):
        assert abs(feats[f"mfcc{i:02d}_std"]) < 1e-6
        assert feats[f"mfcc{i:02d}_mean"] == pytest.approx(feats[f"mfcc{i:02d}_median"], abs=1e-6)
        assert feats[f"mfcc{i:02d}_kurtosis"] == 0.0 and feats[f"mfcc{i:02d}_skewness"] == 0.0


def test_mfcc_gain_moves_only_the_zeroth_coefficient():
    fs = 50.0
    base = F.mfcc(_sine(3.0, fs), fs, SETTINGS).mean(axis=1)
    louder = F.mfcc(_sine(3.0, fs, amplitude=2.0), fs, SETTINGS).mean(axis=1)
    # power x4 adds 10 log10(4) dB to every mel band; the orthonormal DCT puts it all in c0
    expected = 10 * np.log10(4.0) * np.sqrt(SETTINGS.mfcc_n_mels)
    assert louder[0] - base[0] == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(louder[1:], base[1:], atol=1e-6)


def test_band_powers_of_a_slow_sine():
    fs = 50.0
    x = _sine(0.25, fs, seconds=40.0, amplitude=0.5)  # 10 whole periods
    bands = dict(zip(F.BAND_NAMES, F.band_features(x, fs), strict=True))
    assert bands["bp_band3"] == pytest.approx(0.5**2 / 2, rel=1e-9)  # Parseval: A^2 / 2
    for name in ("bp_band1", "bp_band2", "bp_band4", "bp_band5"):
        assert bands[name] < 1e-12
    assert bands["bp_total"] == pytest.approx(bands["bp_band3"])
    assert bands["bp_max"] == bands["bp_band3"] and bands["bp_min"] < 1e-12


def test_planted_scrs_are_counted_with_their_rise_times():
    fs = 50.0
    t = np.arange(int(60 * fs)) / fs
    onsets = [8.0, 20.0, 33.0, 47.0]
    y = 2.0 + 0.01 * t  # slow tonic drift
    for onset in onsets:  # Bateman-shaped responses (tau 0.75 s rise, 2 s decay)
        s = np.clip(t - onset, 0, None)
        y = y + 0.4 * (np.exp(-s / 2.0) - np.exp(-s / 0.75)) * (t > onset)
    prepared = F.prepare(np.concatenate([np.full(int(3 * fs), 2.0), y]), fs, SETTINGS)
    phasic = F.phasic_highpass(prepared, fs, SETTINGS)
    on, peaks = F.detect_scrs(phasic, fs, SETTINGS)
    assert len(peaks) == len(onsets)
    np.testing.assert_allclose(on / fs, onsets, atol=0.5)
    scr = dict(zip(F.SCR_NAMES, F.scr_features(phasic, fs, SETTINGS), strict=True))
    assert scr["scr_count"] == 4
    peak_delay = 2.0 * 0.75 / (2.0 - 0.75) * np.log(2.0 / 0.75)  # Bateman peak time, 1.18 s
    assert scr["scr_rise_time_mean"] == pytest.approx(peak_delay, abs=0.5)


def test_bad_trials_become_exclusion_rows_with_reasons(neurokit_eda):
    fs = 100.0
    good = neurokit_eda[:4000].copy()
    short_gap = good.copy()
    short_gap[1000:1050] = np.nan  # 0.5 s: interpolated
    long_gap = good.copy()
    long_gap[1000:1300] = np.nan  # 3 s: excluded
    raw = {
        "s_ok": good,
        "s_gap": short_gap,
        "s_nan": long_gap,
        "s_short": good[:1200],  # 12 s - 3 s crop < 10 s
        "s_flat": np.full(4000, 3.0),
    }
    trials = pd.DataFrame(
        {"trial_id": list(raw), "subject": "s", "trial": list(raw), "fs": fs, "source": "x.csv"}
    )
    table, excluded = F.dataset_features(trials, raw, SETTINGS)
    assert list(table["trial_id"]) == ["s_ok", "s_gap"]
    reasons = dict(zip(excluded["trial"], excluded["reason"], strict=True))
    assert "NaN run of 3.00 s" in reasons["s_nan"]
    assert "too short after dropping the first 3 s" in reasons["s_short"]
    assert "flat" in reasons["s_flat"]
    assert set(excluded["stage"]) == {"eda_features"}
    with pytest.raises(KeyError, match="no array for trial missing"):
        F.dataset_features(
            pd.DataFrame({"trial_id": ["missing"], "fs": [fs]}), raw, SETTINGS
        )


def test_features_from_the_decomposition_cache(neurokit_eda, tmp_path):
    """Default phasic: the decomposition stage's cvxEDA components, read through its per-trial
    cache; its exclusions (stage + reason) carry over, so the trials match the networks'."""
    preprocessing = {"crop_s": 3.0, "min_duration_s": 10.0, "max_nan_gap_s": 1.0, "length": 256}
    decompose = F.cvxeda_cache_decomposer(preprocessing, "neurokit", tmp_path / "cache")
    fs = 100.0
    raw = {"nk_1": neurokit_eda[:4000], "nk_short": neurokit_eda[:1000]}
    trials = pd.DataFrame(
        {"trial_id": list(raw), "subject": "nk", "trial": ["1", "2"], "fs": fs, "source": "x"}
    )
    settings = F.settings_from_config({"phasic_method": "decomposition"}, preprocessing)
    table, excluded = F.dataset_features(trials, raw, settings, decompose)
    assert list(table["trial_id"]) == ["nk_1"]
    assert excluded["stage"].tolist() == ["preprocess"]
    assert "too short" in excluded["reason"].iloc[0]
    values = table[F.FEATURE_NAMES].to_numpy()[0]
    assert np.isfinite(values).all() and values[F.FEATURE_NAMES.index("scr_count")] >= 1
    assert (tmp_path / "cache").is_dir()
    # a second pass reads the cache and gives the same numbers
    again, _ = F.dataset_features(trials, raw, settings, decompose)
    pd.testing.assert_frame_equal(table, again)
    # cvxEDA and the high-pass phasic describe the same recording: SCR counts agree roughly
    highpass = F.trial_features(raw["nk_1"], fs, SETTINGS)
    assert abs(highpass[0] - values[0]) <= max(2, 0.5 * values[0])
