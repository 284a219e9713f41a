"""edaffect.signal.physio: R peaks / RR series and differential entropy against known truth."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import signal, stats

from edaffect.signal.physio import (
    EEG_BANDS,
    de_maps,
    differential_entropy,
    hrv_series,
    rr_segments,
    segment_starts,
)
from edaffect.synthetic.amigos import Heart, beat_times, simulate_ecg

REAL_ECG = Path(__file__).parents[1] / "data" / "real-eda-neurokit" / "bio_eventrelated_100hz.csv"


@pytest.mark.parametrize("arousal", [-1.5, 0.0, 2.0])
def test_hrv_series_finds_known_beats(arousal):
    rng = np.random.default_rng(3)
    heart = Heart(rate_bpm=70.0, rsa_s=0.05, lf_s=0.02, resp_hz=0.25)
    fs, duration = 128.0, 120.0
    truth, _, _ = beat_times(rng, heart, duration, arousal)
    ecg = simulate_ecg(rng, heart, int(duration * fs), fs, truth)[0]
    times, rr = hrv_series(ecg, fs)
    # each true beat matched by a detected peak within +-50 ms
    nearest = np.abs(times[None, :] - truth[:, None]).min(axis=1)
    assert np.mean(nearest <= 0.050) >= 0.99
    assert abs(len(times) - len(truth)) <= max(1, int(0.01 * len(truth)))
    np.testing.assert_allclose(rr, np.diff(times))
    assert np.median(rr) == pytest.approx(np.median(np.diff(truth)), abs=0.02)


def test_hrv_series_on_real_ecg_agrees_with_an_independent_detector():
    ecg = pd.read_csv(REAL_ECG)["ECG"].to_numpy()
    fs = 100.0
    times, rr = hrv_series(ecg, fs)
    # independent oracle: scipy find_peaks on the 5-15 Hz band-passed, squared ECG
    sos = signal.butter(3, [5, 15], btype="bandpass", fs=fs, output="sos")
    energy = signal.sosfiltfilt(sos, ecg) ** 2
    peaks, _ = signal.find_peaks(energy, distance=int(0.35 * fs),
                                 height=np.percentile(energy, 90) * 0.3)
    oracle = peaks / fs
    assert len(times) > 50
    nearest = np.abs(times[None, :] - oracle[:, None]).min(axis=1)
    assert np.mean(nearest <= 0.050) >= 0.95
    assert np.mean((rr > 0.33) & (rr < 1.5)) >= 0.98  # physiological RR (40-180 bpm)


def test_hrv_series_bridges_nan_and_rejects_bad_shapes():
    rng = np.random.default_rng(0)
    heart = Heart(70.0, 0.04, 0.02, 0.25)
    truth, _, _ = beat_times(rng, heart, 30.0, 0.0)
    ecg = simulate_ecg(rng, heart, 30 * 128, 128.0, truth)[0]
    ecg[1000:1010] = np.nan
    times, _ = hrv_series(ecg, 128.0)
    assert len(times) >= len(truth) - 2
    with pytest.raises(ValueError, match="1-D"):
        hrv_series(np.zeros((2, 100)), 128.0)
    assert hrv_series(np.full(100, np.nan), 128.0)[0].size == 0


def _band_noise(rng, n, fs, low, high, sd):
    sos = signal.butter(8, [low, high], btype="bandpass", fs=fs, output="sos")
    x = signal.sosfiltfilt(sos, rng.normal(size=n))
    return x / x.std() * sd


def test_differential_entropy_of_band_limited_gaussian_noise():
    rng = np.random.default_rng(1)
    fs, n = 128.0, 128 * 120
    sds = [0.5, 2.0, 7.0]
    eeg = np.stack([_band_noise(rng, n, fs, 9.0, 12.0, sd) for sd in sds])
    de = differential_entropy(eeg, fs, [EEG_BANDS["alpha"], EEG_BANDS["gamma"]])
    assert de.shape == (3, 2)
    for k, sd in enumerate(sds):  # oracle: the Gaussian's entropy from scipy
        assert de[k, 0] == pytest.approx(stats.norm(scale=sd).entropy(), abs=0.05)
        assert de[k, 1] < de[k, 0] - 2.0  # nearly no power in gamma


def test_de_maps_and_segments_are_aligned():
    rng = np.random.default_rng(2)
    fs = 128.0
    eeg = np.stack([_band_noise(rng, 128 * 35, fs, 14.0, 28.0, 3.0) for _ in range(2)])
    starts = segment_starts(eeg.shape[1], fs, 10.0)
    assert starts == [0, 1280, 2560]
    maps = de_maps(eeg, fs, starts, 10.0, 1.0, list(EEG_BANDS.values()))
    assert maps.shape == (3, 4, 2, 10)
    beta = list(EEG_BANDS).index("beta")
    assert np.median(maps[:, beta]) == pytest.approx(stats.norm(scale=3.0).entropy(), abs=0.15)
    times = np.array([0.5, 1.5, 2.5, 10.2, 11.0, 25.0])
    rr, counts = rr_segments(times, np.diff(times), starts, fs, 10.0, 4)
    assert counts.tolist() == [2, 2, 1]
    np.testing.assert_allclose(rr[0], [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(rr[1, :2], [7.7, 0.8], atol=1e-6)
