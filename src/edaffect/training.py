"""Per-fold training of the study's networks (paper §5.1) with validation-only model selection.

Protocol: weights ~ N(0, init_std) (biases 0), cross-entropy on the logits, SGD with momentum and
weight decay, learning rate `lr` multiplied by `lr_decay` every `lr_step_epochs` epochs, mini-
batches of `batch_size`.  After every epoch the model is scored on the validation fold; the epoch
with the best validation accuracy (ties: lower validation loss, then the earlier epoch) is the
model that is tested.  The test fold is scored once, after training.  A checkpoint written every
`checkpoint_every` epochs lets a killed job resume; on CPU the resumed run ends with the same
weights and metrics as an uninterrupted one (shuffling is seeded per epoch, states are saved).

Settings (config.yaml `training:`; an experiment may override `epochs`):
- epochs: the paper gives no count.  The default study runs `training.epochs` (config/schema.yaml
  default): with batch 32 the demo's folds
  of 150-400 training trials get 50-130 SGD steps, enough to leave the starting plateau on a
  planted effect, and ~640 fold trainings on 2 cores stay CPU-bound at a few seconds each;
  config/paper-scale.yaml runs 100 (about 2,500 SGD steps per PMEmo fold at batch 256).  The tested
  epoch is chosen on validation data, so more epochs cost time but cannot leak.
- init_std: the paper's N(0, 0.01), read as N(mean, variance), i.e. std 0.1.  With std 0.01 the
  three stacked small linear layers of the classifier start on a plateau that SGD at lr 0.001
  needs hundreds of steps to leave (measured), longer than the demo trains.
- momentum 0.9 and weight decay 5e-4: the usual SGD values for ResNets; the paper names SGD only.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import functools
import hashlib
import json
import logging
import math
import os
import shutil
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from edaffect import atomic
from edaffect.evaluation import binary_metrics
from edaffect.models import build_model, count_parameters, init_normal

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "last.pt"
EVAL_BATCH = 1024
CHANNEL_INPUTS = {"eda": None, "origin": 0, "phasic": 1, "tonic": 2}


@dataclass
class FoldData:
    """One role (train, val or test) of one fold: inputs, labels and trial identities."""

    x: np.ndarray  # (n, C, L) float32 signals or (n, F) float32 features
    y: np.ndarray  # (n,) int64 in {0, 1}
    trial_id: list[str]
    subject: list[str]
    music: np.ndarray | None = None  # (n, M) float32 (already z-scored) or None

    def __post_init__(self) -> None:
        self.x = np.ascontiguousarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y).astype(np.int64).ravel()
        self.trial_id = [str(t) for t in self.trial_id]
        self.subject = [str(s) for s in self.subject]
        n = len(self.y)
        sizes = {"x": len(self.x), "trial_id": len(self.trial_id), "subject": len(self.subject)}
        if self.music is not None:
            self.music = np.ascontiguousarray(self.music, dtype=np.float32)
            sizes["music"] = len(self.music)
        wrong = {k: v for k, v in sizes.items() if v != n}
        if wrong:
            raise ValueError(f"FoldData: {n} labels but {wrong}")
        if n and not set(np.unique(self.y).tolist()) <= {0, 1}:
            raise ValueError(f"FoldData: labels must be 0/1, got {sorted(np.unique(self.y))}")
        if not np.isfinite(self.x).all():
            rows = np.where(~np.isfinite(self.x).reshape(n, -1).all(1))[0]
            bad = [self.trial_id[i] for i in rows]
            raise ValueError(f"FoldData: non-finite inputs in trials {bad[:5]}")

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class TrainingSettings:
    """Optimisation settings of one fold training (config.yaml `training:`; the defaults live
    in config/schema.yaml only, so every field is given)."""

    epochs: int
    batch_size: int
    lr: float
    lr_decay: float
    lr_step_epochs: int
    momentum: float
    weight_decay: float
    init_std: float | None  # None: keep the model's own initialisation
    device: str  # auto | cpu | cuda
    amp: bool  # bfloat16 autocast on CUDA
    threads: int
    checkpoint_every: int
    seed: int

    @classmethod
    def from_config(
        cls, training: dict, experiment: dict | None = None, *, seed: int, threads: int
    ) -> TrainingSettings:
        """Settings from config["training"] (rule-only keys such as `gpu` are ignored), with the
        experiment's own `epochs` taking precedence."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in training.items() if k in known}
        if experiment and "epochs" in experiment:
            values["epochs"] = experiment["epochs"]
        values["seed"] = int(seed)
        values["threads"] = int(threads)
        missing = known - set(values)
        if missing:
            raise ValueError(f"config training: missing setting(s) {sorted(missing)}")
        return cls(**values)


@dataclass
class FoldResult:
    metrics: dict
    predictions: pd.DataFrame
    state_dict: dict = field(repr=False)


def fold_seed(base: int, *parts: object) -> int:
    """A stable per-run seed from the config seed and the run's names (same on every machine)."""
    text = "/".join(str(p) for p in (base, *parts))
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


def tune_malloc() -> bool:
    """Keep freed memory in the glibc heap instead of returning it to the system after every
    batch (no trimming, 1 GiB top pad, largest mmap threshold): up to 2.4x faster CPU training
    on this machine kind.  Same effect as the MALLOC_* environment variables; no-op elsewhere."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    ok = mallopt(m_trim_threshold, 2**31 - 1)
    ok &= mallopt(m_top_pad, 2**30)
    ok &= mallopt(m_mmap_threshold, 32 * 2**20)
    return bool(ok)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device is 'cuda' but PyTorch sees no CUDA device")
    return torch.device(name)


def _fingerprint(
    settings: TrainingSettings, model: nn.Module, train: FoldData, val: FoldData
) -> str:
    """What a checkpoint must match to be resumed: optimisation settings, model, data."""
    keep = {
        k: v
        for k, v in asdict(settings).items()
        if k not in ("epochs", "device", "threads", "checkpoint_every", "amp")
    }
    digest = hashlib.sha256(json.dumps(keep, sort_keys=True).encode())
    digest.update(type(model).__name__.encode())
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}:{tuple(tensor.shape)}".encode())
    for data in (train, val):
        digest.update("|".join(data.trial_id).encode())
        digest.update(data.y.tobytes())
        digest.update(data.x.tobytes())
    return digest.hexdigest()


def _tensors(data: FoldData, device: torch.device) -> tuple[torch.Tensor, ...]:
    music = torch.from_numpy(data.music).to(device) if data.music is not None else None
    return torch.from_numpy(data.x).to(device), torch.from_numpy(data.y).to(device), music


def _evaluate(model, x, y, music, device, amp) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and P(high) of a whole set, in eval mode, in batches."""
    model.eval()
    losses, probs = [], []
    with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=amp):
        for start in range(0, len(y), EVAL_BATCH):
            sl = slice(start, start + EVAL_BATCH)
            logits = model(x[sl], None if music is None else music[sl]).float()
            losses.append(nn.functional.cross_entropy(logits, y[sl], reduction="sum"))
            probs.append(torch.softmax(logits, dim=1)[:, 1])
    loss = float(torch.stack(losses).sum()) / max(1, len(y))
    return loss, torch.cat(probs).cpu().numpy()


def _cpu_state(model: nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_and_test(
    model_factory: Callable[[], nn.Module],
    train: FoldData,
    val: FoldData,
    test: FoldData,
    settings: TrainingSettings,
    checkpoint_dir: str | Path | None,
) -> FoldResult:
    """Train on `train`, choose the epoch on `val` only, score `test` once at the end.

    Resumes from `checkpoint_dir/last.pt` when it holds a checkpoint of the same run (same
    settings, model and data); a stale or foreign checkpoint is ignored.
    """
    for role, data in (("train", train), ("val", val), ("test", test)):
        if len(data) == 0:
            raise ValueError(f"train_and_test: the {role} set is empty")
    if len(train) < 2:
        raise ValueError("train_and_test: batch norm needs at least 2 training samples")
    device = resolve_device(settings.device)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(max(1, int(settings.threads)))
    torch.use_deterministic_algorithms(device.type == "cpu" or deterministic)
    try:
        return _train_and_test(model_factory, train, val, test, settings, checkpoint_dir, device)
    finally:  # process-wide switches go back to what the caller had
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _train_and_test(model_factory, train, val, test, settings, checkpoint_dir, device):
    amp = bool(settings.amp) and device.type == "cuda"
    torch.manual_seed(settings.seed)
    model = model_factory()
    if settings.init_std is not None:
        init_normal(model, float(settings.init_std))
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=settings.lr, momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=settings.lr_step_epochs, gamma=settings.lr_decay
    )
    fingerprint = _fingerprint(settings, model, train, val)
    state = {
        "epoch": 0, "best_epoch": 0, "best_key": None, "best_state": None,
        "val_accuracy": [], "val_f1": [], "val_loss": [], "train_loss": [], "lr": [],
        "seconds": 0.0, "epoch_seconds": [],
    }
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    resumed_from = 0
    if ckpt_path is not None and ckpt_path.exists():
        saved = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if saved.get("fingerprint") == fingerprint and saved["state"]["epoch"] <= settings.epochs:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            torch.set_rng_state(saved["torch_rng"])
            state = saved["state"]
            resumed_from = state["epoch"]
            log.info("resuming from %s after epoch %d", ckpt_path, resumed_from)
        else:
            log.warning("ignoring checkpoint %s: it belongs to another run", ckpt_path)

    x_tr, y_tr, m_tr = _tensors(train, device)
    x_va, y_va, m_va = _tensors(val, device)
    n = len(train)
    for epoch in range(state["epoch"] + 1, settings.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(
            settings.seed * 100_003 + epoch)).to(device)
        total, seen = torch.zeros((), device=device), 0
        for start in range(0, n, settings.batch_size):
            idx = order[start:start + settings.batch_size]
            if len(idx) < 2:  # batch norm cannot train on a single sample
                continue
            with torch.autocast(device.type, torch.bfloat16, enabled=amp):
                logits = model(x_tr[idx], None if m_tr is None else m_tr[idx])
            loss = nn.functional.cross_entropy(logits.float(), y_tr[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
            seen += len(idx)
        scheduler.step()
        train_loss = float(total) / max(1, seen)
        val_loss, p_val = _evaluate(model, x_va, y_va, m_va, device, amp)
        scores = binary_metrics(val.y, (p_val >= 0.5).astype(int))
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"epoch {epoch}: training loss is {train_loss}")
        key = (scores["accuracy"], -val_loss)
        if state["best_key"] is None or key > tuple(state["best_key"]):
            state["best_key"], state["best_epoch"] = list(key), epoch
            state["best_state"] = _cpu_state(model)
        elapsed = time.perf_counter() - started
        state["epoch"] = epoch
        state["seconds"] += elapsed
        state["epoch_seconds"].append(elapsed)
        for name, value in (
            ("val_accuracy", scores["accuracy"]), ("val_f1", scores["f1"]),
            ("val_loss", val_loss), ("train_loss", train_loss),
            ("lr", optimizer.param_groups[0]["lr"]),
        ):
            state[name].append(float(value))
        log.info(
            "epoch %d/%d train loss %.4f val loss %.4f val acc %.3f (%.2f s)", epoch,
            settings.epochs, train_loss, val_loss, scores["accuracy"], elapsed,
        )
        if ckpt_path is not None and (
            epoch % settings.checkpoint_every == 0 or epoch == settings.epochs
        ):
            ckpt_path.parent.mkdir(parents=True, exist_ok=True)
            _save_atomic(
                {
                    "fingerprint": fingerprint, "model": _cpu_state(model),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(), "state": state,
                },
                ckpt_path,
            )

    # The test fold is touched here, once, with the validation-chosen weights.
    model.load_state_dict(state["best_state"])
    x_te, y_te, m_te = _tensors(test, device)
    test_loss, p_test = _evaluate(model, x_te, y_te, m_te, device, amp)
    y_pred = (p_test >= 0.5).astype(int)
    metrics = binary_metrics(test.y, y_pred)
    epoch_seconds = state["epoch_seconds"]
    metrics.update(
        {
            "test_loss": test_loss,
            "n_train": len(train), "n_val": len(val), "n_test": len(test),
            "chosen_epoch": int(state["best_epoch"]), "epochs": int(settings.epochs),
            "val_curve": state["val_accuracy"], "val_f1_curve": state["val_f1"],
            "val_loss_curve": state["val_loss"], "train_loss_curve": state["train_loss"],
            "n_parameters": count_parameters(model),
            "train_seconds": round(state["seconds"], 3),
            "seconds_per_epoch": round(float(np.mean(epoch_seconds)), 4) if epoch_seconds else 0.0,
            "device": device.type, "amp": amp, "seed": int(settings.seed),
            "resumed_from_epoch": resumed_from,
        }
    )
    predictions = pd.DataFrame(
        {"trial_id": test.trial_id, "subject": test.subject, "y_true": test.y,
         "y_pred": y_pred, "p_high": p_test.astype(float)}
    )
    return FoldResult(metrics, predictions, copy.deepcopy(state["best_state"]))


# --------------------------------------------------------------------------------------------
# Loading one fold from the workflow's files


def _read_labels(path: str | Path, dimension: str) -> pd.DataFrame:
    labels = pd.read_csv(path, dtype={"trial_id": str, "subject": str})
    column = f"{dimension}_label"
    missing = {"trial_id", "subject", column} - set(labels.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    if labels["trial_id"].duplicated().any():
        dup = labels.loc[labels["trial_id"].duplicated(), "trial_id"].tolist()[:5]
        raise ValueError(f"{path}: duplicated trial_id {dup}")
    return labels.set_index("trial_id")


def _zscore(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Standardise with the training rows' mean and std (constant columns -> 0; NaN -> the
    training mean, i.e. 0)."""
    mean = np.nanmean(train, axis=0)
    std = np.nanstd(train, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    out = []
    for block in (train, *others):
        z = (block - mean) / std
        out.append(np.where(np.isfinite(z), z, 0.0).astype(np.float32))
    return out


@functools.lru_cache(maxsize=16)
def _read_table(path: str, mtime_ns: int, key: str) -> pd.DataFrame:
    """A stage CSV indexed by `key`, read once per process and file version: packed jobs
    load every fold from the same files (the 6,373-column music table dominates)."""
    return pd.read_csv(path, dtype={key: str, "subject": str}).set_index(key)


def _table(path: str | Path, key: str) -> pd.DataFrame:
    return _read_table(str(path), Path(path).stat().st_mtime_ns, key)


@functools.lru_cache(maxsize=4)
def _read_splits_once(path: str, mtime_ns: int) -> pd.DataFrame:
    from edaffect.splits import read_splits

    return read_splits(path)


def load_fold_data(
    experiment: dict,
    dimension: str,
    fold: int,
    *,
    splits_csv: str | Path,
    labels_csv: str | Path,
    inputs_npy: str | Path | None = None,
    inputs_index_csv: str | Path | None = None,
    eda_features_csv: str | Path | None = None,
    music_features_csv: str | Path | None = None,
) -> tuple[FoldData, FoldData, FoldData, dict]:
    """Train/val/test FoldData of one fold plus facts for the model (in_channels,
    input_length, music_dim, skipped trials).  Feature and music columns are z-scored with
    training-fold statistics only."""
    from edaffect.splits import load_fold

    splits = _read_splits_once(str(splits_csv), Path(splits_csv).stat().st_mtime_ns)
    roles = load_fold(splits, experiment["fraction"], fold)
    stimulus = splits.drop_duplicates("trial_id").set_index("trial_id")["stimulus"].astype(str)
    labels = _read_labels(labels_csv, dimension)
    column = f"{dimension}_label"

    source = experiment["input"]
    if experiment.get("model") == "cnn3" or source == "eda_features":
        if eda_features_csv is None:
            raise ValueError(f"experiment {experiment.get('name')}: needs eda_features.csv")
        table = _table(eda_features_csv, "trial_id")
        rows = {t: i for i, t in enumerate(table.index)}
        values = table.to_numpy(dtype=np.float64)
        origin = str(eda_features_csv)
    elif source in CHANNEL_INPUTS:
        if inputs_npy is None or inputs_index_csv is None:
            raise ValueError(f"experiment {experiment.get('name')}: needs inputs.npy + index")
        index = pd.read_csv(inputs_index_csv, dtype={"trial_id": str})
        values = np.load(inputs_npy, mmap_mode="r")
        if values.ndim != 3 or len(values) != len(index):
            raise ValueError(
                f"{inputs_npy}: shape {values.shape} does not match {len(index)} rows of "
                f"{inputs_index_csv} (expected (n, 3, L))"
            )
        rows = dict(zip(index["trial_id"], index["row"].astype(int), strict=True))
        channel = CHANNEL_INPUTS[source]
        if channel is not None:
            values = values[:, channel : channel + 1]
        origin = str(inputs_npy)
    else:
        raise ValueError(f"experiment {experiment.get('name')}: input {source!r} is not for "
                         f"{experiment.get('model')}")

    parts, skipped = {}, []
    for role in ("train", "val", "test"):
        ids = [t for t in roles[role] if t in rows]
        skipped += [t for t in roles[role] if t not in rows]
        unlabelled = [t for t in ids if t not in labels.index]
        if unlabelled:
            raise ValueError(
                f"{labels_csv}: no label for fold {fold} {role} trials {unlabelled[:5]}"
            )
        y = labels.loc[ids, column]
        if y.isna().any():
            empty = y[y.isna()].index[:5].tolist()
            raise ValueError(f"{labels_csv}: {column} is empty for trials {empty}")
        x = np.asarray(values[[rows[t] for t in ids]], dtype=np.float64)
        parts[role] = (ids, x, y.to_numpy().astype(np.int64), labels.loc[ids, "subject"].tolist())
    if skipped:
        log.warning("%d fold trials have no row in %s (excluded upstream): %s", len(skipped),
                    origin, skipped[:10])

    xs = [parts[r][1] for r in ("train", "val", "test")]
    if xs[0].ndim == 2:  # hand-crafted features: training-fold scaler
        xs = _zscore(*xs)
    musics: list[np.ndarray | None] = [None, None, None]
    if experiment.get("music") and music_features_csv is None:
        log.info("experiment %s fuses music, but this dataset has none: EDA only (RTCAG)",
                 experiment.get("name"))
    if experiment.get("music") and music_features_csv is not None:
        table = _table(music_features_csv, "stimulus")
        blocks = []
        for role in ("train", "val", "test"):
            songs = stimulus.reindex(parts[role][0])
            lost = [t for t, s in songs.items() if s not in table.index]
            if lost:
                raise ValueError(
                    f"{music_features_csv}: no features for the songs of trials {lost[:5]} "
                    f"(stimulus {[songs[t] for t in lost[:5]]})"
                )
            blocks.append(table.loc[songs.to_numpy()].to_numpy(dtype=np.float64))
        musics = _zscore(*blocks)
    data = [
        FoldData(x, parts[r][2], parts[r][0], parts[r][3], m)
        for r, x, m in zip(("train", "val", "test"), xs, musics, strict=True)
    ]
    info = {
        "in_channels": 1 if xs[0].ndim == 2 else int(xs[0].shape[1]),
        "input_length": int(xs[0].shape[-1]),
        "music_dim": 0 if musics[0] is None else int(musics[0].shape[1]),
        "n_skipped_no_input": len(skipped),
    }
    return data[0], data[1], data[2], info


def run_fold(
    experiment: dict,
    dataset: str,
    dimension: str,
    fold: int,
    *,
    inputs: dict,
    training: dict,
    seed: int,
    threads: int,
    metrics_json: str | Path,
    predictions_csv: str | Path,
    model_pt: str | Path,
) -> dict:
    """One fold of the rtcan1d / cnn3 families: load it, train, choose on validation, test once,
    and write metrics.json, predictions.csv and model.pt (checkpoints live beside them until
    done)."""
    tune_malloc()
    train, val, test, info = load_fold_data(experiment, dimension, fold, **inputs)
    settings = TrainingSettings.from_config(
        training, experiment,
        seed=fold_seed(seed, experiment["name"], dataset, dimension, fold), threads=threads,
    )
    spec = {
        "experiment": experiment, "in_channels": info["in_channels"],
        "input_length": info["input_length"], "music_dim": info["music_dim"],
    }
    log.info("%s %s %s fold %d: %d/%d/%d trials, %s", experiment["name"], dataset, dimension,
             fold, len(train), len(val), len(test), settings)
    checkpoint_dir = Path(metrics_json).parent / "checkpoint"
    result = train_and_test(lambda: build_model(**spec), train, val, test, settings, checkpoint_dir)
    metrics = {
        "experiment": experiment["name"], "dataset": dataset, "dimension": dimension,
        "fold": int(fold), "model": experiment["model"], **result.metrics,
        "n_skipped_no_input": info["n_skipped_no_input"], "music_dim": info["music_dim"],
    }
    for path in (metrics_json, predictions_csv, model_pt):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic.torch_save({"state_dict": result.state_dict, **spec}, model_pt)
    atomic.to_csv(result.predictions, predictions_csv, index=False)
    atomic.write_text(metrics_json, json.dumps(metrics, indent=1) + "\n")
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    log.info("test accuracy %.3f f1 %.3f (epoch %d chosen on validation)", metrics["accuracy"],
             metrics["f1"], metrics["chosen_epoch"])
    return metrics


def train_folds(job) -> list[dict]:
    """Fold-runner trainer of the rtcan1d and cnn3 families (`edaffect.fold_runner.FoldJob`):
    `run_fold` for each fold of the job, one after the other (stage tables read once)."""
    return [
        run_fold(
            job.experiment, job.dataset, job.dimension, fold, inputs=job.inputs,
            training=job.training(), seed=job.seed, threads=job.threads,
            metrics_json=Path(run_dir) / "metrics.json",
            predictions_csv=Path(run_dir) / "predictions.csv",
            model_pt=Path(run_dir) / "model.pt",
        )
        for fold, run_dir in zip(job.folds, job.run_dirs, strict=True)
    ]


def load_trained(model_pt: str | Path) -> nn.Module:
    """Rebuild a trained network from model.pt (eval mode, CPU)."""
    saved = torch.load(model_pt, map_location="cpu", weights_only=False)
    model = build_model(
        saved["experiment"], saved["in_channels"], saved["input_length"], saved["music_dim"]
    )
    model.load_state_dict(saved["state_dict"])
    return model.eval()
