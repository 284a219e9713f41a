"""Leakage study (docs/leakage.md): the same networks and SVM baselines under evaluation arms that
reproduce the original RTCAN-1D code's protocol and separate its three departures from ours.

The original code shuffles (subject, stimulus) pairs within each class into class-balanced folds,
has no validation fold, scores the test fold after every epoch and prints the mean of those test
accuracies over epochs. Arms (config `leakage.arms`) differ in their folds (`split`: `pairs`,
`subject`, `song`), whether they hold out a validation fold, how the tested epoch is chosen
(`selection`: validation or test) and an optional training-set size matched to another arm
(`train_size`). Every arm is repeated over `draws` fold draws (a draw re-splits every arm with its
own seed and retrains every fold); the draw is the unit of inference (`draw_contrast`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from edaffect.io import atomic
from edaffect.reporting.result_tables import PAPER_FOLDS

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
    settings = [TrainingSettings.from_config(
        training, experiment, threads=threads,
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


def draw_values(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, experiment, dimension, arm, draw): each measure in % (the mean over
    the draw's folds, each fold weighted equally as the original averages them; fold 0 alone for
    `epoch_mean_fold0`) and the mean training-set size per fold."""
    keys = ["dataset", "experiment", "dimension", "arm", "draw"]
    grouped = runs.groupby(keys, sort=False)
    out = grouped.agg(selected=("accuracy", "mean"), best_test=("best_test", "mean"),
                      epoch_mean=("epoch_mean", "mean"), n_train=("n_train", "mean"),
                      n_folds=("fold", "nunique"))
    fold0 = runs[runs["fold"] == 0].set_index(keys)["epoch_mean"]
    out["epoch_mean_fold0"] = fold0.reindex(out.index)
    for measure in MEASURES:
        out[measure] = out[measure] * 100.0
    return out.reset_index()


def draw_contrast(x: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> dict:
    """x - y in points, paired by draw: mean, t CI and p over the draws' differences
    (n_draws - 1 df)."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    out = {"mean": float(d.mean()) if d.size else np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "p": np.nan, "n_draws": int(d.size)}
    if d.size < 2 or not np.isfinite(d).all():
        return out
    if np.allclose(d, d[0], rtol=0.0, atol=1e-9):  # no spread: t undefined, the value exact
        out.update(ci_low=out["mean"], ci_high=out["mean"])
        return out
    test = stats.ttest_1samp(d, 0.0)
    ci = test.confidence_interval(confidence)
    out.update(ci_low=float(ci.low), ci_high=float(ci.high), p=float(test.pvalue))
    return out


def draw_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean over draws and its t interval (n_draws - 1 df); a zero-width one when every draw
    agrees, NaN with one draw."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if values.size < 2:
        return mean, np.nan, np.nan
    if np.allclose(values, values[0], rtol=0.0, atol=1e-9):
        return mean, mean, mean
    ci = stats.ttest_1samp(values, mean).confidence_interval(confidence)
    return mean, float(ci.low), float(ci.high)


def leakage_table(runs: pd.DataFrame, arms: list[Arm], contrasts: list[dict]) -> pd.DataFrame:
    """One row per (dataset, experiment, dimension): each arm's measures (mean over draws with
    the t CI over draws), its training size, and each contrast, paired by draw."""
    values = draw_values(runs)
    out = []
    for (dataset, experiment, dimension), group in values.groupby(
        ["dataset", "experiment", "dimension"], sort=False
    ):
        row: dict = {"dataset": dataset, "experiment": experiment, "dimension": dimension}
        by_arm = {a: g.set_index("draw").sort_index() for a, g in group.groupby("arm")}
        for arm in arms:
            if arm.name not in by_arm:
                continue
            g = by_arm[arm.name]
            row[f"{arm.name}_n_draws"] = len(g)
            row[f"{arm.name}_n_train"] = float(g["n_train"].mean())
            for measure in arm.measures:
                if g[measure].isna().all():
                    continue
                mean, low, high = draw_interval(g[measure].to_numpy())
                stem = f"{arm.name}_{measure}"
                row.update({stem: mean, f"{stem}_ci_low": low, f"{stem}_ci_high": high})
        for contrast in contrasts:
            x, y = contrast["x"], contrast["y"]
            mx, my = contrast["x_measure"], contrast["y_measure"]
            if x not in by_arm or y not in by_arm:
                continue
            both = pd.concat([by_arm[x][mx].rename("x"), by_arm[y][my].rename("y")], axis=1,
                             join="inner")
            cx, cy = both["x"].to_numpy(), both["y"].to_numpy()
            if not (np.isfinite(cx).all() and np.isfinite(cy).all()):
                continue
            result = draw_contrast(cx, cy)
            stem = f"contrast_{contrast['name']}"
            row.update({stem: result["mean"], f"{stem}_ci_low": result["ci_low"],
                        f"{stem}_ci_high": result["ci_high"], f"{stem}_p": result["p"],
                        f"{stem}_n_draws": result["n_draws"]})
        out.append(row)
    return pd.DataFrame(out)


def _cell(row: pd.Series, stem: str) -> str:
    value = row.get(stem, np.nan)
    if not np.isfinite(value):
        return "—"
    return f"{value:.1f} [{row[f'{stem}_ci_low']:.1f}, {row[f'{stem}_ci_high']:.1f}]"


def _diff_cell(row: pd.Series, stem: str) -> str:
    value = row.get(stem, np.nan)
    if not np.isfinite(value):
        return "—"
    p = row[f"{stem}_p"]
    ptext = ("identical in every draw" if not np.isfinite(p)
             else "p < 0.001" if p < 0.001 else f"p = {p:.3f}")
    return f"{value:+.1f} [{row[f'{stem}_ci_low']:+.1f}, {row[f'{stem}_ci_high']:+.1f}], {ptext}"


def describe_arm(arm: Arm) -> str:
    """The arm exactly: folds, validation fold, epoch choice, training size."""
    folds = {"pairs": "class-balanced (subject, stimulus) pair folds (subjects in train and "
                      "test)",
             "subject": "subject-independent folds",
             "song": "subject x song blocks (subject- and song-disjoint)"}[arm.split]
    parts = [folds, "validation fold" if arm.validation else "no validation fold",
             f"epoch chosen on the {arm.selection} fold"]
    if arm.split == "pairs" and arm.validation:
        parts.append("fold sizes of the subject folds")
    if arm.train_size:
        parts.append(f"training set subsampled to ({arm.train_size})'s size per fold")
    text = ", ".join(parts)
    return f"({arm.name}) {arm.label}: {text}" if arm.label else f"({arm.name}) {text}"


def header(arms: list[Arm], contrasts: list[dict], config_line: str, n_folds: int, epochs: int,
           draws: int) -> str:
    described = "; ".join(describe_arm(a) for a in arms)
    named = "; ".join(f"{c['name']} = ({c['x']}) {c['x_measure']} − ({c['y']}) {c['y_measure']}"
                      for c in contrasts)
    return (
        f"**Leakage study** — test accuracy (%) of the same models under each arm: {described}. "
        f"{n_folds} folds per arm"
        + ("" if n_folds == PAPER_FOLDS
           else f" (DEVIATES from the paper and the original code's AMIGOS run: {PAPER_FOLDS})")
        + f", networks trained {epochs} epochs (the networks' folds trained vectorised, "
        f"edaffect.training.vectorised), {draws} fold draws. Measures: "
        + "; ".join(f"{k} = {v}" for k, v in MEASURE_TEXT.items())
        + ". The original code prints the mean over epochs: for PMEmo on fold 0 only, for "
        "AMIGOS averaged over its folds; it leaves each class's remainder (n_class mod k trials) "
        "out of every fold, ours tests every trial once. Cells: mean over draws of the draw's "
        "mean over folds "
        f"[95 % t CI over the {draws} draws, {draws - 1} df]. Contrasts ({named}) are PAIRED BY "
        "DRAW: each draw re-splits every arm with its own seed and retrains every fold, and "
        "every arm of one draw shares the training seeds per fold index, so each draw gives one "
        f"difference; mean [95 % t CI], p over draws ({draws - 1} df; one-sample t on the "
        "draws' differences, checked against scipy's ttest_rel in "
        "tests/studies/test_leakage.py). The "
        "draw, not the subject, is the unit: all subjects of one test fold share one trained "
        "model, so folds (inside a draw) and draws are what vary independently. The CI is "
        "conditional on the one synthetic dataset (it holds split and training randomness, "
        "not a new sample of participants). The SVM has no epochs (C fixed): its arms differ in "
        "folds only, and its epoch measures are empty. Training trials per fold are "
        "in the last column (equal-size arms are equal by construction, "
        "tests/studies/test_leakage.py). "
        + config_line
    )


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


def write_leakage_table(
    run_paths: list[str], arms: list[Arm], contrasts: list[dict], csv_path: str | Path,
    md_path: str | Path, figure_png: str | Path, figure_pdf: str | Path, *, config_line: str,
    n_folds: int, epochs: int, draws: int,
) -> pd.DataFrame:
    """Rule `leakage_table`: results/tables/leakage.{csv,md} and the figure."""
    runs = load_runs(run_paths)
    for contrast in contrasts:
        unknown = {contrast["x"], contrast["y"]} - {a.name for a in arms}
        if unknown:
            raise ValueError(f"leakage contrast {contrast['name']}: unknown arm(s) "
                             f"{sorted(unknown)}")
    arms = [a for a in arms if (runs["arm"] == a.name).any()]
    table = leakage_table(runs, arms, contrasts)
    text = header(arms, contrasts, config_line, n_folds, epochs, draws)
    shown = pd.DataFrame({"Dataset": table["dataset"], "Model": table["experiment"],
                          "Dimension": table["dimension"]})
    for arm in arms:
        for measure in arm.measures:
            stem = f"{arm.name}_{measure}"
            if stem in table:
                shown[f"({arm.name}) {measure}"] = [_cell(r, stem) for _, r in table.iterrows()]
    for contrast in contrasts:
        stem = f"contrast_{contrast['name']}"
        if stem in table:
            shown[f"{contrast['name']}: ({contrast['x']}) {contrast['x_measure']} − "
                  f"({contrast['y']}) {contrast['y_measure']}"] = [
                _diff_cell(r, stem) for _, r in table.iterrows()]
    shown["Training trials per fold"] = [
        ", ".join(f"{a.name} {r[f'{a.name}_n_train']:.0f}" for a in arms
                  if np.isfinite(r.get(f"{a.name}_n_train", np.nan)))
        for _, r in table.iterrows()]
    with atomic.atomic_open(csv_path, "w", newline="") as handle:
        handle.write("# " + text.replace("**", "") + "\n")
        table.to_csv(handle, index=False)
    atomic.write_text(
        md_path, text + "\n\n" + shown.to_markdown(index=False, disable_numparse=True) + "\n"
    )
    leakage_figure(table, arms, contrasts, figure_png, figure_pdf, config_line)
    return table


def leakage_figure(table: pd.DataFrame, arms: list[Arm], contrasts: list[dict], png: str | Path,
                   pdf: str | Path, title_line: str) -> None:
    """Top: every arm's measures with 95 % t CIs over draws, one group per (dataset, model), one
    panel per dimension; bottom: every contrast with its CI over draws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [(a.name, m) for a in arms for m in a.measures if f"{a.name}_{m}" in table]
    shown = [c for c in contrasts if f"contrast_{c['name']}" in table]
    dims = list(dict.fromkeys(table["dimension"]))
    fig, axes = plt.subplots(2, len(dims), figsize=(6.5 * len(dims), 7.0), squeeze=False,
                             sharey="row", height_ratios=(3, 2))
    colours = plt.get_cmap("tab10").colors
    for col, dim in enumerate(dims):
        sub = table[table["dimension"] == dim].reset_index(drop=True)
        x = np.arange(len(sub))
        names = [f"{d}\n{e}" for d, e in zip(sub["dataset"], sub["experiment"], strict=True)]
        ax = axes[0, col]
        width = 0.8 / max(1, len(cells))
        for i, (name, measure) in enumerate(cells):
            stem = f"{name}_{measure}"
            mean = sub[stem].to_numpy(dtype=float)
            low = np.clip(sub[f"{stem}_ci_low"].to_numpy(dtype=float), 0.0, 100.0)
            high = np.clip(sub[f"{stem}_ci_high"].to_numpy(dtype=float), 0.0, 100.0)
            err = np.clip(np.nan_to_num(np.vstack([mean - low, high - mean])), 0.0, None)
            ax.bar(x + (i - (len(cells) - 1) / 2) * width, mean, width, yerr=err, capsize=2,
                   color=colours[i % len(colours)], label=f"({name}) {measure}")
        ax.axhline(50, color="grey", lw=0.8, ls="--")
        ax.set_xticks(x, names, fontsize=8)
        ax.set_title(dim.capitalize(), fontsize=10)
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 105)
        ax.grid(axis="y", alpha=0.3)
        low_ax = axes[1, col]
        cw = 0.8 / max(1, len(shown))
        for i, contrast in enumerate(shown):
            stem = f"contrast_{contrast['name']}"
            value = sub[stem].to_numpy(dtype=float)
            err = np.clip(np.nan_to_num(np.vstack(
                [value - sub[f"{stem}_ci_low"].to_numpy(dtype=float),
                 sub[f"{stem}_ci_high"].to_numpy(dtype=float) - value])), 0.0, None)
            low_ax.errorbar(x + (i - (len(shown) - 1) / 2) * cw, value, yerr=err, fmt="o",
                            capsize=3, color=colours[i % len(colours)], label=contrast["name"])
        low_ax.axhline(0, color="grey", lw=0.8)
        low_ax.set_xticks(x, names, fontsize=8)
        low_ax.set_ylabel("difference, points")
        low_ax.grid(axis="y", alpha=0.3)
    axes[0, 0].legend(fontsize=6, loc="upper left", ncol=4)
    axes[1, 0].legend(fontsize=6, loc="best")
    fig.suptitle("Leakage study: arms with 95 % t CIs over fold draws (drawn within 0-100 %); "
                 f"bottom: contrasts paired by draw\n{title_line}", fontsize=9)
    fig.tight_layout()
    atomic.write_with(png, lambda tmp: fig.savefig(tmp, format="png", dpi=150,
                                                   bbox_inches="tight"))
    atomic.write_with(pdf, lambda tmp: fig.savefig(tmp, format="pdf", bbox_inches="tight"))
    plt.close(fig)
