"""Continuous V/A recognition per fold (thesis ch. 3 adapted): TCN on 1 − CCC, ridge, constant.

Models (config `continuous.models`):
- `tcn`: the TCN of edaffect.models.tcn on windows of the frame-mean EDA channels (+ the song's
  music components as constant channels), trained with 1 − CCC; the epoch is chosen by the CCC
  of the restored validation predictions; overlapping window predictions are averaged back onto
  each trial's frames (N-to-N) before scoring.
- `ridge`: ridge regression on the per-frame window features (+ music components); alpha chosen
  by validation CCC from `continuous.ridge_alphas`.
- `constant`: the training frames' mean (CCC 0 by construction; PCC undefined).
- `song_lookup`: no signal: per frame, the training listeners' mean trace of the test trial's
  song at that frame time (a song no training listener heard, as under song-disjoint folds,
  gets the mean trace of every training song at that frame time).
Experiment options: `split` (subject | song), `features` (all | music: the song's music
components only, "music only"), `causal` (TCN: overrides continuous.tcn.causal).
Every model is scored by RMSE, PCC and CCC over the test fold's concatenated frames, and by the
mean over test trials of each trial's own CCC (within-trial CCC: the trace's shape, not its
level).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.model_selection.splits import load_fold, read_splits
from edaffect.studies.continuous.frames import (
    FoldFrames,
    Frames,
    ccc,
    cut_windows,
    fold_frames,
    load_frames,
    regression_metrics,
    restore,
)
from edaffect.training.run_files import write_run_files

log = logging.getLogger(__name__)
MODELS = ("constant", "ridge", "tcn", "song_lookup")
OPTIONS = {"split": ("subject", "song"), "features": ("all", "music"), "causal": (True, False)}


@dataclass
class ContinuousSettings:
    """config.yaml `continuous` (the parts the per-fold fits read; defaults: the schema's)."""

    window_s: float
    hop_s: float
    music_components: int
    ridge_alphas: list[float]
    tcn: dict
    device: str
    threads: int
    frame_s: float = 0.5  # PMEmo's dynamic annotations: one frame every 0.5 s (data, not config)

    @classmethod
    def from_sections(cls, settings: dict, device: str, threads: int) -> ContinuousSettings:
        """From the fold runner's result settings ({"continuous.window_s": 8.0, ...})."""
        get = {k.split(".", 1)[1]: v for k, v in settings.items() if k.startswith("continuous.")}
        return cls(
            window_s=float(get["window_s"]), hop_s=float(get["hop_s"]),
            music_components=int(get["music_components"]),
            ridge_alphas=[float(a) for a in get.get("ridge_alphas", [1.0])],
            tcn=dict(get.get("tcn", {})), device=device, threads=threads,
        )

    @property
    def window(self) -> int:
        return max(1, round(self.window_s / self.frame_s))

    @property
    def hop(self) -> int:
        return max(1, round(self.hop_s / self.frame_s))


def experiment_name(model: str, split: str) -> str:
    """Run folder name: cont_{model}_{split} (split: subject | song)."""
    return f"cont_{model}_{split}"


# ------------------------------------------------------------------------------- the models


def _predict_constant(data: dict[str, FoldFrames], settings, seed):
    mean = float(data["train"].concat_y().mean())
    preds = {r: [np.full(len(y), mean) for y in data[r].y] for r in ("val", "test")}
    return preds, {"train_mean": mean}, {"train_mean": mean}


def _song(trial_id: str) -> str:
    return trial_id.split("_", 1)[1]


def _predict_song_lookup(data: dict[str, FoldFrames], settings: ContinuousSettings, seed: int):
    """Per frame: the training trials' mean trace of the same song at the same frame time;
    songs (or frame times) absent from training: every training song's mean at that time,
    else the training mean."""
    train = data["train"]
    step = settings.frame_s
    sums: dict[tuple, list[float]] = {}
    for tid, times, y in zip(train.trial_id, train.frame_time, train.y, strict=True):
        for key_song in (_song(tid), None):
            for t, v in zip(np.rint(np.asarray(times) / step).astype(int), y, strict=True):
                acc = sums.setdefault((key_song, int(t)), [0.0, 0])
                acc[0] += float(v)
                acc[1] += 1
    overall = float(train.concat_y().mean())
    fallback = {"trials": 0, "frames": 0}

    def lookup(tid: str, times: np.ndarray) -> np.ndarray:
        song, out, missed = _song(tid), [], 0
        for t in np.rint(np.asarray(times) / step).astype(int):
            acc = sums.get((song, int(t))) or sums.get((None, int(t)))
            missed += (song, int(t)) not in sums
            out.append(acc[0] / acc[1] if acc else overall)
        fallback["frames"] += missed
        fallback["trials"] += missed > 0
        return np.asarray(out)

    preds = {r: [lookup(t, ft) for t, ft in zip(data[r].trial_id, data[r].frame_time,
                                                   strict=True)] for r in ("val", "test")}
    info = {"n_train_songs": len({_song(t) for t in train.trial_id}),
            "lookup_fallback_trials": fallback["trials"],
            "lookup_fallback_frames": fallback["frames"]}
    return preds, info, {"train_mean": overall}


def _predict_ridge(data: dict[str, FoldFrames], settings, seed):
    from sklearn.linear_model import Ridge

    x_tr = np.vstack(data["train"].feat)
    y_tr = data["train"].concat_y()
    best = None
    for alpha in settings.ridge_alphas:
        model = Ridge(alpha=alpha).fit(x_tr, y_tr)
        val = model.predict(np.vstack(data["val"].feat))
        score = regression_metrics(data["val"].concat_y(), val)["ccc"]
        score = -np.inf if np.isnan(score) else score
        if best is None or score > best[0]:
            best = (score, alpha, model)
    _, alpha, model = best
    preds = {r: [model.predict(x) for x in data[r].feat] for r in ("val", "test")}
    state = {"alpha": alpha, "coef": model.coef_, "intercept": float(model.intercept_)}
    return preds, {"alpha": alpha, "n_features": int(x_tr.shape[1])}, state


def _windows(fold: FoldFrames, length: int, hop: int):
    """Stacked windows (k, L, C), targets (k, L), mask (k, L) and per-trial (starts, rows)."""
    xs, ys, ms, index = [], [], [], []
    k = 0
    for x, y in zip(fold.seq, fold.y, strict=True):
        wx, mask, starts = cut_windows(x, length, hop)
        wy, _, _ = cut_windows(y, length, hop)
        xs.append(wx)
        ys.append(wy)
        ms.append(mask)
        index.append((starts, slice(k, k + len(starts)), len(y)))
        k += len(starts)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ms), index


def _predict_tcn(data: dict[str, FoldFrames], settings: ContinuousSettings, seed: int):
    import torch

    from edaffect.models.tcn import TCN, ccc_loss
    from edaffect.training.trainer import resolve_device

    cfg = settings.tcn
    device = resolve_device(settings.device)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    L, H = settings.window, settings.hop
    x_tr, y_tr, m_tr, _ = _windows(data["train"], L, H)
    tensors = {}
    for role in ("val", "test"):
        x, _, _, index = _windows(data[role], L, H)
        tensors[role] = (torch.from_numpy(x).to(device), index)
    model = TCN(x_tr.shape[2], list(cfg["channels"]), int(cfg["kernel"]), float(cfg["dropout"]),
                bool(cfg["causal"])).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]),
                           weight_decay=float(cfg["weight_decay"]))
    xt, yt, mt = (torch.from_numpy(a).to(device) for a in (x_tr, y_tr, m_tr))

    def predict(role):
        model.eval()
        x, index = tensors[role]
        with torch.no_grad():
            out = model(x).float().cpu().numpy()
        return [restore(out[rows], starts, n) for starts, rows, n in index]

    y_val = data["val"].concat_y()
    curve, best = [], (-np.inf, 0, None)
    batch = int(cfg["batch_size"])
    for epoch in range(1, int(cfg["epochs"]) + 1):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x_tr))).to(device)
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            loss = ccc_loss(model(xt[idx]), yt[idx], mt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        score = regression_metrics(y_val, np.concatenate(predict("val")))["ccc"]
        score = -1.0 if np.isnan(score) else score
        curve.append(round(float(score), 5))
        if score > best[0]:
            best = (score, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    preds = {r: predict(r) for r in ("val", "test")}
    info = {
        "chosen_epoch": best[1], "val_curve": curve, "epochs": int(cfg["epochs"]),
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "receptive_field": model.receptive_field, "causal": bool(cfg["causal"]),
        "look_ahead_frames": min(model.look_ahead, L - 1), "device": device.type,
        "window_frames": L, "hop_frames": H, "n_train_windows": int(len(x_tr)),
    }
    state = {"state_dict": {k: v.cpu() for k, v in best[2].items()},
             "in_features": int(x_tr.shape[2]), "tcn": dict(cfg)}
    return preds, info, state


PREDICTORS = {"constant": _predict_constant, "ridge": _predict_ridge, "tcn": _predict_tcn,
              "song_lookup": _predict_song_lookup}


# ------------------------------------------------------------------------------- per fold


def within_trial_ccc(y: list[np.ndarray], pred: list[np.ndarray]) -> float:
    """Mean over trials of each trial's own CCC (trials whose CCC is undefined left out)."""
    values = [ccc(a, b) for a, b in zip(y, pred, strict=True)]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def music_only(data: dict[str, FoldFrames], k: int) -> dict[str, FoldFrames]:
    """Every role with only its last `k` input columns (the song's music components)."""
    if k <= 0:
        raise ValueError("features: music needs music: true and continuous.music_components > 0")
    return {r: FoldFrames(f.trial_id, f.subject, f.frame_time, [x[:, -k:] for x in f.seq],
                          [x[:, -k:] for x in f.feat], f.y) for r, f in data.items()}


def fit_fold(
    model: str, frames: Frames, fold: dict[str, list[str]], dimension: str,
    settings: ContinuousSettings, seed: int, music_csv: str | Path | None = None,
    features: str = "all",
) -> tuple[dict, pd.DataFrame, dict]:
    """Train `model` on one fold, choose on its validation role, score its test role once."""
    if model not in PREDICTORS:
        raise ValueError(f"unknown continuous model {model!r}; known: {MODELS}")
    data = fold_frames(frames, fold, dimension, music_csv, settings.music_components)
    if features == "music":
        data = music_only(data, settings.music_components if music_csv else 0)
    start = time.perf_counter()
    preds, info, state = PREDICTORS[model](data, settings, seed)
    seconds = time.perf_counter() - start
    test, val = data["test"], data["val"]
    y_test = test.concat_y()
    metrics = {
        "model": model, "dimension": dimension,
        **{f"test_{k}": v for k, v in
           regression_metrics(y_test, np.concatenate(preds["test"])).items()},
        "test_ccc_within": within_trial_ccc(test.y, preds["test"]),
        **{f"val_{k}": v for k, v in
           regression_metrics(val.concat_y(), np.concatenate(preds["val"])).items()},
        "features": features,
        "n_train": len(data["train"].trial_id), "n_val": len(val.trial_id),
        "n_test": len(test.trial_id), "n_train_frames": data["train"].n_frames,
        "n_test_frames": test.n_frames, "train_seconds": round(seconds, 3), "seed": seed,
        "test_songs": sorted({t.split("_", 1)[1] for t in test.trial_id}),
        **info,
    }
    predictions = pd.DataFrame({
        "trial_id": np.repeat(test.trial_id, [len(y) for y in test.y]),
        "subject": np.repeat(test.subject, [len(y) for y in test.y]),
        "frameTime": np.concatenate(test.frame_time),
        "y_true": y_test, "y_pred": np.concatenate(preds["test"]),
    })
    return metrics, predictions, state


def job_folds(job):
    """(fold, run directory (made), fold seed, train/val/test trial ids) of each fold of a
    fold-runner job of the continuous families (subject or song folds, fraction 1)."""
    from edaffect.training.trainer import fold_seed

    splits = read_splits(job.inputs["splits_csv"])
    for k, run_dir in zip(job.folds, job.run_dirs, strict=True):
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        seed = fold_seed(job.seed, job.experiment["name"], job.dataset, job.dimension, k)
        yield k, run_dir, seed, load_fold(splits, 1.0, k)


def train_folds(job) -> list[dict]:
    """Fold-runner trainer (families tcn, ridge, constant, song_lookup): every fold; writes
    metrics.json, predictions.csv (trial_id, subject, frameTime, y_true, y_pred) and model.pt
    (TCN state dict, ridge coefficients or the training mean) into each run directory."""
    settings = ContinuousSettings.from_sections(job.settings, job.device, job.threads)
    exp = job.experiment
    model = exp["model"]
    options = continuous_options(exp)
    if "causal" in options:
        settings.tcn = {**settings.tcn, "causal": options["causal"]}
    if model == "tcn":  # the baselines never import torch (~1-2 s of start-up per job)
        _threads(settings.threads)
    frames = load_frames(job.inputs["frames"])
    music = job.inputs.get("music_features_csv") if exp.get("music") else None
    out = []
    for k, run_dir, run_seed, roles in job_folds(job):
        metrics, predictions, state = fit_fold(
            model, frames, roles, job.dimension, settings, run_seed, music,
            options.get("features", "all"),
        )
        metrics = {"experiment": exp["name"], "dataset": job.dataset, "fold": k,
                   "split": split_of(exp), **metrics}
        # model.pt: the TCN's state dict for torch.load; the baselines' few numbers (training
        # mean, ridge coefficients) pickled, so they never import torch
        write_run_files(run_dir, metrics, predictions, {"model": model, "experiment": exp, **state},
                        model_format="torch" if "state_dict" in state else "pickle",
                        float_format="%.6g")
        log.info("%s %s fold %d: test CCC %.3f (val %.3f) in %.1f s", exp["name"], job.dimension,
                 k, metrics["test_ccc"], metrics["val_ccc"], metrics["train_seconds"])
        out.append(metrics)
    return out


def _threads(n: int) -> None:
    import torch

    from edaffect.training.runtime import set_deterministic

    torch.set_num_threads(max(1, int(n)))
    set_deterministic(True, warn_only=True)


def continuous_options(experiment: dict) -> dict:
    """The experiment's `options` (split, features, causal), checked against OPTIONS."""
    options = dict(experiment.get("options") or {})
    name = experiment.get("name")
    for key, value in options.items():
        if key not in OPTIONS:
            raise ValueError(f"experiment {name}: unknown option {key!r}; known: {list(OPTIONS)}")
        if value not in OPTIONS[key] or isinstance(value, bool) != (key == "causal"):
            raise ValueError(f"experiment {name}: options.{key} must be one of {OPTIONS[key]}, "
                             f"not {value!r}")
    if "causal" in options and experiment.get("model") != "tcn":
        raise ValueError(f"experiment {name}: options.causal is a TCN setting")
    if options.get("features") == "music" and not experiment.get("music"):
        raise ValueError(f"experiment {name}: options.features music needs music: true")
    return options


def split_of(experiment: dict) -> str:
    """'song' for song-disjoint folds (experiment `options: {split: song}`), else 'subject'
    (the study's folds, results/pmemo/splits.csv)."""
    return str(continuous_options(experiment).get("split", "subject"))


def fold_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """Stage files a continuous fit reads (DAG time, no heavy imports)."""
    if dataset != "pmemo":
        raise ValueError(
            f"experiment {experiment['name']}: continuous models need PMEmo's dynamic "
            f"annotations (asked for {dataset})"
        )
    split = split_of(experiment)
    inputs = {
        "frames": "results/pmemo/continuous/frames.npz",
        "splits_csv": "results/pmemo/splits.csv" if split == "subject"
        else "results/pmemo/continuous/splits_song.csv",
        "trials_csv": "results/pmemo/trials.csv",
    }
    if experiment.get("music"):
        inputs["music_features_csv"] = "results/pmemo/music_features.csv"
    return inputs


def _family(name: str, keys: tuple[str, ...], gpu: bool):
    from edaffect.training.fold_runner import ModelFamily

    return ModelFamily(name, fold_inputs, "edaffect.studies.continuous.fit:train_folds", keys,
                       gpu=gpu, mem_mb=2000, runtime_min=30)


_COMMON = ("continuous.window_s", "continuous.hop_s", "continuous.music_components")
TCN_FAMILY = _family("tcn", (*_COMMON, "continuous.tcn"), True)
RIDGE_FAMILY = _family("ridge", (*_COMMON, "continuous.ridge_alphas"), False)
CONSTANT_FAMILY = _family("constant", _COMMON, False)
SONG_LOOKUP_FAMILY = _family("song_lookup", _COMMON, False)
