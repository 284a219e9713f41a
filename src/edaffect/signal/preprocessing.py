"""EDA preprocessing of RTCAN-1D §5.1: crop, z-score, cvxEDA, three z-scored channels, resize.

Per trial: drop the first `crop_s` seconds (3 s; Res-SIN 15 s), repair short NaN runs, z-score,
decompose with cvxEDA into phasic and tonic, low-pass each of (EDA, phasic, tonic) below the
Nyquist frequency of the new length when it is shorter (anti-aliasing), z-score it and linearly
interpolate it to the dataset's fixed `length`.  Trials that are too short, carry a
long NaN run, are flat, or whose solve fails are excluded with a reason instead of raising.

The un-interpolated components (cropped, at the solve rate) are cached per trial under a
cache folder keyed by the trial's signal bytes and every parameter, so a rerun re-solves only
trials whose signal or settings changed; `load_components` reads them back for other stages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from edaffect.signal.decomposition import cvxeda
from edaffect.signal.normalise import zscore

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the preprocessing code changes what it stores
CHANNELS = ("eda", "phasic", "tonic")
EXCLUDED_COLUMNS = ["dataset", "subject", "trial", "file", "stage", "reason"]
FLAT_STD = 1e-9  # a (cropped, repaired) signal whose std is below this, relative to
# max(1, |mean|), is flat
ZERO_CHANNEL_STD = 1e-9  # a decomposed channel with a smaller std (z units) becomes all zeros
NEAR_OPTIMAL_GAP = 1e-6  # a solve stopped short with relative gap and infeasibilities below
# this still counts as a solution (cvxopt's 'unknown' after e.g. a singular last KKT system)


class TrialExcluded(Exception):  # noqa: N818 - an outcome, not an error
    """The trial cannot be used; `stage` and `reason` go to excluded.csv."""

    def __init__(self, stage: str, reason: str):
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


@dataclass(frozen=True)
class PreprocessSettings:
    """Preprocessing parameters (config.yaml `preprocessing`) for one dataset."""

    crop_s: float = 3.0
    min_duration_s: float = 10.0
    max_nan_gap_s: float = 1.0
    length: int = 256
    resample_hz: float | None = None
    cvxeda: dict = field(default_factory=dict)

    def key(self) -> str:
        """Everything that changes the cached components (not `length`: resizing is cheap)."""
        d = asdict(self)
        d.pop("length")
        d["cache_version"] = CACHE_VERSION
        return json.dumps(d, sort_keys=True)


def settings_from_config(preprocessing: dict, dataset: str) -> PreprocessSettings:
    """PreprocessSettings from config `preprocessing` for `dataset`."""
    length = preprocessing["length"]
    if isinstance(length, dict):
        if dataset not in length:
            raise ValueError(f"config preprocessing.length has no entry for dataset {dataset!r}")
        length = length[dataset]
    resample = preprocessing.get("resample_hz")
    return PreprocessSettings(
        crop_s=float(preprocessing.get("crop_s", 3.0)),
        min_duration_s=float(preprocessing.get("min_duration_s", 10.0)),
        max_nan_gap_s=float(preprocessing.get("max_nan_gap_s", 1.0)),
        length=int(length),
        resample_hz=None if resample is None else float(resample),
        cvxeda={k: float(v) for k, v in preprocessing.get("cvxeda", {}).items()},
    )


@dataclass
class TrialComponents:
    """Cropped, un-interpolated decomposition of one trial at rate `fs`.

    `eda` is the z-scored cropped signal; `phasic`, `tonic`, `driver` are cvxEDA's outputs for
    it (z units; multiply by `raw_std` for the signal's own unit).
    """

    eda: np.ndarray
    phasic: np.ndarray
    tonic: np.ndarray
    driver: np.ndarray
    fs: float
    raw_mean: float
    raw_std: float
    status: str
    n_repaired: int  # NaN samples filled by linear interpolation


def nan_runs(y: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of every run of NaN (or inf) samples."""
    bad = ~np.isfinite(y)
    if not bad.any():
        return []
    edges = np.diff(np.concatenate(([0], bad.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def clean_signal(y: np.ndarray, fs: float, settings: PreprocessSettings) -> tuple[np.ndarray, int]:
    """Crop, repair short NaN runs and check length and flatness (one check for every stage).

    Parameters
    ----------
    y
        Raw EDA of one trial.
    fs
        Its sampling rate in Hz.
    settings
        `crop_s`, `min_duration_s` and `max_nan_gap_s` are used.

    Returns
    -------
    cleaned : numpy.ndarray
        The cropped signal with NaN runs up to `max_nan_gap_s` linearly interpolated.
    n_repaired : int
        Samples filled by interpolation.

    Raises
    ------
    TrialExcluded
        Too short after cropping, a longer NaN run, or flat (std below FLAT_STD relative to
        max(1, |mean|)).
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    if fs <= 0 or not np.isfinite(fs):
        raise TrialExcluded("preprocess", f"invalid sampling rate {fs}")
    start = int(round(settings.crop_s * fs))
    y = y[start:]
    duration = y.size / fs
    if duration < settings.min_duration_s or y.size < 3:
        raise TrialExcluded(
            "preprocess",
            f"too short after dropping the first {settings.crop_s:g} s: {duration:.2f} s "
            f"< min_duration_s={settings.min_duration_s:g}",
        )
    runs = nan_runs(y)
    repaired = 0
    if runs:
        longest = max(runs, key=lambda r: r[1] - r[0])
        longest_s = (longest[1] - longest[0]) / fs
        if longest[1] - longest[0] == y.size:
            raise TrialExcluded("preprocess", "no finite samples after cropping")
        if longest_s > settings.max_nan_gap_s:
            raise TrialExcluded(
                "preprocess",
                f"NaN run of {longest_s:.2f} s at {longest[0] / fs + settings.crop_s:.2f} s "
                f"exceeds max_nan_gap_s={settings.max_nan_gap_s:g}",
            )
        bad = ~np.isfinite(y)
        idx = np.arange(y.size)
        y = y.copy()
        y[bad] = np.interp(idx[bad], idx[~bad], y[~bad])  # edges: nearest finite value
        repaired = int(bad.sum())
    std = float(y.std())
    if std < FLAT_STD * max(1.0, abs(float(y.mean()))):
        raise TrialExcluded("preprocess", f"flat signal after cropping (std {std:.3g})")
    return y, repaired


def resample(y: np.ndarray, fs: float, target_hz: float) -> tuple[np.ndarray, float]:
    """Polyphase (anti-aliased) resampling to about `target_hz`; returns (signal, new fs)."""
    from scipy.signal import resample_poly

    ratio = Fraction(target_hz / fs).limit_denominator(1000)
    if ratio == 1:
        return y, fs
    out = resample_poly(y, ratio.numerator, ratio.denominator, padtype="line")
    return out, fs * ratio.numerator / ratio.denominator


def decompose_trial(y: np.ndarray, fs: float, settings: PreprocessSettings) -> TrialComponents:
    """Clean, z-score and decompose one raw trial.

    Parameters
    ----------
    y
        Raw EDA of one trial (any unit), NaN runs allowed.
    fs
        Its sampling rate in Hz.
    settings
        Crop, NaN repair, minimum duration, resampling rate and cvxEDA parameters
        (`settings_from_config`).

    Returns
    -------
    TrialComponents
        Cropped, repaired, z-scored EDA and its phasic, tonic and driver at the solving rate.

    Raises
    ------
    TrialExcluded
        The trial is unusable (too short, a long NaN run, flat, solver failure); its `stage` and
        `reason` go to excluded.csv.
    """
    clean, repaired = clean_signal(y, fs, settings)
    if settings.resample_hz is not None and settings.resample_hz < fs:
        clean, fs = resample(clean, fs, settings.resample_hz)
    mean, std = float(clean.mean()), float(clean.std())
    z = (clean - mean) / std
    try:
        res = cvxeda(z, fs, **settings.cvxeda)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise TrialExcluded("cvxeda", f"solver error: {type(exc).__name__}: {exc}") from exc
    if not res.converged:
        info = res.info
        near = all(
            info.get(k) is not None and abs(float(info[k])) <= NEAR_OPTIMAL_GAP
            for k in ("relative gap", "primal infeasibility", "dual infeasibility")
        )
        if not near or not np.all(np.isfinite(res.phasic)):
            detail = info.get("reason") or res.status
            raise TrialExcluded(
                "cvxeda",
                f"cvxEDA did not converge ({res.status}: {detail}; after {res.iterations} "
                f"iterations, relative gap {info.get('relative gap')})",
            )
        log.info("cvxEDA stopped near the optimum (%s); kept", info.get("reason", res.status))
    return TrialComponents(
        eda=z, phasic=res.phasic, tonic=res.tonic, driver=res.driver, fs=float(fs),
        raw_mean=mean, raw_std=std, status=res.status, n_repaired=repaired,
    )


ANTIALIAS_ORDER = 8  # Butterworth order of the low-pass before shortening a trial to `length`
ANTIALIAS_MARGIN = 0.9  # cut-off as a share of the new Nyquist frequency


def antialias(x: np.ndarray, step: float) -> np.ndarray:
    """Zero-phase low-pass (Butterworth, cut-off 0.9 x the new Nyquist) of a series that is
    about to be sampled every `step` > 1 samples, so content above the new Nyquist frequency
    (e.g. SCRs faster than L / duration / 2 Hz) is removed instead of folded back as slow
    spurious waves. Series too short for the filter's edge padding are returned unchanged."""
    from scipy.signal import butter, sosfiltfilt

    if step <= 1.0:
        return x
    sos = butter(ANTIALIAS_ORDER, ANTIALIAS_MARGIN / step, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    if x.size <= padlen:
        return x
    return sosfiltfilt(sos, x, padlen=padlen)


def model_input(components: TrialComponents, length: int) -> np.ndarray:
    """A trial's model input: EDA, phasic and tonic resized to `length` samples.

    Parameters
    ----------
    components
        A decomposed trial (`decompose_trial`, `cached_decompose`).
    length
        Samples per channel (config `preprocessing.length`).

    Returns
    -------
    numpy.ndarray
        (3, length) float32; each channel low-passed below the new Nyquist frequency when
        `length` is shorter than the trial (anti-aliasing), z-scored, linearly interpolated.
    """
    n = components.eda.size
    grid = np.linspace(0.0, n - 1.0, length)
    idx = np.arange(n, dtype=np.float64)
    step = (n - 1.0) / max(length - 1, 1)
    out = np.empty((3, length), dtype=np.float32)
    for c, name in enumerate(CHANNELS):
        series = antialias(np.asarray(getattr(components, name), dtype=np.float64), step)
        out[c] = np.interp(grid, idx, zscore(series, ZERO_CHANNEL_STD))
    return out


# ------------------------------------------------------------------------------ per-trial cache


def cache_key(y: np.ndarray, fs: float, settings: PreprocessSettings) -> str:
    """Hash of the trial's raw signal bytes, its rate and every parameter that matters."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
    h.update(repr(float(fs)).encode())
    h.update(settings.key().encode())
    return h.hexdigest()


def cache_path(cache_dir: str | Path, trial_id: str) -> Path:
    return Path(cache_dir) / f"{trial_id}.npz"


def write_npz(path: Path, **arrays) -> None:
    """Atomic np.savez (a killed job never leaves a half-written cache file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read_cache(path: Path, key: str) -> TrialComponents | TrialExcluded | None:
    """The cached outcome for `key`, or None when absent, stale or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return None
            if "excluded_stage" in f:
                return TrialExcluded(str(f["excluded_stage"]), str(f["excluded_reason"]))
            return TrialComponents(
                eda=f["eda"], phasic=f["phasic"], tonic=f["tonic"], driver=f["driver"],
                fs=float(f["fs"]), raw_mean=float(f["raw_mean"]), raw_std=float(f["raw_std"]),
                status=str(f["status"]), n_repaired=int(f["n_repaired"]),
            )
    except Exception as exc:  # noqa: BLE001 - BadZipFile, EOFError, zlib.error, ...: a miss
        log.warning(
            "unreadable cache file %s (%s: %s): treated as a miss, solved again and overwritten",
            path, type(exc).__name__, exc,
        )
        return None


def cached_decompose(
    trial_id: str, y: np.ndarray, fs: float, settings: PreprocessSettings, cache_dir: str | Path
) -> tuple[TrialComponents | TrialExcluded, bool]:
    """`decompose_trial` through the per-trial cache.

    Parameters
    ----------
    trial_id
        The trial's id (the cache file's name).
    y, fs, settings
        As for `decompose_trial`; with the signal's bytes they make the cache key.
    cache_dir
        Folder of the per-trial cache files.

    Returns
    -------
    outcome : TrialComponents or TrialExcluded
        The components, or the exclusion (exclusions are cached too, so a rerun does not retry
        a trial whose inputs did not change).
    solved_now : bool
        False when the cache answered.
    """
    key = cache_key(y, fs, settings)
    path = cache_path(cache_dir, trial_id)
    hit = _read_cache(path, key)
    if hit is not None:
        return hit, False
    try:
        comp = decompose_trial(y, fs, settings)
    except TrialExcluded as exc:
        write_npz(path, key=key, excluded_stage=exc.stage, excluded_reason=exc.reason)
        return exc, True
    write_npz(
        path, key=key, eda=comp.eda, phasic=comp.phasic, tonic=comp.tonic, driver=comp.driver,
        fs=comp.fs, raw_mean=comp.raw_mean, raw_std=comp.raw_std, status=comp.status,
        n_repaired=comp.n_repaired,
    )
    return comp, True


def load_components(cache_dir: str | Path, trial_id: str) -> TrialComponents:
    """The cached, un-interpolated components of one trial (written by the decomposition stage).

    Raises KeyError when the trial has no cache entry or was excluded.
    """
    path = cache_path(cache_dir, trial_id)
    if not path.is_file():
        raise KeyError(f"{path}: no cached decomposition for trial {trial_id!r}")
    try:
        with np.load(path, allow_pickle=False) as f:
            key = str(f["key"])
    except Exception as exc:  # noqa: BLE001 - any unreadable file
        raise KeyError(f"{path}: unreadable cache entry of trial {trial_id!r} ({exc})") from exc
    out = _read_cache(path, key)
    if not isinstance(out, TrialComponents):
        reason = out.reason if isinstance(out, TrialExcluded) else "unreadable"
        raise KeyError(f"{path}: trial {trial_id!r} has no components ({reason})")
    return out


# ------------------------------------------------------------------------- batches of the stage
