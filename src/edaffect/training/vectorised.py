"""Fold-vectorised training: the k fold models of one (experiment, dataset, dimension) trained as
one batched model on one device (torch.func.stack_module_state + vmap(functional_call)).

Same protocol as the sequential `edaffect.training.trainer.train_and_test`, fold by fold: per-fold
seed
(initial weights), per-fold data and per-epoch shuffling, SGD with momentum and weight decay, the
StepLR schedule, batch norm statistics (each fold has its own stacked running mean/var),
validation-only epoch choice (ties: lower validation loss, then earlier epoch), one test pass.
Folds of different sizes have different batch counts and last-batch sizes: at every SGD step the
folds that have a batch of the same size are vmapped together and the others do not move, so a
fold sees exactly the batches it would see alone.  Checkpoints are written per fold in the
sequential format (fold*/checkpoint/last.pt), so a killed job resumes in either mode.

Agreement with sequential training is up to floating-point summation order (vmap turns k
convolutions into one grouped convolution): states agree to ~4e-7 after 5 epochs on CPU,
chosen epochs and thresholded test predictions agree (tests/training/test_vectorised_training.py).
Models with dropout would draw different random masks than alone (vmap randomness="different").
bfloat16 (`training.amp` on CUDA) is cast by hand (see FoldStack.forward): torch.autocast does not
reach convolutions inside vmap.  Wiring: `train_folds(job)` is the fold runner's
`ModelFamily.train_vectorised` for the rtcan1d and cnn3 families (training.fold_mode: vectorised).
"""

from __future__ import annotations

import copy
import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from edaffect.model_selection.fold_data import FoldData, load_fold_data
from edaffect.model_selection.metrics import binary_metrics
from edaffect.models import build_model, count_parameters, initialise
from edaffect.training.fold_stack import FoldStack
from edaffect.training.paths import loader_inputs
from edaffect.training.run_files import run_folder, torch_save, write_run_files
from edaffect.training.runtime import set_deterministic
from edaffect.training.sgd import sgd_state_dict, step_lr
from edaffect.training.trainer import (
    CHECKPOINT_NAME,
    EVAL_BATCH,
    FoldResult,
    TrainingSettings,
    _evaluate,
    _fingerprint,
    _tensors,
    fold_seed,
    resolve_device,
    stopped,
    tune_malloc,
)

log = logging.getLogger(__name__)

Split = tuple[FoldData, FoldData, FoldData]


def lr_schedule(settings: TrainingSettings) -> list[float]:
    """lr used in epoch e (index e-1) and after epoch e's scheduler step (index e), with the same
    StepLR floats as the sequential trainer (repeated multiplication, not a closed form)."""
    return step_lr(settings.lr, settings.lr_step_epochs, settings.lr_decay, settings.epochs)


def _new_state() -> dict:
    return {
        "epoch": 0, "best_epoch": 0, "best_key": None, "best_state": None,
        "val_accuracy": [], "val_f1": [], "val_loss": [], "train_loss": [], "lr": [],
        "seconds": 0.0, "epoch_seconds": [],
    }


def _checkpoint_payload(stack: FoldStack, f: int, fingerprint: str, state: dict,
                        settings: TrainingSettings) -> dict:
    """Fold f's checkpoint in the sequential trainer's format (model and optimizer dicts; the
    stack's parameters are in the model's `named_parameters` order)."""
    buffers = [m[f].detach().to("cpu", copy=True) for m in stack.momentum.values()]
    optimizer = sgd_state_dict(buffers, lr_schedule(settings)[state["epoch"]],
                               settings.momentum, settings.weight_decay)
    return {"fingerprint": fingerprint, "model": stack.fold_state(f), "optimizer": optimizer,
            "torch_rng": torch.get_rng_state(), "state": state}


def _read_checkpoint(path: Path, fingerprint: str, settings: TrainingSettings,
                     param_names: list[str]):
    """(model state, momentum by name, state) of a matching checkpoint, else None."""
    if not path.exists():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if saved.get("fingerprint") != fingerprint or saved["state"]["epoch"] > settings.epochs:
        log.warning("ignoring checkpoint %s: it belongs to another run", path)
        return None
    opt_state = saved["optimizer"]["state"]
    momentum = {n: opt_state[i]["momentum_buffer"] for i, n in enumerate(param_names)
                if i in opt_state and opt_state[i].get("momentum_buffer") is not None}
    return saved["model"], momentum, saved["state"]


def _gather(tensors: Sequence[torch.Tensor | None], index: Sequence[torch.Tensor]):
    if tensors[0] is None:
        return None
    return torch.stack([t[i] for t, i in zip(tensors, index, strict=True)])


def _evaluate_folds(stack: FoldStack, rows: list[int], sets, device, amp):
    """Mean cross-entropy and P(high) per fold on its own set (eval mode, zero-padded to the
    longest set: in eval mode batch norm uses running statistics, so padding changes nothing)."""
    n_max = max(len(sets[f][1]) for f in rows)
    idx = torch.tensor(rows, device=device)
    params = {n: p.detach().index_select(0, idx) for n, p in stack.params.items()}
    buffers = {n: b.index_select(0, idx) for n, b in stack.buffers.items()}
    losses = torch.zeros(len(rows), device=device, dtype=torch.float64)
    probs = [[] for _ in rows]
    chunk = max(1, EVAL_BATCH // len(rows))  # EVAL_BATCH samples per pass, as one model alone
    with torch.no_grad():
        for start in range(0, n_max, chunk):
            stop = min(n_max, start + chunk)
            xs, ms = [], []
            for f in rows:
                x, _, m = sets[f]
                pad = stop - start - len(x[start:stop])
                xs.append(nn.functional.pad(x[start:stop], (0, 0) * (x.dim() - 1) + (0, pad)))
                if m is not None:
                    ms.append(nn.functional.pad(m[start:stop], (0, 0, 0, pad)))
            logits = stack.forward(params, buffers, torch.stack(xs),
                                   torch.stack(ms) if ms else None, train=False, amp=amp).float()
            for j, f in enumerate(rows):
                y = sets[f][1][start:stop]
                if len(y):
                    lg = logits[j, : len(y)]
                    losses[j] += nn.functional.cross_entropy(lg, y, reduction="sum").double()
                    probs[j].append(torch.softmax(lg, dim=1)[:, 1])
    out = []
    for j, f in enumerate(rows):
        n = len(sets[f][1])
        out.append((float(losses[j]) / max(1, n), torch.cat(probs[j]).cpu().numpy()))
    return out


def train_and_test_folds(
    model_factory: Callable[[], nn.Module],
    splits: Sequence[Split],
    settings: Sequence[TrainingSettings],
    checkpoint_dirs: Sequence[str | Path | None],
    monitor: Sequence[FoldData] | None = None,
) -> list[FoldResult]:
    """`training.train_and_test` for k folds at once (settings may differ in `seed` only).
    `monitor`: one set per fold scored after every epoch, never used for the epoch choice
    (metrics `monitor_curve`: its accuracy per epoch)."""
    if not splits:
        return []
    if not len(splits) == len(settings) == len(checkpoint_dirs):
        raise ValueError("train_and_test_folds: one settings and checkpoint dir per fold")
    base = {k: v for k, v in vars(settings[0]).items() if k != "seed"}
    for s in settings[1:]:
        if {k: v for k, v in vars(s).items() if k != "seed"} != base:
            raise ValueError("vectorised folds must share every training setting but the seed")
    # a fold too small for `min_steps` trains longer (as the sequential trainer): folds whose
    # budgets then differ train as separate stacks, in the caller's order
    settings = [s.for_training_set(len(tr)) for s, (tr, _, _) in zip(settings, splits, strict=True)]
    groups: dict[tuple, list[int]] = {}
    for f, s in enumerate(settings):
        groups.setdefault((s.epochs, s.patience, s.lr_step_epochs), []).append(f)
    if len(groups) > 1:
        results: list[FoldResult | None] = [None] * len(splits)
        for members in groups.values():
            part = train_and_test_folds(
                model_factory, [splits[f] for f in members], [settings[f] for f in members],
                [checkpoint_dirs[f] for f in members],
                [monitor[f] for f in members] if monitor is not None else None)
            for f, result in zip(members, part, strict=True):
                results[f] = result
        return results
    for f, (train, val, test) in enumerate(splits):
        for role, data in (("train", train), ("val", val), ("test", test)):
            if len(data) == 0:
                raise ValueError(f"train_and_test_folds: fold {f} {role} set is empty")
        if len(train) < 2:
            raise ValueError(f"train_and_test_folds: fold {f}: batch norm needs >= 2 samples")
    device = resolve_device(settings[0].device)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(max(1, int(settings[0].threads)))
    set_deterministic(device.type == "cpu" or deterministic)
    try:
        return _train_folds(model_factory, splits, settings, checkpoint_dirs, device, monitor)
    finally:
        torch.set_num_threads(threads)
        set_deterministic(deterministic)


def _train_folds(model_factory, splits, settings, checkpoint_dirs, device, monitor=None):
    s0 = settings[0]
    amp = bool(s0.amp) and device.type == "cuda"
    k = len(splits)
    models = []
    for s in settings:  # the sequential trainer's per-fold initialisation, fold by fold
        torch.manual_seed(s.seed)
        model = model_factory()
        initialise(model, s.init, s.init_std)
        models.append(model)
    fingerprints = [_fingerprint(s, m, tr, va)
                    for s, m, (tr, va, _) in zip(settings, models, splits, strict=True)]
    n_parameters = count_parameters(models[0])
    param_names = [n for n, _ in models[0].named_parameters()]
    stack = FoldStack(models, device)
    del models
    lrs = lr_schedule(s0)
    states, resumed = [_new_state() for _ in range(k)], [0] * k
    paths = [Path(d) / CHECKPOINT_NAME if d else None for d in checkpoint_dirs]
    for f, path in enumerate(paths):
        saved = _read_checkpoint(path, fingerprints[f], s0, param_names) if path else None
        if saved is not None:
            stack.load_fold(f, saved[0], saved[1])
            states[f] = saved[2]
            resumed[f] = states[f]["epoch"]
            log.info("fold %d: resuming from %s after epoch %d", f, path, resumed[f])

    train_sets = [_tensors(tr, device) for tr, _, _ in splits]
    val_sets = [_tensors(va, device) for _, va, _ in splits]
    if monitor is not None and any(resumed):
        raise ValueError("a monitored run cannot resume: its curve would miss epochs")
    monitor_sets = [_tensors(m, device) for m in monitor] if monitor is not None else None
    monitor_curves: list[list[float]] = [[] for _ in range(k)]
    first = min(st["epoch"] for st in states) + 1
    for epoch in range(first, s0.epochs + 1):
        rows = [f for f in range(k)
                if states[f]["epoch"] < epoch and not stopped(states[f], s0.patience)]
        if not rows:
            break
        started = time.perf_counter()
        batches = {}
        for f in rows:
            n = len(splits[f][0])
            order = torch.randperm(n, generator=torch.Generator().manual_seed(
                settings[f].seed * 100_003 + epoch)).to(device)
            batches[f] = [order[i:i + s0.batch_size] for i in range(0, n, s0.batch_size)
                          if len(order[i:i + s0.batch_size]) >= 2]
        totals = {f: torch.zeros((), device=device) for f in rows}
        seen = dict.fromkeys(rows, 0)
        lr = lrs[epoch - 1]
        for step in range(max(len(b) for b in batches.values())):
            by_size: dict[int, list[int]] = {}
            for f in rows:
                if step < len(batches[f]):
                    by_size.setdefault(len(batches[f][step]), []).append(f)
            for size, group in by_size.items():
                index = [batches[f][step] for f in group]
                x = _gather([train_sets[f][0] for f in group], index)
                y = _gather([train_sets[f][1] for f in group], index)
                music = _gather([train_sets[f][2] for f in group], index)
                losses = stack.train_step(group, x, y, music, s0, lr, amp)
                for j, f in enumerate(group):
                    totals[f] += losses[j].detach() * size
                    seen[f] += size
        evaluations = _evaluate_folds(stack, rows, val_sets, device, amp)
        if monitor_sets is not None:
            for f, (_, p_mon) in zip(rows, _evaluate_folds(stack, rows, monitor_sets, device,
                                                           amp), strict=True):
                monitor_curves[f].append(
                    binary_metrics(monitor[f].y, (p_mon >= 0.5).astype(int))["accuracy"])
        elapsed = (time.perf_counter() - started) / len(rows)  # this fold's share
        for f, (val_loss, p_val) in zip(rows, evaluations, strict=True):
            st = states[f]
            train_loss = float(totals[f]) / max(1, seen[f])
            if not math.isfinite(train_loss):
                raise FloatingPointError(f"fold {f} epoch {epoch}: training loss is {train_loss}")
            scores = binary_metrics(splits[f][1].y, (p_val >= 0.5).astype(int))
            # balanced accuracy: a model that predicts one class scores 0.5 whatever the label
            # balance of the validation subjects, so it never beats one that separates them
            key = (scores["balanced_accuracy"], -val_loss)
            if st["best_key"] is None or key > tuple(st["best_key"]):
                st["best_key"], st["best_epoch"] = list(key), epoch
                st["best_state"] = stack.fold_state(f)
            st["epoch"] = epoch
            st["seconds"] += elapsed
            st["epoch_seconds"].append(elapsed)
            for name, value in (
                ("val_accuracy", scores["accuracy"]), ("val_f1", scores["f1"]),
                ("val_loss", val_loss), ("train_loss", train_loss), ("lr", lrs[epoch]),
            ):
                st[name].append(float(value))
            if paths[f] is not None and epoch % s0.checkpoint_every == 0 and epoch < s0.epochs:
                paths[f].parent.mkdir(parents=True, exist_ok=True)
                torch_save(_checkpoint_payload(stack, f, fingerprints[f], st, s0), paths[f])
        log.info("epoch %d/%d, %d folds: val acc %s (%.2f s per fold)", epoch, s0.epochs,
                 len(rows), [round(states[f]["val_accuracy"][-1], 3) for f in rows], elapsed)

    results = []
    for f, (train, val, test) in enumerate(splits):
        # The test fold is touched here, once, with the validation-chosen weights.
        st = states[f]
        model = model_factory()
        model.load_state_dict(st["best_state"])
        model.to(device)
        x_te, y_te, m_te = _tensors(test, device)
        test_loss, p_test = _evaluate(model, x_te, y_te, m_te, device, amp)
        y_pred = (p_test >= 0.5).astype(int)
        metrics = binary_metrics(test.y, y_pred)
        epoch_seconds = st["epoch_seconds"]
        metrics.update({
            "test_loss": test_loss,
            "n_train": len(train), "n_val": len(val), "n_test": len(test),
            "chosen_epoch": int(st["best_epoch"]), "epochs": int(s0.epochs),
            "epochs_run": int(st["epoch"]),
            "val_curve": st["val_accuracy"], "val_f1_curve": st["val_f1"],
            "val_loss_curve": st["val_loss"], "train_loss_curve": st["train_loss"],
            "n_parameters": n_parameters,
            "train_seconds": round(st["seconds"], 3),
            "seconds_per_epoch": round(float(np.mean(epoch_seconds)), 4) if epoch_seconds else 0.0,
            "device": device.type, "amp": amp, "seed": int(settings[f].seed),
            "resumed_from_epoch": resumed[f], "fold_mode": "vectorised", "vectorised_folds": k,
        })
        if monitor is not None:
            metrics["monitor_curve"] = [float(v) for v in monitor_curves[f]]
        predictions = pd.DataFrame(
            {"trial_id": test.trial_id, "subject": test.subject, "y_true": test.y,
             "y_pred": y_pred, "p_high": p_test.astype(float)}
        )
        results.append(FoldResult(metrics, predictions, copy.deepcopy(st["best_state"])))
    return results


def run_folds_vectorised(
    experiment: dict,
    dataset: str,
    dimension: str,
    folds: Sequence[int],
    *,
    inputs: dict,
    training: dict,
    seed: int,
    threads: int,
    metrics_json: Sequence[str | Path],
    predictions_csv: Sequence[str | Path],
    model_pt: Sequence[str | Path],
    max_folds: int = 0,
    model_extra: Callable[[int, dict], dict] | None = None,
) -> list[dict]:
    """Packed rule `train_network_folds`, vectorised: load every fold, train them as one batched
    model (in groups of `max_folds` folds when > 0, to bound device memory), and write each
    fold's metrics.json, predictions.csv and model.pt exactly as `training.run_fold` does.

    `model_extra(fold, info)` may return extra entries for a fold's model.pt (e.g. the
    inference metadata of `edaffect.training.inference_metadata`)."""
    tune_malloc()
    folds = [int(f) for f in folds]
    if not len(folds) == len(metrics_json) == len(predictions_csv) == len(model_pt):
        raise ValueError("run_folds_vectorised: one metrics/predictions/model path per fold")
    loaded = [load_fold_data(experiment, dimension, f, **inputs) for f in folds]
    all_settings = [
        TrainingSettings.from_config(
            training, experiment, threads=threads,
            seed=fold_seed(seed, experiment["name"], dataset, dimension, f))
        for f in folds
    ]
    infos = [info for *_, info in loaded]
    spec_keys = ("in_channels", "input_length", "music_dim")
    if any(tuple(i[s] for s in spec_keys) != tuple(infos[0][s] for s in spec_keys)
           for i in infos):
        raise ValueError(f"{experiment['name']} {dataset} {dimension}: folds differ in "
                         f"{spec_keys}: {[tuple(i[s] for s in spec_keys) for i in infos]}")
    spec = {"experiment": experiment, **{s: infos[0][s] for s in spec_keys}}
    group = int(max_folds) if max_folds and max_folds > 0 else len(folds)
    out = []
    start = 0
    while start < len(folds):
        part = range(start, min(len(folds), start + group))
        log.info("%s %s %s folds %s vectorised on %s", experiment["name"], dataset, dimension,
                 [folds[i] for i in part], all_settings[0].device)
        try:
            results = train_and_test_folds(
                lambda: build_model(**spec),
                [tuple(loaded[i][:3]) for i in part],
                [all_settings[i] for i in part],
                [Path(metrics_json[i]).parent / "checkpoint" for i in part],
            )
        except torch.cuda.OutOfMemoryError:
            if group == 1:
                raise
            group = max(1, group // 2)  # resumes from the folds' last checkpoints
            log.warning("device memory exhausted: %d folds at a time from now on", group)
            torch.cuda.empty_cache()
            continue
        start += len(part)
        for i, result in zip(part, results, strict=True):
            metrics = {
                "experiment": experiment["name"], "dataset": dataset, "dimension": dimension,
                "fold": folds[i], "model": experiment["model"], **result.metrics,
                "n_skipped_no_input": infos[i]["n_skipped_no_input"],
                "music_dim": infos[i]["music_dim"],
            }
            extra = model_extra(folds[i], infos[i]) if model_extra else {}
            write_run_files(run_folder(metrics_json[i], predictions_csv[i], model_pt[i]), metrics,
                            result.predictions, {"state_dict": result.state_dict, **spec, **extra})
            shutil.rmtree(Path(metrics_json[i]).parent / "checkpoint", ignore_errors=True)
            log.info("fold %d: test accuracy %.3f f1 %.3f (epoch %d chosen on validation)",
                     folds[i], metrics["accuracy"], metrics["f1"], metrics["chosen_epoch"])
            out.append(metrics)
    return out


def train_folds(job) -> list[dict]:
    """Fold-runner trainer (`ModelFamily.train_vectorised`) of the rtcan1d and cnn3 families:
    every fold of an `edaffect.training.fold_runner.FoldJob` trained at once; same files as
    `edaffect.training.trainer.train_folds`."""
    from edaffect.training.inference_metadata import job_inference

    dirs = [Path(d) for d in job.run_dirs]
    return run_folds_vectorised(
        job.experiment, job.dataset, job.dimension, job.folds, inputs=loader_inputs(job.inputs),
        training=job.training(), seed=job.seed, threads=job.threads,
        metrics_json=[d / "metrics.json" for d in dirs],
        predictions_csv=[d / "predictions.csv" for d in dirs],
        model_pt=[d / "model.pt" for d in dirs],
        model_extra=lambda fold, _info: job_inference(job, fold) or {},
    )
