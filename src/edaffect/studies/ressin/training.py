"""Res-SIN training (Yin et al., ICIP 2019) as a fold-runner model family: fold arrays from the
signal images (mean image and music scaler from the training role only), the shared training
loop (`edaffect.training.trainer.train_and_test`) with Res-SIN's optimisation, and the run files
every
trained family writes (metrics.json, predictions.csv, model.pt)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from edaffect.model_selection.labels import read_labels
from edaffect.model_selection.splits import load_fold, read_splits
from edaffect.studies.ressin.components import RESSIN_WEIGHT_DECAY, ResSINSettings
from edaffect.studies.ressin.signal_images import fold_mean, select_input, subtract_mean
from edaffect.training.run_files import write_run_files
from edaffect.training.trainer import (
    FoldData,
    TrainingSettings,
    fold_seed,
    train_and_test,
    tune_malloc,
)

if TYPE_CHECKING:
    from edaffect.training.fold_runner import FoldJob

log = logging.getLogger(__name__)


@dataclass
class FoldArrays:
    """One role of one fold: images (already mean-subtracted), labels, ids, music."""

    x: np.ndarray
    y: np.ndarray
    trial_id: list[str]
    subject: list[str]
    music: np.ndarray | None


def fold_arrays(
    images: np.ndarray,
    image_ids: list[str],
    labels: pd.DataFrame,
    splits: pd.DataFrame,
    music: pd.DataFrame | None,
    *,
    input_name: str,
    dimension: str,
    fraction: float,
    fold: int,
) -> dict[str, FoldArrays]:
    """train/val/test arrays of one fold: roles from splits.csv, labels from labels.csv.

    Mean subtraction and music z-scoring use the training role's statistics only. Trials of the
    fold without an image (excluded upstream) are left out and logged.
    """
    roles = load_fold(splits, fraction, fold)
    row_of = {t: i for i, t in enumerate(image_ids)}
    label_by_id = labels.set_index("trial_id")
    stimulus_of = dict(zip(splits["trial_id"], splits["stimulus"].astype(str), strict=True))
    out: dict[str, FoldArrays] = {}
    for role in ("train", "val", "test"):
        wanted = roles[role]
        ids = [t for t in wanted if t in row_of and t in label_by_id.index]
        if len(ids) < len(wanted):
            log.info("fold %d %s: %d of %d trials have no image or label", fold, role,
                     len(wanted) - len(ids), len(wanted))
        if not ids:
            raise ValueError(f"fold {fold}: no {role} trial has a signal image and a label")
        x = select_input(images[[row_of[t] for t in ids]], input_name)
        y = label_by_id.loc[ids, f"{dimension}_label"].to_numpy(dtype=np.int64)
        subjects = label_by_id.loc[ids, "subject"].astype(str).tolist()
        tracks = None
        if music is not None:
            stimuli = [stimulus_of[t] for t in ids]
            absent = sorted(set(stimuli) - set(music.index))
            if absent:
                raise ValueError(f"music_features.csv has no row for stimulus {absent[:5]}")
            tracks = music.loc[stimuli].to_numpy(dtype=np.float64)
        out[role] = FoldArrays(x, y, ids, subjects, tracks)
    mean = fold_mean(out["train"].x)
    mu = sd = None
    if music is not None:  # z-score with training statistics; constant columns and NaN -> 0
        mu = np.nan_to_num(np.nanmean(out["train"].music, axis=0))
        sd = np.nanstd(out["train"].music, axis=0)
        sd = np.where(np.isfinite(sd) & (sd > 1e-12), sd, 1.0)
    for arrays in out.values():
        arrays.x = subtract_mean(arrays.x, mean)
        if arrays.music is not None:
            z = (arrays.music - mu) / sd
            arrays.music = np.where(np.isfinite(z), z, 0.0).astype(np.float32)
    return out


def check_fold_roles(arrays: dict[str, FoldArrays]) -> None:
    """Raise if a subject or trial appears in two roles (subject independence)."""
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = set(arrays[a].subject) & set(arrays[b].subject)
        if shared:
            raise AssertionError(f"subjects {sorted(shared)[:5]} are in both {a} and {b}")
        if set(arrays[a].trial_id) & set(arrays[b].trial_id):
            raise AssertionError(f"a trial is in both {a} and {b}")


def ressin_training_settings(
    training: dict, settings: ResSINSettings, n_train: int, *, seed: int, threads: int
) -> TrainingSettings:
    """The shared training settings with Res-SIN's own optimisation (§2.3): batch 100, lr 1e-3
    multiplied by 0.1 every 300 iterations (rounded to whole epochs for the epoch-wise scheduler,
    at least 1), `ressin.epochs`.  Weights keep PyTorch's default (Kaiming) initialisation: the
    paper's N(0, 0.01) rule is RTCAN-1D's, Res-SIN names none."""
    # the shared loop skips a last batch of one sample (batch norm)
    full, rest = divmod(n_train, settings.batch_size)
    iterations_per_epoch = max(1, full + (rest > 1))
    step_epochs = max(1, round(settings.lr_step_iterations / iterations_per_epoch))
    base = TrainingSettings.from_config(training, None, seed=seed, threads=threads)
    base.batch_size = int(settings.batch_size)
    base.lr = float(settings.lr)
    base.lr_decay = float(settings.lr_decay)
    base.lr_step_epochs = int(step_epochs)
    base.epochs = int(settings.epochs)
    base.init = "pytorch"
    base.patience = 0  # every configured epoch, as before early stopping existed
    base.min_steps = 0
    base.weight_decay = RESSIN_WEIGHT_DECAY
    return base


@dataclass
class FoldInputs:
    """What every fold of one experiment reads, loaded once per job."""

    images: np.ndarray
    image_ids: list[str]
    labels: pd.DataFrame
    splits: pd.DataFrame
    music: pd.DataFrame | None


def load_fold_inputs(
    experiment: dict,
    images_npy: str | Path,
    images_index_csv: str | Path,
    labels_csv: str | Path,
    splits_csv: str | Path,
    music_csv: str | Path | None,
) -> FoldInputs:
    """Images (memory-mapped), their trial ids, labels, folds and, when fused, the music."""
    from edaffect.signal.music import read_music_table

    images = np.load(images_npy, mmap_mode="r")
    index = pd.read_csv(images_index_csv, dtype={"trial_id": str})
    if len(index) != len(images):
        raise ValueError(f"{images_npy}: {len(images)} images but {len(index)} index rows")
    music = None
    if experiment.get("music"):
        if not music_csv:
            raise ValueError(f"experiment {experiment['name']} fuses music: no music_features.csv")
        music = read_music_table(music_csv)
    return FoldInputs(
        images, index["trial_id"].tolist(), read_labels(labels_csv), read_splits(splits_csv), music
    )


def avoid_onednn_single_channel_crash(in_channels: int) -> None:
    """Use PyTorch's own CPU convolutions for one-channel images: oneDNN 3.12 (torch 2.13 CPU
    wheels) corrupts the heap in the backward pass of a 2-D ResNet on one input channel on AVX2
    machines (SIGSEGV/SIGABRT within a few hundred steps; three channels are unaffected).
    Measured on 24 x 24 images: about 2x slower training for those experiments."""
    import torch

    if in_channels == 1:
        torch.backends.mkldnn.enabled = False


def train_fold(
    experiment: dict,
    dataset: str,
    dimension: str,
    fold: int,
    inputs: FoldInputs,
    *,
    ressin: dict,
    training: dict,
    seed: int,
    threads: int,
    run_dir: str | Path,
    keep_checkpoint: bool = False,
) -> dict:
    """One fold of one Res-SIN experiment, trained with the study's shared loop
    (`training.train_and_test`: epoch chosen on validation, test scored once); writes
    metrics.json, predictions.csv and model.pt into `run_dir` like every other network."""
    from edaffect.models import build_model

    settings = ResSINSettings.from_config(ressin)
    fraction = float(experiment["fraction"])
    arrays = fold_arrays(
        inputs.images, inputs.image_ids, inputs.labels, inputs.splits, inputs.music,
        input_name=experiment["input"], dimension=dimension, fraction=fraction,
        fold=int(fold),
    )
    check_fold_roles(arrays)
    data = {role: FoldData(a.x, a.y, a.trial_id, a.subject, a.music) for role, a in arrays.items()}
    roles = load_fold(inputs.splits, fraction, fold)
    skipped = sum(len(roles[r]) for r in ("train", "val", "test")) - sum(map(len, data.values()))
    spec = {
        "experiment": {**experiment, **settings.model_keys()},
        "in_channels": int(data["train"].x.shape[1]),
        "input_length": int(data["train"].x.shape[-1]),
        "music_dim": 0 if inputs.music is None else int(inputs.music.shape[1]),
    }
    train_settings = ressin_training_settings(
        training, settings, len(data["train"]),
        seed=fold_seed(seed, experiment["name"], dataset, dimension, fold), threads=threads,
    )
    log.info("%s %s %s fold %d: %d/%d/%d trials, %s", experiment["name"], dataset, dimension,
             fold, len(data["train"]), len(data["val"]), len(data["test"]), train_settings)
    run_dir = Path(run_dir)
    checkpoint_dir = run_dir / "checkpoint"
    avoid_onednn_single_channel_crash(spec["in_channels"])
    result = train_and_test(
        lambda: build_model(**spec), data["train"], data["val"], data["test"], train_settings,
        checkpoint_dir,
    )
    metrics = {
        "experiment": experiment["name"], "dataset": dataset, "dimension": dimension,
        "fold": int(fold), "model": experiment["model"], "input": experiment.get("input"),
        **result.metrics, "n_skipped_no_input": skipped, "music_dim": spec["music_dim"],
        "image_size": spec["input_length"], "lr_step_epochs": train_settings.lr_step_epochs,
    }
    write_run_files(run_dir, metrics, result.predictions,
                    {"state_dict": result.state_dict, **spec})
    if not keep_checkpoint:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    log.info("test accuracy %.3f f1 %.3f (epoch %d chosen on validation)", metrics["accuracy"],
             metrics["f1"], metrics["chosen_epoch"])
    return metrics


def train_folds(job: FoldJob) -> list[dict]:
    """Fold-runner trainer of the `ressin` family: the job's folds one after the other in one
    process (inputs loaded once).  Each fold keeps its epoch checkpoint until all are done, so a
    job killed in fold k resumes fold k and re-tests the finished ones without retraining."""
    tune_malloc()
    inputs = load_fold_inputs(
        job.experiment, job.inputs["images_npy"], job.inputs["images_index_csv"],
        job.inputs["labels_csv"], job.inputs["splits_csv"], job.inputs.get("music_features_csv"),
    )
    results = [
        train_fold(
            job.experiment, job.dataset, job.dimension, fold, inputs,
            # the fold's settings (params leave out the tables' keys table2 and regression)
            ressin={**job.settings["ressin"], "regression": {}, "table2": {}},
            training=job.training(), seed=job.seed, threads=job.threads, run_dir=run_dir,
            keep_checkpoint=True,
        )
        for fold, run_dir in zip(job.folds, job.run_dirs, strict=True)
    ]
    for run_dir in job.run_dirs:
        shutil.rmtree(Path(run_dir) / "checkpoint", ignore_errors=True)
    return results
