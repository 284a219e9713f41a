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
import time
import zlib
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from edaffect.io import atomic
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


def _write_npz(path: Path, **arrays) -> None:
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
        _write_npz(path, key=key, excluded_stage=exc.stage, excluded_reason=exc.reason)
        return exc, True
    _write_npz(
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


def n_batches(n_trials: int, batch_size: int) -> int:
    """How many decomposition jobs a dataset of `n_trials` gets."""
    return max(1, -(-int(n_trials) // int(batch_size)))


def batch_of(trial_id: str, n: int) -> int:
    """Stable trial -> batch mapping (CRC32 of the id): independent of the other trials."""
    return zlib.crc32(str(trial_id).encode()) % int(n)


def read_trials(trials_csv: str | Path) -> pd.DataFrame:
    """trials.csv with ids kept as strings (PMEmo ids look numeric)."""
    return pd.read_csv(
        trials_csv, dtype={"trial_id": str, "subject": str, "trial": str, "dataset": str}
    )


@dataclass
class BatchReport:
    """What one batch job did: logged to the rule's log, never stored in the batch file (its
    timing and cache counts differ between identical runs)."""

    n_trials: int = 0
    n_solved: int = 0
    n_cached: int = 0
    n_excluded: int = 0
    solve_seconds: float = 0.0


def _exclusion_row(row, file: str, stage: str, reason: str) -> dict:
    return {"dataset": row.dataset, "subject": row.subject, "trial": row.trial, "file": file,
            "stage": stage, "reason": reason}


def _one_trial(args) -> tuple[str, object, bool, float]:
    """Worker: (trial_id, outcome, solved_now, seconds) for one trial; never raises."""
    trial_id, y, fs, settings, cache_dir = args
    t0 = time.perf_counter()
    try:
        outcome, solved = cached_decompose(trial_id, y, fs, settings, cache_dir)
    except Exception as exc:  # noqa: BLE001 - one bad trial must not kill the batch
        outcome = TrialExcluded("preprocess", f"unexpected error: {type(exc).__name__}: {exc}")
        solved = True
    if isinstance(outcome, TrialComponents):
        outcome = model_input(outcome, settings.length)
    return trial_id, outcome, solved, time.perf_counter() - t0


def run_batch(
    raw_eda: str | Path,
    trials_csv: str | Path,
    batch: int,
    batch_size: int,
    settings: PreprocessSettings,
    cache_dir: str | Path,
    out_path: str | Path,
    threads: int = 1,
) -> BatchReport:
    """Preprocess every trial of one batch (through the cache) into `out_path` (.npz).

    The file holds `inputs` (k, 3, L) float32, `trial_id` (k,) and `excluded` (JSON rows).
    A trial that cannot be read, is unusable or whose solve fails becomes an exclusion row.
    """
    trials = read_trials(trials_csv)
    nb = n_batches(len(trials), batch_size)
    if not 0 <= batch < nb:
        raise ValueError(f"{trials_csv}: batch {batch} does not exist ({nb} batches)")
    mine = trials[[batch_of(t, nb) == batch for t in trials["trial_id"]]]
    report = BatchReport(n_trials=len(mine))
    excluded: list[dict] = []
    jobs = []
    rows = {}
    with np.load(raw_eda, allow_pickle=False) as raw:
        keys = set(raw.files)
        for row in mine.itertuples(index=False):
            rows[row.trial_id] = row
            try:
                if row.trial_id not in keys:
                    raise ValueError("trial missing from the raw EDA file")
                y = np.asarray(raw[row.trial_id], dtype=np.float64)
                if y.ndim != 1:
                    raise ValueError(f"raw EDA has shape {y.shape}, expected one dimension")
                fs = float(row.fs)
            except (ValueError, KeyError, OSError) as exc:
                log.warning("trial %s: %s", row.trial_id, exc)
                excluded.append(_exclusion_row(row, f"{raw_eda}:{row.trial_id}", "read",
                                               str(exc)))
                continue
            jobs.append((row.trial_id, y, fs, settings, str(cache_dir)))
    results: dict[str, np.ndarray] = {}
    # One BLAS thread per solve: the KKT blocks are small, and threaded BLAS spins on a
    # loaded machine (measured: 10x slower solves with 2 OpenBLAS threads under load).
    with threadpool_limits(limits=1, user_api="blas"):
        if threads > 1 and len(jobs) > 1:
            from concurrent.futures import ProcessPoolExecutor

            chunk = max(1, len(jobs) // (4 * threads))
            with ProcessPoolExecutor(max_workers=threads) as pool:
                outcomes = list(pool.map(_one_trial, jobs, chunksize=chunk))
        else:
            outcomes = [_one_trial(job) for job in jobs]
    for trial_id, outcome, solved, seconds in outcomes:
        report.n_solved += int(solved)
        report.n_cached += int(not solved)
        if solved:
            report.solve_seconds += seconds
        if isinstance(outcome, TrialExcluded):
            log.info("trial %s excluded (%s): %s", trial_id, outcome.stage, outcome.reason)
            excluded.append(_exclusion_row(rows[trial_id], f"{raw_eda}:{trial_id}",
                                           outcome.stage, outcome.reason))
        else:
            results[trial_id] = outcome
    report.n_excluded = len(excluded)
    ids = [t for t in mine["trial_id"] if t in results]
    inputs = (np.stack([results[t] for t in ids]) if ids
              else np.zeros((0, 3, settings.length), dtype=np.float32))
    _write_npz(Path(out_path), inputs=inputs, trial_id=np.array(ids, dtype=str),
               excluded=json.dumps(excluded))
    log.info("batch %d: %s", batch, report)
    return report


def merge_batches(
    batch_files: list[str | Path],
    trials_csv: str | Path,
    trials_excluded_csv: str | Path,
    out_inputs: str | Path,
    out_index: str | Path,
    out_excluded: str | Path,
) -> int:
    """Join the batch files into inputs.npy (trial-table order) + index + excluded.csv."""
    trials = read_trials(trials_csv)
    parts: dict[str, np.ndarray] = {}
    excluded: list[dict] = []
    length = None
    for path in batch_files:
        with np.load(path, allow_pickle=False) as f:
            inputs, ids = f["inputs"], [str(t) for t in f["trial_id"]]
            excluded.extend(json.loads(str(f["excluded"])))
        if length is not None and inputs.shape[2] != length:
            raise ValueError(f"{path}: input length {inputs.shape[2]}, other batches {length}")
        length = inputs.shape[2]
        for t, x in zip(ids, inputs, strict=True):
            if t in parts:
                raise ValueError(f"{path}: trial {t} appears in more than one batch")
            parts[t] = x
    unknown = set(parts) - set(trials["trial_id"])
    if unknown:
        raise ValueError(f"batch files hold trials not in {trials_csv}: {sorted(unknown)[:5]}")
    order = [t for t in trials["trial_id"] if t in parts]
    accounted = set(parts) | {f"{r['subject']}_{r['trial']}" for r in excluded}
    missing = [t for t in trials["trial_id"] if t not in accounted]
    if missing:
        raise ValueError(f"trials of {trials_csv} missing from every batch: {missing[:5]}")
    read_excl = pd.read_csv(trials_excluded_csv, dtype=str)
    pre = pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS).astype(str)
    all_excluded = pd.concat([read_excl.reindex(columns=EXCLUDED_COLUMNS), pre],
                             ignore_index=True)
    if not order:  # a dataset with no model input must stop the run, with its reasons kept
        from edaffect.datasets import failure_copy, top_reasons, write_excluded

        rows = all_excluded.to_dict("records")
        write_excluded(rows, out_excluded, failed=True)
        raise ValueError(
            f"{trials_csv}: no trial reached the model inputs: {len(rows)} trial(s) excluded, "
            f"most often: {top_reasons(rows)} (all reasons in {failure_copy(out_excluded)})"
        )
    arr = np.stack([parts[t] for t in order]).astype(np.float32)
    atomic.save_npy(out_inputs, arr)  # a full disk or a kill never leaves a fragment
    atomic.to_csv(pd.DataFrame({"row": range(len(order)), "trial_id": order}), out_index,
                  index=False)
    from edaffect.datasets import write_excluded

    write_excluded(all_excluded.to_dict("records"), out_excluded)
    return len(order)


def batch_paths(trials_csv: str | Path, dataset: str, batch_size: int) -> list[str]:
    """Paths of a dataset's decomposition batch files (DAG-time helper for the workflow)."""
    with open(trials_csv) as handle:
        n_trials = max(0, sum(1 for _ in handle) - 1)
    return [f"results/{dataset}/decomposed/batch{b}.npz"
            for b in range(n_batches(n_trials, batch_size))]
