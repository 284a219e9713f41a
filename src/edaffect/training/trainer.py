"""Per-fold training of the study's networks (paper §5.1) with validation-only model selection.

Protocol: weights initialised as `init` says (edaffect.models.initialise), cross-entropy on the
logits, SGD with momentum and weight decay, learning rate `lr` multiplied by `lr_decay` every
`lr_step_epochs` epochs, mini-batches of `batch_size`.  After every epoch the model is scored on the
validation fold; the epoch with the best validation balanced accuracy (ties: lower validation
loss, then the earlier epoch) is the model that is tested, and with `patience` > 0 a fold stops
that many epochs after its best one.  The test fold is scored once, after training.  A
checkpoint written every `checkpoint_every` epochs (none after the last) lets a killed job
resume; on CPU the resumed run ends with the same weights and metrics as an uninterrupted one
(shuffling is seeded per epoch).

Settings (config.yaml `training:`; an experiment may override `epochs`; docs/training-budget.md):
- epochs / lr / batch: the paper gives lr 0.001 and batch 256 but no epoch count (the original
  code: 100 epochs, batch 300).  The demo's folds hold 150-400 training trials, so the default is
  batch 32, lr 0.01, at most 12 epochs with early stopping: measured, the networks leave the ln 2
  plateau on every dataset; config/paper-scale.yaml runs the paper's and code's values.  The
  tested epoch and the stop are decided on validation data, so neither can leak.
- init: `code` (the original code's He-normal fan-out convolutions) by default; the paper's text
  "N(0, 0.01)" read as std 0.01 or 0.1 is `normal` (docs/initialisation.md).
- momentum 0.9 and no weight decay: the original code's (the paper names SGD only).
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import hashlib
import json
import logging
import math
import shutil
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from edaffect.model_selection.fold_data import FoldData, load_fold_data
from edaffect.model_selection.metrics import binary_metrics
from edaffect.models import build_model, count_parameters, initialise
from edaffect.training.paths import loader_inputs
from edaffect.training.run_files import run_folder, torch_save, write_run_files
from edaffect.training.runtime import set_deterministic
from edaffect.training.sgd import MomentumSGD, step_lr

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "last.pt"
EVAL_BATCH = 1024


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
    patience: int  # early stopping after this many epochs without improvement; 0: off
    min_steps: int  # at least this many SGD steps per fold (small folds: more epochs); 0: off
    init: str  # code | normal | pytorch (edaffect.models.initialise)
    init_std: float  # std of init normal
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

    def for_training_set(self, n_train: int) -> TrainingSettings:
        """These settings for a fold of `n_train` training samples: when `epochs` would give fewer
        than `min_steps` SGD steps, epochs, patience and the lr step interval are multiplied by
        the same whole factor (the schedule per step is kept), so a 36-trial fold is not stopped
        after 24 steps while a 300-trial fold trains as configured."""
        full, rest = divmod(int(n_train), int(self.batch_size))
        per_epoch = max(1, full + (rest > 1))  # the loop skips a last batch of one sample
        if not self.min_steps or per_epoch * self.epochs >= self.min_steps:
            return self
        factor = math.ceil(self.min_steps / (per_epoch * self.epochs))
        return replace(self, epochs=self.epochs * factor, patience=self.patience * factor,
                       lr_step_epochs=self.lr_step_epochs * factor)


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


def stopped(state: dict, patience: int) -> bool:
    """Early stopping: `patience` > 0 epochs have passed without a better validation key."""
    return bool(patience) and state["epoch"] - state["best_epoch"] >= int(patience)


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
    settings = settings.for_training_set(len(train))
    device = resolve_device(settings.device)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(max(1, int(settings.threads)))
    set_deterministic(device.type == "cpu" or deterministic)
    try:
        return _train_and_test(model_factory, train, val, test, settings, checkpoint_dir, device)
    finally:  # process-wide switches go back to what the caller had
        torch.set_num_threads(threads)
        set_deterministic(deterministic)


def _train_and_test(model_factory, train, val, test, settings, checkpoint_dir, device):
    amp = bool(settings.amp) and device.type == "cuda"
    torch.manual_seed(settings.seed)
    model = model_factory()
    initialise(model, settings.init, settings.init_std)
    model.to(device)
    optimizer = MomentumSGD(
        model.parameters(), lr=settings.lr, momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
    lrs = step_lr(settings.lr, settings.lr_step_epochs, settings.lr_decay, settings.epochs)
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
        if stopped(state, settings.patience):
            break
        started = time.perf_counter()
        optimizer.lr = lrs[epoch - 1]
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
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
            seen += len(idx)
        train_loss = float(total) / max(1, seen)
        val_loss, p_val = _evaluate(model, x_va, y_va, m_va, device, amp)
        scores = binary_metrics(val.y, (p_val >= 0.5).astype(int))
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"epoch {epoch}: training loss is {train_loss}")
        # balanced accuracy: a model that predicts one class scores 0.5 whatever the label
        # balance of the validation subjects, so it never beats one that separates them
        key = (scores["balanced_accuracy"], -val_loss)
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
            ("lr", optimizer.lr),
        ):
            state[name].append(float(value))
        log.info(
            "epoch %d/%d train loss %.4f val loss %.4f val acc %.3f (%.2f s)", epoch,
            settings.epochs, train_loss, val_loss, scores["accuracy"], elapsed,
        )
        # no save after the last epoch: the caller writes the results and drops the checkpoint
        if ckpt_path is not None and epoch % settings.checkpoint_every == 0 and (
            epoch < settings.epochs
        ):
            ckpt_path.parent.mkdir(parents=True, exist_ok=True)
            torch_save(
                {
                    "fingerprint": fingerprint, "model": _cpu_state(model),
                    "optimizer": optimizer.state_dict(),
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
            "epochs_run": int(state["epoch"]),
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
    model_extra: dict | None = None,
) -> dict:
    """One fold of the rtcan1d / cnn3 families: load it, train, choose on validation, test once,
    and write metrics.json, predictions.csv and model.pt (checkpoints live beside them until
    done).  `model_extra`: more entries for model.pt (the "inference" metadata of predict)."""
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
    write_run_files(run_folder(metrics_json, predictions_csv, model_pt), metrics,
                    result.predictions, {"state_dict": result.state_dict, **spec,
                                         **(model_extra or {})})
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    log.info("test accuracy %.3f f1 %.3f (epoch %d chosen on validation)", metrics["accuracy"],
             metrics["f1"], metrics["chosen_epoch"])
    return metrics


def train_folds(job) -> list[dict]:
    """Fold-runner trainer of the rtcan1d and cnn3 families
    (`edaffect.training.fold_runner.FoldJob`):
    `run_fold` for each fold of the job, one after the other (stage tables read once); each
    model.pt carries what `edaffect predict` needs
    (`edaffect.training.inference_metadata.job_inference`)."""
    from edaffect.training.inference_metadata import job_inference

    return [
        run_fold(
            job.experiment, job.dataset, job.dimension, fold, inputs=loader_inputs(job.inputs),
            training=job.training(), seed=job.seed, threads=job.threads,
            metrics_json=Path(run_dir) / "metrics.json",
            predictions_csv=Path(run_dir) / "predictions.csv",
            model_pt=Path(run_dir) / "model.pt", model_extra=job_inference(job, fold),
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
