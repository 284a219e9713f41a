"""ECG and EEG features of the MAAN study (Woo et al. 2023, §3.2-3.3, §4.1), public functions.

- `hrv_series(ecg, fs)`: R peaks by NeuroKit2 (`ecg_clean` + `ecg_peaks`, the maintained
  detector) on the normalised ECG -> R-peak times and RR intervals in seconds.
- `differential_entropy(eeg, fs, bands)`: band-pass each channel into each band (zero-phase FFT
  band-pass), DE = 1/2 log(2 pi e var) in nats, the Gaussian's entropy.
- `segment_starts` / `rr_segments` / `de_maps`: 10-s segments aligned across modalities
  (segment k covers [start_k, start_k + segment_s) of every channel of one trial).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EEG_BANDS: dict[str, tuple[float, float]] = {
    "theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0), "gamma": (30.0, 45.0),
}


def normalise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit standard deviation (ignoring NaN); a flat trace is only centred."""
    x = np.asarray(x, dtype=np.float64)
    sd = float(np.nanstd(x))
    return (x - np.nanmean(x)) / (sd if sd > 0 else 1.0)


def hrv_series(ecg: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """R-peak times (s) and RR intervals (s, interval i ends at peak i + 1) of a 1-D ECG.

    The ECG is normalised first (paper §3.2); NaN samples are linearly bridged. Fewer than two
    peaks give empty arrays.
    """
    import neurokit2 as nk

    x = np.asarray(ecg, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"hrv_series: ecg must be 1-D, got shape {x.shape}")
    if fs <= 0:
        raise ValueError(f"hrv_series: sampling rate must be positive, got {fs}")
    finite = np.isfinite(x)
    if finite.sum() < 2:
        return np.zeros(0), np.zeros(0)
    if not finite.all():
        idx = np.arange(x.size)
        x = np.interp(idx, idx[finite], x[finite])
    cleaned = nk.ecg_clean(normalise(x), sampling_rate=fs, method="neurokit")
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method="neurokit", correct_artifacts=False)
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    times = np.sort(peaks) / float(fs)
    return times, np.diff(times)


def _check_band(fs: float, low: float, high: float) -> None:
    if not 0 < low < high < fs / 2.0:
        raise ValueError(f"band ({low}, {high}) Hz must lie inside (0, {fs / 2.0}) Hz at fs {fs}")


def band_filter(eeg: np.ndarray, fs: float, bands: Sequence[tuple[float, float]]) -> np.ndarray:
    """(channels, samples) -> (channels, len(bands), samples): zero-phase band-passed copies.

    An FFT band-pass (bins outside [low, high) set to zero) over the whole trace: exact band
    limits and zero phase, and one transform per trial instead of a filter per band (the cost
    that matters on 2 cores)."""
    x = np.atleast_2d(np.asarray(eeg, dtype=np.float64))
    n = x.shape[-1]
    spectrum = np.fft.rfft(x, axis=-1)
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    out = np.empty((x.shape[0], len(bands), n))
    for k, (lo, hi) in enumerate(bands):
        _check_band(fs, lo, hi)
        mask = (freqs >= lo) & (freqs < hi)
        out[:, k, :] = np.fft.irfft(spectrum * mask, n=n, axis=-1)
    return out


def de_from_variance(variance: np.ndarray) -> np.ndarray:
    """Differential entropy (nats) of a Gaussian of the given variance: 1/2 log(2 pi e var)."""
    return 0.5 * np.log(2.0 * np.pi * np.e * np.maximum(variance, 1e-20))


def differential_entropy(
    eeg: np.ndarray, fs: float, bands: Sequence[tuple[float, float]]
) -> np.ndarray:
    """Differential entropy (nats) of every channel in every band: array (channels, len(bands))."""
    filtered = band_filter(eeg, fs, bands)
    return de_from_variance(filtered.var(axis=-1))


def segment_starts(n_samples: int, fs: float, segment_s: float, crop_s: float = 0.0) -> list[int]:
    """Start samples of the non-overlapping `segment_s` segments after dropping `crop_s`."""
    length = int(round(segment_s * fs))
    first = int(round(crop_s * fs))
    return list(range(first, n_samples - length + 1, length))


def de_maps(
    eeg: np.ndarray, fs: float, starts: Sequence[int], segment_s: float, window_s: float,
    bands: Sequence[tuple[float, float]],
) -> np.ndarray:
    """EEG channel x band x time maps: DE of every `window_s` window of every segment.

    Filtering runs once over the whole trial (no edge effects per window). Returns
    (n_segments, len(bands), channels, segment_s / window_s) float32.
    """
    filtered = band_filter(eeg, fs, bands)  # (C, B, N)
    seg, win = int(round(segment_s * fs)), int(round(window_s * fs))
    n_win = seg // win
    maps = []
    for start in starts:
        part = filtered[:, :, start : start + n_win * win]
        windows = part.reshape(part.shape[0], part.shape[1], n_win, win)
        maps.append(de_from_variance(windows.var(axis=-1)).transpose(1, 0, 2))
    if not maps:
        return np.zeros((0, len(bands), filtered.shape[0], n_win), dtype=np.float32)
    return np.stack(maps).astype(np.float32)


def rr_segments(
    peak_times: np.ndarray, rr: np.ndarray, starts: Sequence[int], fs: float, segment_s: float,
    length: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per segment, the RR intervals whose closing peak falls inside it, zero-padded (paper
    §3.2 'zero embedding') to `length`. Returns (values (n, length), counts (n,))."""
    closing = np.asarray(peak_times)[1:]
    out = np.zeros((len(starts), length), dtype=np.float32)
    counts = np.zeros(len(starts), dtype=np.int64)
    for i, start in enumerate(starts):
        t0 = start / fs
        inside = np.asarray(rr)[(closing >= t0) & (closing < t0 + segment_s)][:length]
        out[i, : inside.size] = inside
        counts[i] = inside.size
    return out, counts
