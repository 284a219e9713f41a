"""Leakage arms (docs/leakage.md): what each arm changes of the protocol and its folds.

The original code shuffles (subject, stimulus) pairs within each class into class-balanced folds,
has no validation fold, scores the test fold after every epoch and prints the mean of those test
accuracies over epochs. Arms (config `leakage.arms`) differ in their folds (`split`: `pairs`,
`subject`, `song`), whether they hold out a validation fold, how the tested epoch is chosen
(`selection`: validation or test) and an optional training-set size matched to another arm
(`train_size`). Every arm is repeated over `draws` fold draws (a draw re-splits every arm with its
own seed and retrains every fold); the draw is the unit of inference (`draw_contrast`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic

log = logging.getLogger(__name__)

SELECTIONS = ("validation", "test")
MEASURES = ("selected", "best_test", "epoch_mean", "epoch_mean_fold0")
MEASURE_TEXT = {
    "selected": "at the epoch the arm's selection chose",
    "best_test": "at the epoch with the best test accuracy (same trainings, epoch chosen on the "
                 "test fold)",
    "epoch_mean": "mean over epochs of the test accuracy (what the original prints)",
    "epoch_mean_fold0": "fold 0 only, mean over epochs (the original's PMEmo run)",
}
RUN_COLUMNS = ["arm", "experiment", "dataset", "draw", "dimension", "fold", "model", "n_train",
               "n_val", "n_test", "accuracy", "chosen_epoch", "best_test", "epoch_mean",
               "test_curve"]


@dataclass(frozen=True)
class Arm:
    """One evaluation arm: its folds, validation fold, epoch choice, training size, label."""

    name: str
    split: str
    selection: str
    validation: bool = True
    train_size: str | None = None
    measures: tuple[str, ...] = ("selected",)
    label: str = ""
    datasets: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        from edaffect.model_selection.splits import SPLIT_KINDS

        if self.split not in SPLIT_KINDS:
            raise ValueError(f"leakage arm {self.name}: split {self.split!r} not in {SPLIT_KINDS}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"leakage arm {self.name}: selection {self.selection!r} not in "
                             f"{SELECTIONS}")
        if not self.validation and self.split != "pairs":
            raise ValueError(f"leakage arm {self.name}: only the original code's pair folds run "
                             "without a validation fold")
        if not self.validation and self.selection != "test":
            raise ValueError(f"leakage arm {self.name}: without a validation fold the epoch can "
                             "only be chosen on the test fold (the original code's protocol)")
        if self.train_size == self.name:
            raise ValueError(f"leakage arm {self.name}: train_size names the arm itself")
        unknown = sorted(set(self.measures) - set(MEASURES))
        if unknown:
            raise ValueError(f"leakage arm {self.name}: measures {unknown} not in {MEASURES}")


def arm_from_config(name: str, entry: dict) -> Arm:
    """An arm from its config entry, the schema's defaults filling what it leaves out."""
    from edaffect.io.config_schema import schema_defaults

    entry = {**schema_defaults("leakage", "arms"), **entry}
    return Arm(name, entry["split"], entry["selection"], bool(entry["validation"]),
               entry["train_size"], tuple(entry["measures"]),
               entry.get("label", ""), tuple(entry.get("datasets", ())))


def contrast_from_config(entry: dict) -> dict:
    """A contrast (x - y) from its config entry, the schema's measure defaults filled in."""
    from edaffect.io.config_schema import load_schema

    items = load_schema()["properties"]["leakage"]["properties"]["contrasts"]["items"]
    return {**{k: v["default"] for k, v in items["properties"].items() if "default" in v},
            **entry}


def draw_seed(seed: int, draw: int) -> int:
    """The split seed of fold draw `draw` (draw 0: the config seed, the main study's folds)."""
    return int(seed) + 7919 * int(draw)


# --------------------------------------------------------------------------- folds


def make_arm_splits(
    trials: pd.DataFrame, labels: pd.DataFrame, arms: list[Arm], *, dimensions: list[str],
    n_folds: int, draws: int, seed: int, origin: str = "trials",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every arm's folds for every (draw, dimension): split rows plus `arm`, `draw`,
    `dimension`, and a per-fold summary of role counts. Pair folds with a validation fold take
    the subject folds' test sizes of the same draw (so their train/val/test sizes equal the
    subject arms'); an arm with `train_size: X` keeps a seeded sample of its training trials as
    large as X's training set in the same (draw, dimension, fold), the rest `dropped`."""
    from edaffect.model_selection.splits import make_protocol_splits

    by_name = {a.name: a for a in arms}
    for arm in arms:
        if arm.train_size is not None and arm.train_size not in by_name:
            raise ValueError(f"leakage arm {arm.name}: train_size names unknown arm "
                             f"{arm.train_size!r}")
    trials = trials[trials["trial_id"].astype(str).isin(labels["trial_id"].astype(str))]
    label_of = labels.set_index(labels["trial_id"].astype(str))
    frames: dict[tuple[str, int, str], pd.DataFrame] = {}
    for draw in range(draws):
        s = draw_seed(seed, draw)
        base: dict[str, pd.DataFrame] = {}
        for kind in ("subject", "song"):
            if any(a.split == kind for a in arms):
                base[kind] = make_protocol_splits(trials, split=kind, n_folds=n_folds, seed=s,
                                                  origin=origin)[0]
        for dimension in dimensions:
            y = label_of[f"{dimension}_label"]
            for arm in (a for a in arms if a.split != "pairs"):
                frames[(arm.name, draw, dimension)] = base[arm.split]
            for arm in (a for a in arms if a.split == "pairs"):
                sizes = None
                if arm.validation:
                    if "subject" not in base:
                        base["subject"] = make_protocol_splits(
                            trials, split="subject", n_folds=n_folds, seed=s, origin=origin)[0]
                    tested = base["subject"][base["subject"]["role"] == "test"]
                    sizes = [int((tested["fold"] == f).sum()) for f in range(n_folds)]
                frames[(arm.name, draw, dimension)] = make_protocol_splits(
                    trials, split="pairs", n_folds=n_folds, seed=s, origin=origin, labels=y,
                    validation=arm.validation, test_sizes=sizes)[0]
            for arm in (a for a in arms if a.train_size is not None):
                frames[(arm.name, draw, dimension)] = _match_training_size(
                    frames[(arm.name, draw, dimension)],
                    frames[(arm.train_size, draw, dimension)], seed=[s, 3], origin=origin,
                    what=f"arm {arm.name} (train_size {arm.train_size}) draw {draw}")
    splits = pd.concat(
        [frame.assign(arm=a, draw=d, dimension=dim) for (a, d, dim), frame in frames.items()],
        ignore_index=True)
    summary = (splits.groupby(["arm", "draw", "dimension", "fold"])["role"].value_counts()
               .unstack("role", fill_value=0).reindex(columns=["train", "val", "test",
                                                               "dropped"], fill_value=0)
               .add_prefix("n_").reset_index())
    return splits, summary


def _match_training_size(frame: pd.DataFrame, reference: pd.DataFrame, *, seed: list[int],
                         origin: str, what: str) -> pd.DataFrame:
    """`frame` with each fold's training set cut (seeded) to `reference`'s training size."""
    out = frame.copy()
    rng = np.random.default_rng(seed)
    for fold in sorted(frame["fold"].unique()):
        target = int(((reference["fold"] == fold) & (reference["role"] == "train")).sum())
        train = np.flatnonzero(((out["fold"] == fold) & (out["role"] == "train")).to_numpy())
        if target > train.size:
            raise ValueError(f"{origin}: {what} fold {fold}: {train.size} training trials, "
                             f"fewer than the {target} to match")
        drop = rng.choice(train, size=train.size - target, replace=False)
        out.iloc[drop, out.columns.get_loc("role")] = "dropped"
    return out


def write_arm_splits(
    trials_csv: str | Path, labels_csv: str | Path, splits_csv: str | Path,
    summary_csv: str | Path, *, arms: list[Arm], dimensions: list[str], n_folds: int,
    draws: int, seed: int,
) -> pd.DataFrame:
    """Rule `leakage_splits`: every arm's folds of one dataset -> CSV and per-fold summary."""
    from edaffect.model_selection.labels import read_labels

    trials = pd.read_csv(trials_csv, dtype={"trial_id": str, "subject": str, "stimulus": str})
    splits, summary = make_arm_splits(
        trials, read_labels(labels_csv), arms, dimensions=dimensions, n_folds=n_folds,
        draws=draws, seed=seed, origin=str(trials_csv))
    for path, frame in ((splits_csv, splits), (summary_csv, summary)):
        atomic.to_csv(frame, path, index=False)
    log.info("%d arms x %d draws x %d dimensions x %d folds", len(arms), draws, len(dimensions),
             n_folds)
    return summary


# --------------------------------------------------------------------------- runs
