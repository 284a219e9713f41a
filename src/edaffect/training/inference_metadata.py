"""What `edaffect predict` needs besides a model's weights, written at training time.

model.pt carries it under INFERENCE_KEY (or a sidecar inference.json beside it): the preprocessing
settings, the training trials' rate and window, the input and the fold's music z-scoring.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.signal.preprocessing import settings_from_config

INFERENCE_KEY = "inference"
SIDECAR = "inference.json"
INFERENCE_VERSION = 1
# Fields of the inference metadata (model.pt["inference"] or inference.json):
INFERENCE_FIELDS = {
    "version": "INFERENCE_VERSION",
    "experiment": "experiment name",
    "dataset": "dataset the model was trained on",
    "dimension": "valence | arousal",
    "fold": "fold number",
    "preprocessing": "PreprocessSettings as a dict (crop_s, min_duration_s, max_nan_gap_s, "
                     "length, resample_hz, cvxeda)",
    "fs_hz": "sampling rate of the training trials (before preprocessing.resample_hz)",
    "window_s": "median duration of the training trials, crop included (default window)",
    "input": "eda (3 channels) | origin | phasic | tonic (one channel)",
    "music": "null, or {columns, mean, std}: the training fold's music z-scoring",
}

def music_normalisation(experiment: dict, fold: int, splits_csv, music_features_csv) -> dict:
    """Mean and std of every music column over the fold's training trials (one row per trial,
    as `training.load_fold_data` z-scores them; constant or empty columns: std 1)."""
    from edaffect.model_selection.fold_data import read_splits_once, stage_matrix
    from edaffect.model_selection.splits import load_fold

    splits = read_splits_once(splits_csv)
    roles = load_fold(splits, experiment.get("fraction", 1.0), fold)
    stimulus = splits.drop_duplicates("trial_id").set_index("trial_id")["stimulus"].astype(str)
    table = stage_matrix(music_features_csv, "stimulus")
    songs = stimulus.reindex(roles["train"]).dropna()
    rows = table.take([s for s in songs.to_numpy() if s in table.rows])
    mean = np.nanmean(rows, axis=0)
    std = np.nanstd(rows, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return {"columns": list(table.columns), "mean": mean.tolist(),
            "std": std.tolist()}


def inference_metadata(
    experiment: dict,
    dataset: str,
    dimension: str,
    fold: int,
    *,
    preprocessing: dict,
    trials_csv,
    splits_csv,
    music_features_csv=None,
) -> dict:
    """What `predict` needs besides the weights (INFERENCE_FIELDS), from the config's
    `preprocessing` section and the stage files of the fold."""
    from edaffect.model_selection.fold_data import read_splits_once
    from edaffect.model_selection.splits import load_fold

    settings = settings_from_config(preprocessing, dataset)
    trials = pd.read_csv(trials_csv, dtype={"trial_id": str}).set_index("trial_id")
    train = load_fold(read_splits_once(splits_csv), experiment.get("fraction", 1.0), fold)["train"]
    rows = trials.reindex(train).dropna(subset=["fs", "n_samples"])
    if rows.empty:
        raise ValueError(f"{trials_csv}: no training trial of fold {fold} has fs and n_samples")
    fs = float(rows["fs"].median())
    music = None
    if experiment.get("music") and music_features_csv is not None:
        music = music_normalisation(experiment, fold, splits_csv, music_features_csv)
    return {
        "version": INFERENCE_VERSION, "experiment": experiment.get("name"), "dataset": dataset,
        "dimension": dimension, "fold": int(fold), "preprocessing": asdict(settings),
        "fs_hz": fs, "window_s": float((rows["n_samples"] / rows["fs"]).median()),
        "input": experiment.get("input", "eda"), "music": music,
    }


def job_inference(job, fold: int) -> dict | None:
    """model.pt's {"inference": ...} entry for one fold of a fold-runner job (`FoldJob`): built
    from the job's `preprocessing` setting (a rule param of signal networks) and its trials.csv
    input (`training_paths.INFERENCE_INPUT`); None for models `predict` cannot run (cnn3)."""
    from edaffect.training.paths import INFERENCE_INPUT

    preprocessing = job.settings.get("preprocessing")
    trials_csv = job.inputs.get(INFERENCE_INPUT)
    if job.experiment["model"] != "rtcan1d" or preprocessing is None or trials_csv is None:
        return None
    return {INFERENCE_KEY: inference_metadata(
        job.experiment, job.dataset, job.dimension, fold, preprocessing=preprocessing,
        trials_csv=trials_csv, splits_csv=job.inputs["splits_csv"],
        music_features_csv=job.inputs.get("music_features_csv"))}


def write_sidecar(model_pt, metadata: dict) -> Path:
    """inference.json beside a model.pt (for models saved without the "inference" entry)."""
    from edaffect.io import atomic

    path = Path(model_pt).parent / SIDECAR
    atomic.write_json(path, metadata, indent=1)
    return path
