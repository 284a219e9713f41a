"""Lag between annotated arousal and the skin's response: cross-correlation over −5…+5 s.

Per trial: the SCR rate is the cvxEDA driver of the decomposition stage's cache (sparse SMNA
bursts at SCR onsets) smoothed by a Gaussian of `smooth_s` SD (a rate of sudomotor activity,
z units per s). For each lag L on the 0.5-s frame grid, r(L) is the Pearson correlation over the
trial's annotated frames between arousal(t) and the SCR rate at t + L (frames whose t + L leaves
the recording are left out; fewer than `min_frames` frames: no value). Positive L: the skin
follows the annotation. The trial curves are averaged (Fisher z) over all trials; the recovered
lag is the peak of that pooled curve, refined by a parabola through the peak and its neighbours
(compared with the planted mean lag on synthetic data). Per listener the same gives the
listener's lag (noisier: a listener has few trials), shown beside it.

The same is done with cvxEDA's tonic level as a cross-check.  Tonic changes faster than the
tonic spline's knots (`preprocessing.cvxeda.delta_knot`) leak into the driver following the
tonic's derivative, which leads the arousal and pulls the SCR-rate peak to earlier lags; the
tonic itself follows slowly (on synthetic data it trails by the lag plus its own first-order
delay, so its peak is not the lag).  docs/continuous.md measures both effects.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def scr_rate(driver: np.ndarray, fs: float, smooth_s: float) -> np.ndarray:
    """The driver smoothed by a unit-area Gaussian of SD `smooth_s` seconds."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(driver, dtype=np.float64), smooth_s * fs, mode="nearest")


def lag_grid(max_lag_s: float, step_s: float) -> np.ndarray:
    n = int(round(max_lag_s / step_s))
    return np.round(np.arange(-n, n + 1) * step_s, 6)


def trial_curve(
    rate: np.ndarray, fs: float, start_s: float, frame_s: np.ndarray, arousal: np.ndarray,
    lags: np.ndarray, min_frames: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """(r per lag, frames used per lag) of one trial; `start_s` is the time of rate[0] on the
    frames' time base."""
    r = np.full(lags.size, np.nan)
    n_used = np.zeros(lags.size, dtype=int)
    t_rate = start_s + np.arange(rate.size) / fs
    for i, lag in enumerate(lags):
        t = frame_s + lag
        ok = (t >= t_rate[0]) & (t <= t_rate[-1])
        n_used[i] = int(ok.sum())
        if n_used[i] < min_frames:
            continue
        x = arousal[ok]
        y = np.interp(t[ok], t_rate, rate)
        if x.std() == 0 or y.std() == 0:
            continue
        r[i] = np.corrcoef(x, y)[0, 1]
    return r, n_used


SIGNALS = ("scr_rate", "tonic")


def response_signal(comp, signal: str, smooth_s: float) -> np.ndarray:
    """`scr_rate`: the smoothed cvxEDA driver; `tonic`: cvxEDA's tonic level (both z units)."""
    if signal == "scr_rate":
        return scr_rate(comp.driver, comp.fs, smooth_s)
    if signal == "tonic":
        return np.asarray(comp.tonic, dtype=np.float64)
    raise ValueError(f"unknown response signal {signal!r}; known: {SIGNALS}")


def lag_curves(
    dynamic_csv: str | Path, inputs_index_csv: str | Path, cache_dir: str | Path, *,
    crop_s: float, max_lag_s: float, step_s: float, smooth_s: float, min_frames: int = 8,
    signals: tuple[str, ...] = SIGNALS,
) -> pd.DataFrame:
    """Long table `signal, trial_id, subject, lag_s, r, n_frames` over every trial with
    components, for the SCR rate (the analysis) and the tonic level (its cross-check)."""
    from edaffect.signal.preprocessing import load_components

    dynamic = pd.read_csv(dynamic_csv, dtype={"trial_id": str, "subject": str})
    usable = set(pd.read_csv(inputs_index_csv, dtype={"trial_id": str})["trial_id"])
    lags = lag_grid(max_lag_s, step_s)
    parts = []
    for trial_id, rows in dynamic.groupby("trial_id", sort=True):
        if trial_id not in usable:
            continue
        comp = load_components(cache_dir, trial_id)
        for signal in signals:
            r, n = trial_curve(response_signal(comp, signal, smooth_s), comp.fs, crop_s,
                               rows["eda_time_s"].to_numpy(), rows["arousal"].to_numpy(), lags,
                               min_frames)
            parts.append(pd.DataFrame({"signal": signal, "trial_id": trial_id,
                                       "subject": rows["subject"].iloc[0], "lag_s": lags,
                                       "r": r, "n_frames": n}))
    if not parts:
        raise ValueError(f"{dynamic_csv}: no trial with dynamic annotations and EDA components")
    return pd.concat(parts, ignore_index=True)


def peak_lag(lags: np.ndarray, curve: np.ndarray) -> float:
    """Lag of the curve's maximum, refined by a parabola through it and its two neighbours."""
    curve = np.asarray(curve, dtype=float)
    if not np.isfinite(curve).any():
        return float("nan")
    i = int(np.nanargmax(curve))
    if 0 < i < curve.size - 1 and np.isfinite(curve[i - 1 : i + 2]).all():
        a, b, c = curve[i - 1], curve[i], curve[i + 1]
        denom = a - 2 * b + c
        if denom < 0:
            return float(lags[i] + 0.5 * (a - c) / denom * (lags[1] - lags[0]))
    return float(lags[i])


def _fisher_mean(r: pd.Series) -> float:
    r = r.dropna().clip(-0.999, 0.999)
    return float(np.tanh(np.arctanh(r).mean())) if len(r) else float("nan")


def summarise(curves: pd.DataFrame, planted: pd.DataFrame | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(pooled curve per lag, per-listener peaks, summary dict).

    `planted`: optional truth with columns subject, lag_s (synthetic ground truth)."""
    lags = np.sort(curves["lag_s"].unique())
    per_listener = curves.groupby(["subject", "lag_s"])["r"].apply(_fisher_mean).unstack()
    per_listener = per_listener.reindex(columns=lags)
    peaks = pd.DataFrame({
        "subject": per_listener.index.astype(str),
        "recovered_lag_s": [peak_lag(lags, row) for row in per_listener.to_numpy()],
        "n_trials": curves.groupby("subject")["trial_id"].nunique().reindex(per_listener.index)
        .to_numpy(),
    })
    pooled = curves.groupby("lag_s")["r"].agg(
        r_mean=_fisher_mean, r_sd="std", n_trials="count"
    ).reindex(lags).reset_index()
    pooled["r_sem"] = pooled["r_sd"] / np.sqrt(pooled["n_trials"].clip(lower=1))
    summary = {
        "n_trials": int(curves["trial_id"].nunique()),
        "n_listeners": int(len(peaks)),
        "pooled_peak_lag_s": peak_lag(lags, pooled["r_mean"].to_numpy()),
        "pooled_peak_r": float(np.nanmax(pooled["r_mean"])),
        "mean_listener_lag_s": float(np.nanmean(peaks["recovered_lag_s"])),
        "sd_listener_lag_s": float(np.nanstd(peaks["recovered_lag_s"], ddof=1))
        if len(peaks) > 1 else float("nan"),
    }
    if planted is not None and len(planted):
        truth = planted.assign(subject=planted["subject"].astype(str)).set_index("subject")
        peaks["planted_lag_s"] = peaks["subject"].map(truth["lag_s"]).to_numpy()
        both = peaks.dropna(subset=["planted_lag_s", "recovered_lag_s"])
        summary["planted_mean_lag_s"] = float(both["planted_lag_s"].mean())
        summary["abs_error_mean_lag_s"] = abs(
            summary["pooled_peak_lag_s"] - summary["planted_mean_lag_s"]
        )
        summary["listener_lag_correlation"] = (
            float(np.corrcoef(both["planted_lag_s"], both["recovered_lag_s"])[0, 1])
            if len(both) > 2 else float("nan")
        )
    return pooled, peaks, summary
