"""`edaffect predict`: a trained network on a new EDA recording, window by window.

A window of the recording is treated exactly like one training trial: the recording is first
resampled (polyphase, `preprocessing.resample`) to the rate the model's training trials had, then
each window goes through `preprocessing.decompose_trial` (crop of the first `crop_s` seconds,
NaN repair, z-scoring, cvxEDA with the trained parameters) and `preprocessing.model_input`
(z-scored EDA/phasic/tonic, linear interpolation to the model's length L): the very functions
of the workflow's decomposition stage.  Music models also need the song: its openSMILE
functionals (`music.audio_features`) are z-scored with the training fold's statistics.

What the model file must carry (model.pt key "inference", else a sidecar inference.json beside
it; written by `inference_metadata`): see INFERENCE_FIELDS.  A run directory (all folds of an
experiment, or its dimension folders) is an ensemble: the folds' probabilities are averaged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from edaffect.signal.preprocessing import (
    PreprocessSettings,
    TrialExcluded,
    decompose_trial,
    model_input,
    resample,
)
from edaffect.training.inference_metadata import (  # noqa: F401 (public API)
    INFERENCE_FIELDS,
    INFERENCE_KEY,
    INFERENCE_VERSION,
    SIDECAR,
    inference_metadata,
    job_inference,
    music_normalisation,
    write_sidecar,
)

log = logging.getLogger(__name__)

CHANNELS = {"eda": None, "origin": 0, "phasic": 1, "tonic": 2}
TIME_COLUMNS = ("time", "time_s", "t", "timestamp", "seconds", "sec", "s")
EDA_COLUMNS = ("eda", "gsr", "sc", "scl", "conductance", "skin_conductance", "eda_raw")
MIN_FS, MAX_FS = 1.0, 10_000.0


class PredictError(ValueError):
    """A problem with the user's input (file, option, model) — printed without a traceback."""


# ------------------------------------------------------------------------------ loading models


@dataclass
class TrainedModel:
    path: Path
    model: nn.Module
    meta: dict
    music_dim: int

    @property
    def dimension(self) -> str:
        return str(self.meta["dimension"])

    def settings(self) -> PreprocessSettings:
        p = dict(self.meta["preprocessing"])
        p["cvxeda"] = dict(p.get("cvxeda") or {})
        return PreprocessSettings(**p)


def find_models(path) -> list[Path]:
    """A model.pt itself, or every fold*/model.pt under a run directory."""
    path = Path(path)
    if not path.exists():
        raise PredictError(f"--model {path}: no such file or directory")
    if path.is_file():
        return [path]
    found = sorted(p for p in path.rglob("model.pt") if p.parent.name.startswith("fold"))
    if not found:
        raise PredictError(f"--model {path}: no fold*/model.pt under this directory")
    return found


def load_model(path) -> TrainedModel:
    """A trained network and its inference metadata; clear errors for anything else."""
    from edaffect.models import build_model

    path = Path(path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise PredictError(f"{path}: not a model file edaffect can read ({exc})") from exc
    needed = {"state_dict", "experiment", "in_channels", "input_length", "music_dim"}
    if not isinstance(saved, dict) or not needed <= set(saved):
        keys = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise PredictError(f"{path}: unknown model file (expected an edaffect model.pt with "
                           f"{sorted(needed)}, found {keys})")
    experiment = saved["experiment"]
    if experiment.get("model") != "rtcan1d":
        raise PredictError(f"{path}: model {experiment.get('model')!r} reads hand-crafted "
                           "features or images; `predict` runs the signal networks (rtcan1d)")
    meta = saved.get(INFERENCE_KEY)
    sidecar = path.parent / SIDECAR
    if meta is None and sidecar.exists():
        meta = json.loads(sidecar.read_text())
    if meta is None:
        raise PredictError(
            f"{path}: no inference metadata (model.pt key {INFERENCE_KEY!r} or {sidecar}); "
            f"needed fields: {sorted(INFERENCE_FIELDS)} — write them with "
            "edaffect.predict.write_sidecar(model_pt, inference_metadata(...))")
    missing = [k for k in ("preprocessing", "fs_hz", "window_s", "dimension") if k not in meta]
    if missing:
        raise PredictError(f"{path}: inference metadata lacks {missing}")
    if int(meta.get("version", 1)) > INFERENCE_VERSION:
        raise PredictError(f"{path}: inference metadata version {meta['version']} is newer than "
                           f"this edaffect ({INFERENCE_VERSION})")
    meta.setdefault("input", experiment.get("input", "eda"))
    meta.setdefault("music", None)
    if int(meta["preprocessing"]["length"]) != int(saved["input_length"]):
        raise PredictError(f"{path}: metadata length {meta['preprocessing']['length']} != "
                           f"model input length {saved['input_length']}")
    model = build_model(experiment, saved["in_channels"], saved["input_length"],
                        saved["music_dim"])
    model.load_state_dict(saved["state_dict"])
    music_dim = int(getattr(model, "music_dim", 0))
    if music_dim and not meta["music"]:
        raise PredictError(f"{path}: music model without the training fold's music "
                           "normalisation in its inference metadata")
    return TrainedModel(path, model.eval(), meta, music_dim)


# ---------------------------------------------------------------------------- the recording


def read_recording(csv, fs: float | None = None, column: str | None = None):
    """(signal, rate, column) of an EDA CSV with a time column (seconds) or a given `fs`."""
    path = Path(csv)
    if not path.is_file():
        raise PredictError(f"--eda {path}: no such file")
    try:
        table = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001
        raise PredictError(f"--eda {path}: cannot read as CSV ({exc})") from exc
    lower = {str(c).strip().lower(): c for c in table.columns}
    time_col = next((lower[n] for n in TIME_COLUMNS if n in lower), None)
    if column is not None:
        if column not in table.columns:
            raise PredictError(f"--eda {path}: no column {column!r}; columns: "
                               f"{list(table.columns)}")
        chosen = column
    else:
        named = [lower[n] for n in EDA_COLUMNS if n in lower]
        others = [c for c in table.columns if c != time_col]
        if named:
            chosen = named[0]
        elif len(others) == 1:
            chosen = others[0]
        else:
            raise PredictError(f"--eda {path}: which column is EDA? none is named "
                               f"{list(EDA_COLUMNS)}; give --column (columns: {others})")
    signal = pd.to_numeric(table[chosen], errors="coerce").to_numpy(np.float64)
    if time_col is not None:
        t = pd.to_numeric(table[time_col], errors="coerce").to_numpy(np.float64)
        dt = np.diff(t[np.isfinite(t)])
        if dt.size == 0 or np.any(dt <= 0):
            raise PredictError(f"--eda {path}: time column {time_col!r} is not increasing")
        rate = 1.0 / float(np.median(dt))
        if np.max(np.abs(dt - np.median(dt))) > 0.01 * np.median(dt):
            grid = np.arange(t[0], t[-1], 1.0 / rate)  # irregular clock: onto a uniform grid
            ok = np.isfinite(t) & np.isfinite(signal)
            signal = np.interp(grid, t[ok], signal[ok])
        if fs is not None and abs(fs - rate) > 0.01 * fs:
            raise PredictError(f"--eda {path}: --fs {fs:g} Hz disagrees with the time column "
                               f"({rate:g} Hz)")
        fs = rate
    if fs is None:
        raise PredictError(f"--eda {path}: no time column ({list(TIME_COLUMNS)}); give --fs")
    if not MIN_FS <= fs <= MAX_FS:
        raise PredictError(f"--eda {path}: sampling rate {fs:g} Hz outside {MIN_FS:g}.."
                           f"{MAX_FS:g} Hz")
    if not np.isfinite(signal).any():
        raise PredictError(f"--eda {path}: column {chosen!r} holds no numbers")
    return signal, float(fs), str(chosen)


def to_model_rate(signal: np.ndarray, fs: float, model_fs: float) -> tuple[np.ndarray, float]:
    """The recording at the training trials' rate (polyphase, as the workflow resamples);
    short NaN runs are bridged first so that the filter does not spread them."""
    if abs(fs - model_fs) <= 1e-9 * model_fs:
        return signal, fs
    y = np.asarray(signal, dtype=np.float64)
    bad = ~np.isfinite(y)
    if bad.any():
        idx = np.arange(y.size)
        y = y.copy()
        y[bad] = np.interp(idx[bad], idx[~bad], y[~bad])
    return resample(y, fs, model_fs)


def window_starts(n: int, fs: float, window_s: float, hop_s: float) -> list[int]:
    size = int(round(window_s * fs))
    if window_s <= 0 or hop_s <= 0:
        raise PredictError(f"--window and --hop must be positive, got {window_s}, {hop_s}")
    if n < size:
        raise PredictError(f"the recording lasts {n / fs:.1f} s, shorter than one window of "
                           f"{window_s:.1f} s (give a shorter --window)")
    step = max(1, int(round(hop_s * fs)))
    return list(range(0, n - size + 1, step))


def preprocess_windows(signal: np.ndarray, fs: float, settings: PreprocessSettings,
                       window_s: float, hop_s: float, channel: int | None):
    """Model inputs (n, C, L) of every window (NaN rows where a window is excluded), the
    window starts (s) and exclusion reasons ('' when used); `signal` is at the model rate."""
    size = int(round(window_s * fs))
    starts = window_starts(len(signal), fs, window_s, hop_s)
    channels = 3 if channel is None else 1
    x = np.full((len(starts), channels, settings.length), np.nan, dtype=np.float32)
    reasons = []
    for i, start in enumerate(starts):
        try:
            components = decompose_trial(signal[start:start + size], fs, settings)
        except TrialExcluded as exc:
            reasons.append(f"{exc.stage}: {exc.reason}")
            continue
        full = model_input(components, settings.length)
        x[i] = full if channel is None else full[channel:channel + 1]
        reasons.append("")
    return x, np.asarray(starts, dtype=np.float64) / fs, reasons


def music_vector(audio, meta: dict) -> np.ndarray:
    """The song's openSMILE functionals z-scored with the training fold's statistics."""
    from edaffect.signal.music import audio_features

    path = Path(audio)
    if not path.is_file():
        raise PredictError(f"--audio {path}: no such file")
    features = audio_features(path)
    stats = meta["music"]
    features = features.reindex(stats["columns"])
    if features.isna().all():
        raise PredictError(f"--audio {path}: openSMILE's columns do not match the model's")
    z = (features.to_numpy(np.float64) - np.asarray(stats["mean"])) / np.asarray(stats["std"])
    return np.where(np.isfinite(z), z, 0.0).astype(np.float32)


# ------------------------------------------------------------------------------- prediction


@dataclass
class Prediction:
    table: pd.DataFrame  # one row per window: start, p_low/p_high and class per dimension
    inputs: dict  # preprocessing key -> (n, C, L) inputs
    models: list[TrainedModel]
    signal: np.ndarray  # the recording at the first model's rate
    fs: float
    music: np.ndarray | None


def predict(model_path, eda_csv, *, fs: float | None = None, audio=None,
            window_s: float | None = None, hop_s: float | None = None,
            column: str | None = None) -> Prediction:
    """A trained network (or a run folder's fold models, averaged) on a new EDA recording.

    Parameters
    ----------
    model_path
        A model.pt, or a run folder (`results/runs/{experiment}/{dataset}[/{dimension}]`) whose
        fold*/model.pt are averaged.
    eda_csv
        The recording: a CSV with an EDA column (and a time column, or `fs`).
    fs
        Sampling rate in Hz when the file has no time column.
    audio
        The song's audio, required by models that fuse music features.
    window_s, hop_s
        Window and hop in seconds (default: the training trials' median duration, no overlap).
    column
        The EDA column's name when it is not one of the usual ones.

    Returns
    -------
    Prediction
        Per window and dimension P(low), P(high) and the predicted class, with each window's
        start and any window that could not be used and why.

    Raises
    ------
    PredictError
        A problem with the user's input (file, option, model), printed without a traceback.
    """
    models = [load_model(p) for p in find_models(model_path)]
    raw, rate, chosen = read_recording(eda_csv, fs, column)
    if any(m.music_dim for m in models) and audio is None:
        names = sorted({m.meta.get("experiment") or m.path.parent.name
                        for m in models if m.music_dim})
        raise PredictError(f"model(s) {names} fuse the song's music features: give the song's "
                           "audio with --audio FILE")
    first = models[0].meta
    window_s = float(window_s or first["window_s"])
    hop_s = float(hop_s or window_s)
    inputs, starts, reasons, signal0 = {}, None, None, None
    by_dim: dict[str, list[np.ndarray]] = {}
    music = None
    for m in models:
        settings = m.settings()
        channel = CHANNELS.get(m.meta["input"], None)
        key = json.dumps([settings.key(), settings.length, m.meta["fs_hz"], channel])
        if key not in inputs:
            signal, model_fs = to_model_rate(raw, rate, float(m.meta["fs_hz"]))
            x, st, rs = preprocess_windows(signal, model_fs, settings, window_s, hop_s, channel)
            if starts is not None and len(st) != len(starts):
                raise PredictError("the ensemble's models cut the recording differently")
            inputs[key] = x
            starts, reasons = st, rs
            signal0 = signal if signal0 is None else signal0
        x = inputs[key]
        ok = np.isfinite(x).reshape(len(x), -1).all(axis=1)
        mus = None
        if m.music_dim:
            music = music_vector(audio, m.meta)
            mus = torch.from_numpy(np.repeat(music[None], int(ok.sum()), axis=0))
        probs = np.full((len(x), 2), np.nan)
        if ok.any():
            with torch.no_grad():
                logits = m.model(torch.from_numpy(x[ok]), mus)
            probs[ok] = torch.softmax(logits.double(), dim=1).numpy()
        by_dim.setdefault(m.dimension, []).append(probs)
    table = pd.DataFrame({"window": np.arange(len(starts)), "start_s": starts,
                          "end_s": starts + window_s})
    for dim, stack in by_dim.items():
        p = np.mean(stack, axis=0)
        table[f"{dim}_p_low"] = p[:, 0]
        table[f"{dim}_p_high"] = p[:, 1]
        table[f"{dim}_label"] = np.where(np.isnan(p[:, 1]), "",
                                         np.where(p[:, 1] >= 0.5, "high", "low"))
        table[f"{dim}_n_models"] = len(stack)
    table["excluded"] = reasons
    log.info("%d windows of %.1f s (hop %.1f s) from column %r at %.3g Hz, %d model(s)",
             len(table), window_s, hop_s, chosen, rate, len(models))
    return Prediction(table, inputs, models, signal0, float(models[0].meta["fs_hz"]), music)


def plot_gradcam(result: Prediction, out_png) -> Path:
    """The recording with each window's Grad-CAM-1D (first model's dimension, ensemble-averaged
    over its folds, for the predicted class) as a heat strip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edaffect.models.gradcam import default_target_layer, grad_cam_1d

    dims = sorted({m.dimension for m in result.models})
    fig, axes = plt.subplots(len(dims), 1, figsize=(11, 2.6 * len(dims)), squeeze=False)
    t = np.arange(len(result.signal)) / result.fs
    for ax, dim in zip(axes[:, 0], dims, strict=True):
        models = [m for m in result.models if m.dimension == dim]
        ax.plot(t, result.signal, color="black", lw=0.8)
        ax.set_ylabel("EDA")
        ax.set_title(f"{dim}: Grad-CAM-1D of the predicted class per window "
                     f"({len(models)} model(s))", fontsize=9)
        top = ax.get_ylim()
        for i, row in result.table.iterrows():
            if row["excluded"]:
                continue
            cams = []
            for m in models:
                settings = m.settings()
                channel = CHANNELS.get(m.meta["input"], None)
                key = json.dumps([settings.key(), settings.length, m.meta["fs_hz"], channel])
                x = result.inputs[key][i]
                music = result.music if m.music_dim else None
                xt = torch.from_numpy(x[None])
                mt = None if music is None else torch.from_numpy(music[None])
                layer = default_target_layer(m.model, xt, mt)
                cls = 1 if row[f"{dim}_p_high"] >= 0.5 else 0
                cams.append(grad_cam_1d(m.model, x, layer, class_index=cls, music=music).cam)
            cam = np.mean(cams, axis=0)
            crop = float(models[0].meta["preprocessing"]["crop_s"])
            span = np.linspace(row["start_s"] + crop, row["end_s"], len(cam))
            ax.pcolormesh(span, top, np.asarray(cam)[None, :-1], cmap="inferno", alpha=0.35,
                          vmin=0, vmax=1, shading="flat")
            ax.text(row["start_s"], top[1], f" p_high {row[f'{dim}_p_high']:.2f}", fontsize=7,
                    va="top")
        ax.set_ylim(top)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
