"""Leakage runs: every arm's folds trained for one (experiment, dataset), networks
vectorised over draws x folds, the SVM fold by fold."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.studies.leakage.arms import RUN_COLUMNS, Arm

log = logging.getLogger(__name__)



def _network_folds(experiment: dict, dataset: str, dimension: str, arm: Arm,
                   splits: dict[int, pd.DataFrame], folds: list[int], *, inputs: dict,
                   training: dict, seed: int, threads: int) -> list[dict]:
    """Every (draw, fold) of one arm and dimension trained at once (vectorised), the test fold
    scored after every epoch (the curve the original code averages; never used to choose the
    epoch unless the arm's selection is `test`)."""
    from edaffect.model_selection.fold_data import load_fold_data
    from edaffect.models import build_model
    from edaffect.training.trainer import TrainingSettings, fold_seed
    from edaffect.training.vectorised import train_and_test_folds

    jobs = [(d, f) for d in sorted(splits) for f in folds]
    loaded = [load_fold_data(experiment, dimension, f, **{**inputs, "splits_csv": splits[d]})
              for d, f in jobs]
    # selection on test: the epoch is chosen on the test fold (the original code's protocol)
    sets = [(tr, te if arm.selection == "test" else va, te) for tr, va, te, _ in loaded]
    # every arm trains the configured epochs: a step floor would give the smaller arms more
    settings = [TrainingSettings.from_config(
        {**training, "min_steps": 0}, experiment, threads=threads,
        seed=fold_seed(seed, experiment["name"], dataset, dimension, f, d)) for d, f in jobs]
    info = loaded[0][3]
    spec = {"experiment": experiment, "in_channels": info["in_channels"],
            "input_length": info["input_length"], "music_dim": info["music_dim"]}
    results = train_and_test_folds(lambda: build_model(**spec), sets, settings,
                                   [None] * len(jobs), monitor=[te for _, _, te, _ in loaded])
    rows = []
    for (draw, fold), (train, val, test, _), result in zip(jobs, loaded, results, strict=True):
        curve = result.metrics["monitor_curve"]
        rows.append({"draw": draw, "fold": fold, "n_train": len(train),
                     "n_val": len(val) if arm.validation else 0, "n_test": len(test),
                     "accuracy": result.metrics["accuracy"],
                     "chosen_epoch": result.metrics["chosen_epoch"],
                     "best_test": float(np.max(curve)), "epoch_mean": float(np.mean(curve)),
                     "test_curve": json.dumps([round(v, 6) for v in curve])})
    return rows


def _svm_folds(experiment: dict, dataset: str, dimension: str, splits: dict[int, pd.DataFrame],
               folds: list[int], *, inputs: dict, c: float) -> list[dict]:
    """One SVM per (draw, fold) (C fixed: no selection, no epochs)."""
    from edaffect.model_selection.labels import read_labels
    from edaffect.signal.eda_features import read_features
    from edaffect.signal.music import read_music_table
    from edaffect.training.baselines import fit_svm_fold, read_inputs_index

    labels = read_labels(inputs["labels_csv"])
    eda = read_features(inputs["eda_features_csv"]) if inputs.get("eda_features_csv") else None
    music = (read_music_table(inputs["music_features_csv"])
             if inputs.get("music_features_csv") else None)
    keep = read_inputs_index(inputs["inputs_index_csv"])
    rows = []
    for draw in sorted(splits):
        for fold in folds:
            metrics, _, _ = fit_svm_fold(
                experiment=experiment["name"], dataset=dataset, dimension=dimension, fold=fold,
                fraction=1.0, kind=experiment["input"], c=c, splits=splits[draw],
                labels=labels, eda_features=eda, music_features=music, keep=keep)
            rows.append({"draw": draw, "fold": fold, "n_train": metrics["n_train"],
                         "n_val": metrics["n_val"], "n_test": metrics["n_test"],
                         "accuracy": metrics["accuracy"], "chosen_epoch": 0,
                         "best_test": np.nan, "epoch_mean": np.nan, "test_curve": ""})
    return rows


def run_arms(
    experiment: dict, dataset: str, arms: list[Arm], *, splits_csv: str | Path,
    dimensions: list[str], draws: int, n_folds: int, inputs: dict, training: dict, seed: int,
    c: float, out_csv: str | Path, threads: int = 1,
) -> pd.DataFrame:
    """Rule `leakage_runs`: every arm x draw x dimension x fold of one experiment x dataset ->
    one row per fold (RUN_COLUMNS)."""
    from edaffect.model_selection.splits import read_splits

    every = read_splits(splits_csv)
    folds = list(range(n_folds))
    rows = []
    for arm in arms:
        for dimension in dimensions:
            part = every[(every["arm"] == arm.name) & (every["dimension"] == dimension)]
            splits = {d: part[part["draw"] == d].drop(columns=["arm", "draw", "dimension"])
                      .reset_index(drop=True) for d in range(draws)}
            empty = [d for d, frame in splits.items() if frame.empty]
            if empty:
                raise ValueError(f"{splits_csv}: no folds of arm {arm.name}, {dimension}, "
                                 f"draws {empty}")
            if experiment["model"] == "svm":
                done = _svm_folds(experiment, dataset, dimension, splits, folds, inputs=inputs,
                                  c=c)
            else:
                done = _network_folds(experiment, dataset, dimension, arm, splits, folds,
                                      inputs=inputs, training=training, seed=seed,
                                      threads=threads)
            for row in done:
                rows.append({"arm": arm.name, "experiment": experiment["name"],
                             "dataset": dataset, "dimension": dimension,
                             "model": experiment["model"], **row})
            log.info("%s %s %s %s: accuracy over draws and folds %.3f", arm.name,
                     experiment["name"], dataset, dimension,
                     np.mean([r["accuracy"] for r in done]))
    frame = pd.DataFrame(rows)[RUN_COLUMNS]
    atomic.to_csv(frame, out_csv, index=False)
    return frame


# --------------------------------------------------------------------------- the table


def load_runs(paths: list[str | Path]) -> pd.DataFrame:
    """Every run's folds.csv, one row per (arm, experiment, dataset, draw, dimension, fold)."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path, dtype={"test_curve": str})
        missing = [c for c in RUN_COLUMNS if c not in frame]
        if missing:
            raise ValueError(f"{path}: lacks columns {missing}")
        frames.append(frame)
    runs = pd.concat(frames, ignore_index=True)
    keys = ["arm", "experiment", "dataset", "draw", "dimension", "fold"]
    if runs.duplicated(keys).any():
        raise ValueError(f"fold rows duplicated: {runs[runs.duplicated(keys)][keys].iloc[0]}")
    return runs
