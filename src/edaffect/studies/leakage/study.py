"""Leakage-inflation study (issue 14 item 10, docs/leakage.md): the same networks and SVM
baselines under three evaluation protocols, to measure how much the original code's protocol
inflates accuracy.

- (a) `pairs` + select on test: the original code's protocol, (subject, stimulus) trials
  shuffled into folds (subjects span train and test), the epoch chosen on the test fold;
- (b) `subject` + select on validation: ours (subject-independent, validation fold);
- (c) `song` + select on validation: ours plus song-disjoint folds (PMEmo).

Protocols are config entries (`leakage.protocols`), their folds split variants of
`edaffect.model_selection.splits.make_protocol_splits`; "select on test" is refused for any split
but `pairs`.
Each fold writes metrics.json / predictions.csv like the main study's runs (plus `protocol`,
`split`, `selection`) under results/leakage/runs/{protocol}/{experiment}/{dataset}/.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.reporting.result_tables import PAPER_FOLDS
from edaffect.reporting.statistics import corrected_resampled_ttest

log = logging.getLogger(__name__)

SELECTIONS = ("validation", "test")
RUN_DIR = "results/leakage/runs/{protocol}/{experiment}/{dataset}/{dimension}/fold{fold}"


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol: its fold kind, how the tested model is chosen, its label."""

    name: str
    split: str
    selection: str
    label: str = ""

    def __post_init__(self) -> None:
        from edaffect.model_selection.splits import SPLIT_KINDS

        if self.split not in SPLIT_KINDS:
            raise ValueError(f"leakage protocol {self.name}: split {self.split!r} not in "
                             f"{SPLIT_KINDS}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"leakage protocol {self.name}: selection {self.selection!r} not in "
                             f"{SELECTIONS}")
        if self.selection == "test" and self.split != "pairs":
            raise ValueError(
                f"leakage protocol {self.name}: 'select on test' is only allowed for the original "
                f"code's protocol (split pairs), not for split {self.split!r}"
            )
        if self.split == "pairs" and self.selection != "test":
            raise ValueError(
                f"leakage protocol {self.name}: split pairs has no validation fold; it exists to "
                "reproduce the original protocol, which selects on the test fold"
            )


def protocol_from_config(name: str, entry: dict) -> Protocol:
    return Protocol(name, entry["split"], entry["selection"], entry.get("label", ""))


def run_dir(protocol: str, experiment: str, dataset: str, dimension: str, fold: int) -> str:
    return RUN_DIR.format(protocol=protocol, experiment=experiment, dataset=dataset,
                          dimension=dimension, fold=fold)


def write_protocol_splits(
    trials_csv: str | Path, splits_csv: str | Path, summary_csv: str | Path, *, split: str,
    n_folds: int, seed: int,
) -> pd.DataFrame:
    """Rule `leakage_splits`: the folds of one split kind (all subjects) -> CSV (splits.csv
    columns + `split`) and its per-fold summary."""
    from edaffect.model_selection.splits import make_protocol_splits

    trials = pd.read_csv(trials_csv, dtype={"trial_id": str, "subject": str, "stimulus": str})
    splits, summary = make_protocol_splits(
        trials, split=split, n_folds=n_folds, seed=seed, origin=str(trials_csv)
    )
    for path, frame in ((splits_csv, splits), (summary_csv, summary)):
        atomic.to_csv(frame, path, index=False)
    log.info("%s split, %d folds: train/val/test/dropped per fold %s", split, n_folds,
             "; ".join(f"{r.n_train}/{r.n_val}/{r.n_test}/{r.n_dropped}"
                       for r in summary.itertuples()))
    return summary


def _write_fold(metrics: dict, predictions: pd.DataFrame, metrics_json: str | Path,
                predictions_csv: str | Path) -> None:
    atomic.to_csv(predictions, predictions_csv, index=False)
    atomic.write_json(metrics_json, metrics, indent=1)


def network_fold(
    experiment: dict, dataset: str, dimension: str, fold: int, protocol: Protocol, *,
    inputs: dict, training: dict, seed: int, threads: int = 1,
) -> tuple[dict, pd.DataFrame]:
    """Train one network fold under `protocol` (selection on validation, or on the test fold
    for the original protocol) -> (metrics, predictions)."""
    from edaffect.models import build_model
    from edaffect.training.trainer import (
        TrainingSettings,
        fold_seed,
        load_fold_data,
        train_and_test,
    )

    train, val, test, info = load_fold_data(experiment, dimension, fold, **inputs)
    if protocol.selection == "test":
        val = test  # the original code's protocol: the tested epoch is chosen on the test fold
    settings = TrainingSettings.from_config(
        training, experiment, seed=fold_seed(seed, experiment["name"], dataset, dimension, fold),
        threads=threads,
    )
    spec = {"experiment": experiment, "in_channels": info["in_channels"],
            "input_length": info["input_length"], "music_dim": info["music_dim"]}
    result = train_and_test(lambda: build_model(**spec), train, val, test, settings, None)
    metrics = {"experiment": experiment["name"], "dataset": dataset, "dimension": dimension,
               "fold": int(fold), "model": experiment["model"], **result.metrics}
    return metrics, result.predictions


def svm_fold(
    experiment: dict, dataset: str, dimension: str, fold: int, *, inputs: dict, c: float,
) -> tuple[dict, pd.DataFrame]:
    """One SVM fold on the protocol's folds (C fixed, so no selection at all)."""
    from edaffect.signal.eda_features import read_features
    from edaffect.signal.music import read_music_table
    from edaffect.training.baselines import (
        fit_svm_fold,
        read_inputs_index,
        read_labels,
        read_splits,
    )

    metrics, predictions, _ = fit_svm_fold(
        experiment=experiment["name"], dataset=dataset, dimension=dimension, fold=fold,
        fraction=1.0, kind=experiment["input"], c=c,
        splits=read_splits(inputs["splits_csv"]), labels=read_labels(inputs["labels_csv"]),
        eda_features=(read_features(inputs["eda_features_csv"])
                      if inputs.get("eda_features_csv") else None),
        music_features=(read_music_table(inputs["music_features_csv"])
                        if inputs.get("music_features_csv") else None),
        keep=read_inputs_index(inputs["inputs_index_csv"]),
    )
    return metrics, predictions


def run_protocol(
    experiment: dict, dataset: str, protocol: Protocol, *, dimensions: list[str],
    folds: list[int], inputs: dict, training: dict, seed: int, c: float,
    metrics_paths: list[str], predictions_paths: list[str], threads: int = 1,
) -> None:
    """Rule `leakage_runs`: every (dimension, fold) of one experiment × dataset × protocol;
    `metrics_paths` / `predictions_paths` are in (dimension, fold) order."""
    jobs = [(d, f) for d in dimensions for f in folds]
    if len(jobs) != len(metrics_paths) or len(jobs) != len(predictions_paths):
        raise ValueError(f"{len(jobs)} (dimension, fold) runs but {len(metrics_paths)} outputs")
    for (dimension, fold), metrics_json, predictions_csv in zip(
        jobs, metrics_paths, predictions_paths, strict=True
    ):
        if experiment["model"] == "svm":
            metrics, predictions = svm_fold(experiment, dataset, dimension, fold, inputs=inputs,
                                            c=c)
        else:
            metrics, predictions = network_fold(
                experiment, dataset, dimension, fold, protocol, inputs=inputs,
                training=training, seed=seed, threads=threads,
            )
        metrics.update({"protocol": protocol.name, "split": protocol.split,
                        "selection": protocol.selection if experiment["model"] != "svm"
                        else "none (C fixed)"})
        _write_fold(metrics, predictions, metrics_json, predictions_csv)
        log.info("%s %s %s %s fold %d: accuracy %.3f", protocol.name, experiment["name"],
                 dataset, dimension, fold, metrics["accuracy"])


# --------------------------------------------------------------------------- the table


def corrected_interval(values: np.ndarray, ratio: float, confidence: float = 0.95):
    """Mean, corrected variance of the mean ((1/k + n_test/n_train)·s², Nadeau & Bengio) and its
    `confidence` interval (t, k − 1 df): `reporting.statistics.corrected_resampled_ttest`."""
    values = np.asarray(values, dtype=float)
    k = values.size
    mean = float(values.mean())
    if k < 2:
        return mean, float("nan"), float("nan"), float("nan")
    test = corrected_resampled_ttest(values, ratio, confidence)
    return mean, (1.0 / k + ratio) * float(values.var(ddof=1)), test.ci_low, test.ci_high


def paired_subject_interval(
    pred_x: pd.DataFrame, pred_y: pd.DataFrame, confidence: float = 0.95
) -> dict:
    """Accuracy of protocol x minus protocol y (points), paired per subject on the trials both
    tested: each subject's accuracy under x minus under y, mean over subjects with a paired-t CI
    (n_subjects − 1 df) and p.  The subject is the unit because the planted effects (and the
    leak) are per subject, so trials of one subject are not independent."""
    cols = ["trial_id", "subject", "y_true", "y_pred"]
    for name, frame in (("x", pred_x), ("y", pred_y)):
        missing = [c for c in cols if c not in frame]
        if missing:
            raise ValueError(f"predictions of protocol {name} lack columns {missing}")
        if frame["trial_id"].duplicated().any():
            dup = frame.loc[frame["trial_id"].duplicated(), "trial_id"].iloc[0]
            raise ValueError(f"predictions of protocol {name}: trial {dup} tested twice")
    both = pred_x[cols].merge(pred_y[cols], on="trial_id", suffixes=("_x", "_y"))
    bad = both[(both["subject_x"] != both["subject_y"]) | (both["y_true_x"] != both["y_true_y"])]
    if not bad.empty:
        raise ValueError(f"trial {bad['trial_id'].iloc[0]}: subject or label differs between "
                         "the two protocols' predictions")
    both["diff"] = ((both["y_pred_x"] == both["y_true_x"]).astype(float)
                    - (both["y_pred_y"] == both["y_true_y"]).astype(float)) * 100.0
    per_subject = both.groupby("subject_x")["diff"].mean().to_numpy()
    n = per_subject.size
    out = {"n_subjects": int(n), "n_trials": int(len(both)),
           "mean": float(per_subject.mean()) if n else float("nan"),
           "ci_low": float("nan"), "ci_high": float("nan"), "p": float("nan")}
    if n < 2:
        return out
    # a plain paired t over subjects: the corrected resampled t-test with no train/test overlap
    test = corrected_resampled_ttest(per_subject, 0.0, confidence)
    out.update(ci_low=test.ci_low, ci_high=test.ci_high, p=test.p_value)
    return out


RUN_KEYS = ("protocol", "experiment", "dataset", "dimension")


def load_runs(paths: list[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every fold's metrics.json (one row each) and the test predictions.csv beside it (one row
    per tested trial), both keyed by protocol, experiment, dataset, dimension and fold."""
    rows, predictions = [], []
    for path in paths:
        record = json.loads(Path(path).read_text())
        missing = [k for k in (*RUN_KEYS, "fold", "accuracy", "n_train", "n_test")
                   if k not in record]
        if missing:
            raise ValueError(f"{path}: metrics.json lacks {missing}")
        rows.append({k: record[k] for k in (*RUN_KEYS, "fold", "accuracy", "f1", "n_train",
                                            "n_test")})
        pred_path = Path(path).parent / "predictions.csv"
        if not pred_path.exists():
            raise ValueError(f"{path}: no predictions.csv beside it ({pred_path})")
        frame = pd.read_csv(pred_path, dtype={"trial_id": str, "subject": str})
        if len(frame) != int(record["n_test"]):
            raise ValueError(f"{pred_path}: {len(frame)} predictions but metrics.json says "
                             f"n_test = {record['n_test']}")
        predictions.append(frame.assign(**{k: record[k] for k in (*RUN_KEYS, "fold")}))
    return pd.DataFrame(rows), pd.concat(predictions, ignore_index=True)


def leakage_table(runs: pd.DataFrame, predictions: pd.DataFrame, protocols: list[Protocol],
                  reference: str = "b", leaky: str = "a") -> pd.DataFrame:
    """One row per (dataset, experiment, dimension): each protocol's accuracy (%, mean ± std
    over folds, corrected 95 % CI over folds) and every other protocol minus `reference` in
    points, paired per subject on the trials both tested (`paired_subject_interval`)."""
    out = []
    names = [p.name for p in protocols]
    tested = {key: group for key, group in predictions.groupby(list(RUN_KEYS), sort=False)}
    for (dataset, experiment, dimension), group in runs.groupby(
        ["dataset", "experiment", "dimension"], sort=False
    ):
        row: dict = {"dataset": dataset, "experiment": experiment, "dimension": dimension}
        present = []
        for name in names:
            sub = group[group["protocol"] == name].sort_values("fold")
            if sub.empty:
                continue
            present.append(name)
            acc = sub["accuracy"].to_numpy() * 100.0
            ratio = float(np.mean(sub["n_test"] / sub["n_train"]))
            mean, _, low, high = corrected_interval(acc, ratio)
            row.update({f"{name}_n_folds": len(acc), f"{name}_mean": mean,
                        f"{name}_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                        f"{name}_ci_low": low, f"{name}_ci_high": high,
                        f"{name}_n_test": int(sub["n_test"].sum())})
        if reference in present:
            ref = tested[(reference, experiment, dataset, dimension)]
            for name in present:
                if name == reference:
                    continue
                result = paired_subject_interval(tested[(name, experiment, dataset, dimension)],
                                                 ref)
                stem = "inflation" if name == leaky else f"{name}_minus_{reference}"
                row.update({stem: result["mean"], f"{stem}_ci_low": result["ci_low"],
                            f"{stem}_ci_high": result["ci_high"], f"{stem}_p": result["p"],
                            f"{stem}_n_subjects": result["n_subjects"],
                            f"{stem}_n_trials": result["n_trials"]})
        out.append(row)
    return pd.DataFrame(out)


def _cell(row: pd.Series, name: str) -> str:
    if not np.isfinite(row.get(f"{name}_mean", np.nan)):
        return "—"
    return (f"{row[f'{name}_mean']:.1f} ± {row[f'{name}_std']:.1f} "
            f"[{row[f'{name}_ci_low']:.1f}, {row[f'{name}_ci_high']:.1f}]")


def _diff_cell(row: pd.Series, stem: str) -> str:
    value = row.get(stem, np.nan)
    if not np.isfinite(value):
        return "—"
    p = row[f"{stem}_p"]
    ptext = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    return (f"{value:+.1f} [{row[f'{stem}_ci_low']:+.1f}, {row[f'{stem}_ci_high']:+.1f}], "
            f"{ptext}, {int(row[f'{stem}_n_subjects'])} subjects")


def header(protocols: list[Protocol], config_line: str, n_folds: int, epochs: int) -> str:
    described = "; ".join(f"({p.name}) {p.label or p.split}" for p in protocols)
    return (
        f"**Leakage inflation** — accuracy (%) of the same models under each protocol: "
        f"{described}. {n_folds} folds per protocol"
        + ("" if n_folds == PAPER_FOLDS
           else f" (DEVIATES from the paper and the original code: {PAPER_FOLDS})")
        + f", networks trained {epochs} epochs. Cells: mean "
        "± std over folds [corrected 95 % CI of the mean over folds: t, k − 1 df, variance (1/k "
        "+ n_test/n_train)·s², Nadeau & Bengio]. Inflation = (a) − (b) in points, PAIRED PER "
        "SUBJECT: (a) and (b) each test every trial once over their folds, so each subject's "
        "accuracy under (a) minus under (b) is one paired difference; the inflation is their "
        "mean over subjects with a paired-t 95 % CI and p over subjects (n_subjects − 1 df; t "
        "rather than a bootstrap because a percentile bootstrap under-covers at 10-30 subjects, "
        "and each subject's difference is a mean of 16-40 trials; checked against scipy's "
        "ttest_rel in tests/studies/test_leakage.py). (c) − (b) is paired the same way on the "
        "trials (c) "
        "tests. The subject is the unit because the planted effects, and the leak, are per "
        "subject; the CI is conditional on the trained models (training randomness is in the "
        "fold CIs). (a) also trains on one more fold than (b) (no validation fold) and, for the "
        "network, picks its epoch on the test fold, as the original code did; the SVM has no "
        "selection step (C fixed), so its inflation is the split's alone. Predicted on "
        "synthetic data: (a) ≥ (b) by a few points, not more. The generator gives each subject "
        "its own EDA baselines (tonic level, SCR rate and amplitude, noise) and rating offset "
        "and scale (edaffect.synthetic), but labels are thresholded per subject, so a "
        "subject's label balance is near 50 % and knowing the subject is worth little by "
        "itself; the baselines help only a model that conditions on the subject, which a "
        "linear SVM cannot (no per-subject offset) and the network, whose inputs are z-scored "
        "per trial, only partly; a network that predicts one class under both protocols has "
        "an inflation of exactly 0 (docs/leakage.md). " + config_line
    )


def write_leakage_table(
    metrics_paths: list[str], protocols: list[Protocol], csv_path: str | Path,
    md_path: str | Path, figure_png: str | Path, figure_pdf: str | Path, *, config_line: str,
    n_folds: int, epochs: int,
) -> pd.DataFrame:
    """Rule `leakage_table`: results/tables/leakage.{csv,md} and the figure (each metrics.json's
    predictions.csv beside it is read for the paired inflation)."""
    runs, predictions = load_runs(metrics_paths)
    protocols = sorted((p for p in protocols if (runs["protocol"] == p.name).any()),
                       key=lambda p: p.name)
    table = leakage_table(runs, predictions, protocols)
    text = header(protocols, config_line, n_folds, epochs)
    if "inflation" in table:
        positive = int((table["inflation"] > 0).sum())
        resolved = table["inflation_ci_low"] > 0
        unresolved = "; ".join(
            f"{r.dataset} {r.experiment} {r.dimension}" for r in table[~resolved].itertuples()
        )
        text += (
            f" Measured: (a) > (b) in {positive} of {len(table)} rows, with the paired 95 % CI "
            f"above 0 in {int(resolved.sum())} (mean inflation {table['inflation'].mean():+.1f} "
            "points)."
            + (f" The CI still includes 0 (or lies below it) for: {unresolved}." if unresolved
               else "")
        )
    shown = pd.DataFrame({
        "Dataset": table["dataset"], "Model": table["experiment"],
        "Dimension": table["dimension"],
        **{f"({p.name}) {p.split}, select on {p.selection}": [
            _cell(r, p.name) for _, r in table.iterrows()] for p in protocols},
        "Inflation (a) − (b), paired over subjects": [
            _diff_cell(r, "inflation") for _, r in table.iterrows()],
    })
    for p in protocols:
        stem = f"{p.name}_minus_b"
        if stem in table:
            shown[f"({p.name}) − (b)"] = [_diff_cell(r, stem) for _, r in table.iterrows()]
    with atomic.atomic_open(csv_path, "w", newline="") as handle:
        handle.write("# " + text.replace("**", "") + "\n")
        table.to_csv(handle, index=False)
    atomic.write_text(
        md_path, text + "\n\n" + shown.to_markdown(index=False, disable_numparse=True) + "\n"
    )
    leakage_figure(table, protocols, figure_png, figure_pdf, config_line)
    return table


def leakage_figure(table: pd.DataFrame, protocols: list[Protocol], png: str | Path,
                   pdf: str | Path, title_line: str) -> None:
    """Top: accuracy per protocol with corrected 95 % CIs over folds, one group per (dataset,
    model), one panel per dimension; bottom: the inflation (a) − (b) with its paired CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = list(dict.fromkeys(table["dimension"]))
    fig, axes = plt.subplots(2, len(dims), figsize=(5.5 * len(dims), 6.4), squeeze=False,
                             sharey="row", height_ratios=(3, 2))
    width = 0.8 / max(1, len(protocols))
    colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    for ax, dim in zip(axes[0], dims, strict=True):
        sub = table[table["dimension"] == dim].reset_index(drop=True)
        x = np.arange(len(sub))
        for i, p in enumerate(protocols):
            if f"{p.name}_mean" not in sub:
                continue
            mean = sub[f"{p.name}_mean"].to_numpy(dtype=float)
            # an accuracy lies in [0, 100] %: the drawn CI is clipped there (the table keeps it)
            low = np.clip(sub[f"{p.name}_ci_low"].to_numpy(dtype=float), 0.0, 100.0)
            high = np.clip(sub[f"{p.name}_ci_high"].to_numpy(dtype=float), 0.0, 100.0)
            err = np.vstack([mean - low, high - mean])
            ax.bar(x + (i - (len(protocols) - 1) / 2) * width, mean, width, yerr=err,
                   capsize=2, color=colours[i % len(colours)],
                   label=f"({p.name}) {p.split}, select on {p.selection}")
        ax.axhline(50, color="grey", lw=0.8, ls="--")
        names = [f"{d}\n{e}" for d, e in zip(sub["dataset"], sub["experiment"], strict=True)]
        ax.set_xticks(x, names, fontsize=8)
        ax.set_title(dim.capitalize(), fontsize=10)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(0, 105)
        low_ax = axes[1, list(dims).index(dim)]
        if "inflation" in sub:
            value = sub["inflation"].to_numpy(dtype=float)
            err = np.vstack([value - sub["inflation_ci_low"].to_numpy(dtype=float),
                             sub["inflation_ci_high"].to_numpy(dtype=float) - value])
            low_ax.errorbar(x, value, yerr=err, fmt="o", color="#d62728", capsize=3)
        low_ax.axhline(0, color="grey", lw=0.8)
        low_ax.set_xticks(x, names, fontsize=8)
        low_ax.set_ylabel("(a) − (b), points")
        low_ax.grid(axis="y", alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Leakage inflation: original protocol (a) vs ours (b, c); top: corrected 95 % "
                 "CIs over folds (drawn within 0-100 %), bottom: (a) − (b) with the paired 95 % "
                 f"CI over subjects\n"
                 f"{title_line}", fontsize=9)
    fig.tight_layout()
    for path in (png, pdf):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=150, bbox_inches="tight")
    fig.savefig(pdf, bbox_inches="tight")
    plt.close(fig)
