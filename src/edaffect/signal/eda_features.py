"""The 128 hand-crafted EDA features of the PMEmo / Shukla et al. (IEEE TAC 2019) set.

Per trial: 6 SCR features, 7 time-domain and 6 frequency-domain statistics, 9 band powers and
5 statistics of 20 MFCCs of the EDA signal (docs/features.md defines each one). Numpy/scipy
only. As in the PMEmo reference code, the raw EDA is min-max normalised and every feature is
computed on its phasic component.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import fft as sfft
from scipy import signal as ssignal

from edaffect.io import atomic
from edaffect.signal import preprocessing as pre

log = logging.getLogger(__name__)

SCR_NAMES = [
    "scr_count",
    "scr_amplitude_mean",
    "scr_rise_time_mean",
    "scr_amplitude_sum",
    "scr_rise_time_sum",
    "scr_area_sum",
]
TIME_NAMES = [
    "td_auc",
    "td_mean",
    "td_std",
    "td_kurtosis",
    "td_skewness",
    "td_derivative_mean",
    "td_negative_derivative_mean",
]
FREQ_NAMES = ["fd_sma", "fd_mean", "fd_std", "fd_range", "fd_kurtosis", "fd_skewness"]
BANDS_HZ = [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5)]
BAND_NAMES = [
    "bp_total",
    *[f"bp_band{i + 1}" for i in range(len(BANDS_HZ))],
    "bp_min",
    "bp_max",
    "bp_var",
]
MFCC_STATS = ["mean", "std", "median", "kurtosis", "skewness"]
N_MFCC = 20
MFCC_NAMES = [f"mfcc{i:02d}_{stat}" for i in range(N_MFCC) for stat in MFCC_STATS]
FEATURE_NAMES = SCR_NAMES + TIME_NAMES + FREQ_NAMES + BAND_NAMES + MFCC_NAMES
N_FEATURES = len(FEATURE_NAMES)
assert N_FEATURES == 128


class FeatureError(ValueError):
    """A trial whose EDA cannot give features (too short, long NaN run, flat)."""


@dataclass(frozen=True)
class FeatureSettings:
    """Extraction parameters (config `baselines.eda_features`, defaults = docs/features.md)."""

    crop_s: float = 3.0
    phasic_method: str = "decomposition"  # decomposition (cvxEDA cache) | highpass
    min_duration_s: float = 10.0
    max_nan_gap_s: float = 1.0
    lowpass_hz: float = 5.0
    tonic_hz: float = 0.05
    scr_min_amplitude: float = 0.02
    scr_min_interval_s: float = 1.0
    scr_max_rise_s: float = 5.0
    mfcc_frame_s: float = 4.0
    mfcc_hop_s: float = 1.0
    mfcc_n_mels: int = 40
    mfcc_top_db: float = 80.0


# --------------------------------------------------------------------------- signal preparation


def prepare(raw: np.ndarray, fs: float, settings: FeatureSettings) -> np.ndarray:
    """Crop, repair short NaN runs and check length and flatness exactly as the decomposition
    stage does (`preprocessing.clean_signal`), then min-max normalise to [0, 1]."""
    crop = pre.PreprocessSettings(crop_s=settings.crop_s, min_duration_s=settings.min_duration_s,
                                  max_nan_gap_s=settings.max_nan_gap_s)
    try:
        y, _ = pre.clean_signal(raw, fs, crop)
    except pre.TrialExcluded as err:
        raise FeatureError(err.reason) from None
    span = float(y.max() - y.min())
    return (y - y.min()) / span


def phasic_highpass(y: np.ndarray, fs: float, settings: FeatureSettings) -> np.ndarray:
    """Phasic component: zero-phase low-pass (EDA band) minus a zero-phase 0.05 Hz tonic.

    The high-pass decomposition of NeuroKit2/Biopac, used when no cvxEDA phasic is given.
    """
    smooth = y
    if settings.lowpass_hz < 0.45 * fs:
        sos = ssignal.butter(4, settings.lowpass_hz, btype="low", fs=fs, output="sos")
        smooth = ssignal.sosfiltfilt(sos, y)
    sos = ssignal.butter(2, settings.tonic_hz, btype="low", fs=fs, output="sos")
    tonic = ssignal.sosfiltfilt(sos, smooth)
    return smooth - tonic


# --------------------------------------------------------------------------------- statistics


def _moments(x: np.ndarray) -> tuple[float, float]:
    """(kurtosis (Fisher), skewness) with population moments; (0, 0) for a constant series."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean()
    centred = x - mean
    m2 = np.mean(centred**2)
    scale = max(abs(mean), float(np.abs(x).max()), 1e-300)
    if x.size < 2 or m2 <= (1e-10 * scale) ** 2:
        return 0.0, 0.0
    m3 = np.mean(centred**3)
    m4 = np.mean(centred**4)
    return float(m4 / m2**2 - 3.0), float(m3 / m2**1.5)


def detect_scrs(
    phasic: np.ndarray, fs: float, settings: FeatureSettings
) -> tuple[np.ndarray, np.ndarray]:
    """SCR (onset, peak) sample indices: peaks at least `scr_min_interval_s` apart whose rise
    from the lowest point in the preceding `scr_max_rise_s` (after the previous peak) is at
    least `scr_min_amplitude` (min-max normalised units)."""
    distance = max(1, int(round(settings.scr_min_interval_s * fs)))
    peaks, _ = ssignal.find_peaks(phasic, distance=distance)
    max_rise = max(1, int(round(settings.scr_max_rise_s * fs)))
    onsets, kept = [], []
    previous = 0
    for peak in peaks:
        start = max(previous, peak - max_rise)
        onset = start + int(np.argmin(phasic[start : peak + 1]))
        if onset < peak and phasic[peak] - phasic[onset] >= settings.scr_min_amplitude:
            onsets.append(onset)
            kept.append(peak)
        previous = peak
    return np.asarray(onsets, dtype=int), np.asarray(kept, dtype=int)


def scr_features(phasic: np.ndarray, fs: float, settings: FeatureSettings) -> list[float]:
    onsets, peaks = detect_scrs(phasic, fs, settings)
    if peaks.size == 0:
        return [0.0] * len(SCR_NAMES)
    amplitudes = phasic[peaks] - phasic[onsets]
    rise = (peaks - onsets) / fs
    return [
        float(peaks.size),
        float(amplitudes.mean()),
        float(rise.mean()),
        float(amplitudes.sum()),
        float(rise.sum()),
        float(np.sum(0.5 * amplitudes * rise)),
    ]


def time_features(x: np.ndarray, fs: float) -> list[float]:
    derivative = np.gradient(x) * fs
    negative = derivative[derivative < 0]
    kurt, skew = _moments(x)
    return [
        float(np.trapezoid(x, dx=1.0 / fs)),
        float(x.mean()),
        float(x.std()),
        kurt,
        skew,
        float(derivative.mean()),
        float(negative.mean()) if negative.size else 0.0,
    ]


def spectrum(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided amplitude spectrum |X(f)| / N and its frequencies (0 .. fs/2)."""
    return np.abs(sfft.rfft(x)) / x.size, sfft.rfftfreq(x.size, d=1.0 / fs)


def frequency_features(x: np.ndarray, fs: float) -> list[float]:
    amplitude, freqs = spectrum(x, fs)
    kurt, skew = _moments(amplitude)
    return [
        float(np.trapezoid(amplitude, freqs)),
        float(amplitude.mean()),
        float(amplitude.std()),
        float(amplitude.max() - amplitude.min()),
        kurt,
        skew,
    ]


def band_features(x: np.ndarray, fs: float) -> list[float]:
    """Power (Parseval-normalised, one-sided, DC excluded) in 0-0.5 Hz and five 0.1 Hz bands."""
    amplitude, freqs = spectrum(x, fs)
    power = 2.0 * amplitude**2
    positive = freqs > 0
    total = float(power[positive & (freqs <= 0.5)].sum())
    bands = []
    for i, (lo, hi) in enumerate(BANDS_HZ):
        upper = freqs <= hi if i == len(BANDS_HZ) - 1 else freqs < hi
        bands.append(float(power[positive & (freqs >= lo) & upper].sum()))
    bands_arr = np.asarray(bands)
    return [total, *bands, float(bands_arr.min()), float(bands_arr.max()), float(bands_arr.var())]


# ------------------------------------------------------------------------------------- MFCC


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, fs: float) -> np.ndarray:
    """Triangular (HTK mel) filters from 0 Hz to fs/2, area-normalised, (n_mels, n_fft//2+1)."""
    bins = np.fft.rfftfreq(n_fft, d=1.0 / fs)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(fs / 2.0), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (upper - lower))  # Slaney-style: equal area per filter
    return weights


def mfcc(x: np.ndarray, fs: float, settings: FeatureSettings, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCCs of the signal, (n_mfcc, n_frames): Hann frames of `mfcc_frame_s` every
    `mfcc_hop_s`, power spectrum, mel filterbank, dB (floored `mfcc_top_db` below the
    maximum), orthonormal DCT-II."""
    frame = max(8, int(round(settings.mfcc_frame_s * fs)))
    frame = min(frame, x.size)
    hop = max(1, int(round(settings.mfcc_hop_s * fs)))
    n_frames = 1 + (x.size - frame) // hop
    n_fft = 1 << int(np.ceil(np.log2(frame)))
    if settings.mfcc_n_mels < n_mfcc:
        raise ValueError(f"mfcc_n_mels={settings.mfcc_n_mels} < {n_mfcc} coefficients")
    idx = np.arange(frame)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = x[idx] * ssignal.get_window("hann", frame, fftbins=True)[None, :]
    power = np.abs(sfft.rfft(frames, n=n_fft, axis=1)) ** 2
    mel = power @ mel_filterbank(settings.mfcc_n_mels, n_fft, fs).T
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - settings.mfcc_top_db)
    return sfft.dct(db, type=2, norm="ortho", axis=1)[:, :n_mfcc].T


def mfcc_features(x: np.ndarray, fs: float, settings: FeatureSettings) -> list[float]:
    coefficients = mfcc(x, fs, settings)
    out: list[float] = []
    for row in coefficients:
        kurt, skew = _moments(row)
        out += [float(row.mean()), float(row.std()), float(np.median(row)), kurt, skew]
    return out


# ------------------------------------------------------------------------------ per trial/table


def phasic_features(phasic: np.ndarray, fs: float, settings: FeatureSettings) -> np.ndarray:
    """The 128 features (FEATURE_NAMES order) of a phasic component in min-max units."""
    values = np.asarray(
        scr_features(phasic, fs, settings)
        + time_features(phasic, fs)
        + frequency_features(phasic, fs)
        + band_features(phasic, fs)
        + mfcc_features(phasic, fs, settings),
        dtype=np.float64,
    )
    if not np.all(np.isfinite(values)):
        names = [FEATURE_NAMES[i] for i in np.flatnonzero(~np.isfinite(values))[:5]]
        raise FeatureError(f"non-finite features {names}")
    return values


def trial_features(
    raw: np.ndarray, fs: float, settings: FeatureSettings = FeatureSettings()
) -> np.ndarray:
    """The 128 features of one trial's raw EDA with the high-pass phasic component."""
    y = prepare(raw, fs, settings)
    return phasic_features(phasic_highpass(y, fs, settings), fs, settings)


def components_features(components, settings: FeatureSettings) -> np.ndarray:
    """The 128 features from the decomposition stage's cvxEDA components of one trial
    (`edaffect.signal.preprocessing.TrialComponents`: cropped, repaired, z-scored EDA and its
    phasic,
    at the solve rate), the phasic rescaled to the min-max units of the cropped EDA."""
    span = float(components.eda.max() - components.eda.min())
    if not span > 0:
        raise FeatureError("flat signal (max == min after cropping)")
    return phasic_features(np.asarray(components.phasic) / span, components.fs, settings)


def dataset_features(
    trials: pd.DataFrame,
    raw_eda: dict[str, np.ndarray],
    settings: FeatureSettings,
    decompose: Callable[[str, np.ndarray, float], object] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features of every trial in `trials` (trial_id, fs) -> (features, excluded).

    `decompose(trial_id, raw, fs)` gives a trial's cvxEDA components (phasic_method
    `decomposition`) or raises an exception with `stage` and `reason` (the preprocessing
    stage's TrialExcluded); without it the high-pass phasic is used. A trial that cannot give
    features becomes an `excluded` row with the stage and reason.
    """
    rows, ids, excluded = [], [], []
    start = time.perf_counter()
    for trial in trials.itertuples(index=False):
        trial_id = str(trial.trial_id)
        if trial_id not in raw_eda:
            raise KeyError(f"raw EDA has no array for trial {trial_id} listed in trials.csv")
        try:
            if decompose is None:
                values = trial_features(raw_eda[trial_id], float(trial.fs), settings)
            else:
                outcome = decompose(trial_id, raw_eda[trial_id], float(trial.fs))
                if isinstance(outcome, Exception):
                    raise outcome
                values = components_features(outcome, settings)
            rows.append(values)
            ids.append(trial_id)
        except Exception as err:
            if not isinstance(err, FeatureError) and not hasattr(err, "reason"):
                raise
            excluded.append(
                {
                    "dataset": getattr(trial, "dataset", ""),
                    "subject": getattr(trial, "subject", ""),
                    "trial": getattr(trial, "trial", ""),
                    "file": getattr(trial, "source", ""),
                    "stage": getattr(err, "stage", "eda_features"),
                    "reason": getattr(err, "reason", str(err)),
                }
            )
    seconds = time.perf_counter() - start
    n = len(trials)
    log.info(
        "EDA features: %d trials in %.2f s (%.2f ms per trial), %d excluded",
        n, seconds, 1000.0 * seconds / max(n, 1), len(excluded),
    )
    for row in excluded:
        log.warning("excluded %s/%s: %s", row["subject"], row["trial"], row["reason"])
    table = pd.DataFrame(
        np.asarray(rows).reshape(len(rows), N_FEATURES), columns=FEATURE_NAMES
    )
    table.insert(0, "trial_id", ids)
    excluded_table = pd.DataFrame(
        excluded, columns=["dataset", "subject", "trial", "file", "stage", "reason"]
    )
    return table, excluded_table


def load_raw_eda(npz_path: str | Path) -> dict[str, np.ndarray]:
    with np.load(npz_path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def cvxeda_cache_decomposer(
    preprocessing: dict, dataset: str, cache_dir: str | Path
) -> Callable[[str, np.ndarray, float], object]:
    """decompose(trial_id, raw, fs) through the decomposition stage's per-trial cache
    (`edaffect.signal.preprocessing.cached_decompose`): a cached trial is read, a missing one solved
    with the same settings and cached. Returns TrialComponents or the TrialExcluded outcome."""
    from edaffect.signal import preprocessing as pre

    psettings = pre.settings_from_config(preprocessing, dataset)

    def decompose(trial_id: str, raw: np.ndarray, fs: float):
        outcome, solved = pre.cached_decompose(trial_id, raw, fs, psettings, cache_dir)
        if solved:
            log.warning("trial %s was not in %s: decomposed it now", trial_id, cache_dir)
        return outcome

    return decompose


def write_dataset_features(
    trials_csv: str | Path,
    raw_npz: str | Path,
    out_csv: str | Path,
    excluded_csv: str | Path,
    settings: FeatureSettings,
    *,
    preprocessing: dict | None = None,
    dataset: str = "",
    cache_dir: str | Path | None = None,
) -> None:
    """Rule body of `eda_features`: trials.csv + raw_eda.npz (+ the cvxEDA cache) ->
    eda_features.csv and eda_features_excluded.csv."""
    trials = pd.read_csv(trials_csv, dtype={"trial_id": str, "subject": str, "trial": str})
    decompose = None
    if settings.phasic_method == "decomposition":
        if preprocessing is None or cache_dir is None:
            raise ValueError("phasic_method 'decomposition' needs the preprocessing config + cache")
        decompose = cvxeda_cache_decomposer(preprocessing, dataset, cache_dir)
    elif settings.phasic_method != "highpass":
        raise ValueError(
            f"phasic_method must be decomposition or highpass, not {settings.phasic_method!r}"
        )
    table, excluded = dataset_features(trials, load_raw_eda(raw_npz), settings, decompose)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    atomic.to_csv(table, out_csv, index=False, float_format="%.10g")
    atomic.to_csv(excluded, excluded_csv, index=False)


def read_features(path: str | Path) -> pd.DataFrame:
    """eda_features.csv indexed by trial_id (str), the 128 columns in FEATURE_NAMES order."""
    table = pd.read_csv(path, dtype={"trial_id": str}).set_index("trial_id")
    missing = [c for c in FEATURE_NAMES if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing feature columns {missing[:5]}")
    return table[FEATURE_NAMES].astype(np.float64)


def settings_from_config(options: dict | None, preprocessing: dict) -> FeatureSettings:
    """FeatureSettings from config `baselines.eda_features`, with the crop, NaN-gap and
    minimum-duration rules of `preprocessing` (shared with the decomposition stage)."""
    values = dict(options or {})
    for key in ("crop_s", "min_duration_s", "max_nan_gap_s"):
        if key in preprocessing:
            values[key] = float(preprocessing[key])
    return FeatureSettings(**values)
