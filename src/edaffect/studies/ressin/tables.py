"""Res-SIN Tables 1 and 2 (Yin et al., ICIP 2019): ours beside the published values, with the
study's fold-paired comparison (`statistics.compare_fold_frames`, identical test trials) and the
provenance line of every table (`reporting.provenance`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.reporting.paper import load_paper_values, paper_value
from edaffect.reporting.provenance import dataset_kind, provenance_line
from edaffect.reporting.result_tables import load_fold_metrics
from edaffect.reporting.statistics import TEST_NAME, compare_fold_frames, format_comparison
from edaffect.reporting.table_spec import (
    PAPER_FOLDS,
    SINGLE_CLASS_MARK,
    SINGLE_CLASS_NOTE,
    single_class_cell,
    single_class_flagged,
)
from edaffect.studies.ressin.components import RESSIN_WEIGHT_DECAY, ResSINSettings

PAPER = "res-sin"
CLASSIFICATION_METRICS = ("accuracy", "f1", "precision", "recall")
TABLE1_PAPER_INPUT = {"baseline": "baseline (Zhang et al.)", "tonic": "tonic", "phasic": "phasic"}
TABLE2_COMPONENTS = ("origin", "tonic", "phasic", "mix")
# Table 2 (2): our row name -> (paper method, paper input) in paper_tables.csv (table 2b).
TABLE2_FEATURES = {
    "eda": ("Res-SI subnet", "EDA", "Res-SI subnet + EDA"),
    "music": ("SVM", "Music", "SVM + Music"),
    "multi": ("Res-SIN", "EDA + Music (multi-feature)", "Res-SIN + Multi-feature"),
}


def _fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{float(value):.{digits}f}"


def _fmt_pct(mean, std=None) -> str:
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "—"
    return f"{mean:.1f} ± {std:.1f}" if std is not None else f"{mean:.2f}"


def header_line(table: str, config: dict, dataset: str, n_trials: int,
                n_subjects: int | None) -> str:
    """The table's first line: the run's provenance line (`reporting.provenance`)."""
    subjects = f" of {n_subjects} subjects" if n_subjects else ""
    size = f"{n_trials} trials{subjects}"
    line = f"**Res-SIN {table}** — {provenance_line(config, {dataset: size})}."
    if dataset_kind(config, dataset) == "SYNTHETIC":
        line += " Synthetic data: these numbers are NOT a reproduction of the paper's."
    return line


def write_table1(
    regression_csv: str | Path,
    csv_path: str | Path,
    md_path: str | Path,
    config: dict,
    dataset: str = "pmemo",
    paper_tables: str | Path | None = None,
) -> pd.DataFrame:
    """Res-SIN Table 1: our MLR/SVR RMSE and Pearson r beside the published values."""
    ours = pd.read_csv(regression_csv)
    paper = load_paper_values(paper_tables)
    rows = []
    for item in ours.itertuples(index=False):
        key = {"method": item.method, "input": TABLE1_PAPER_INPUT[item.input]}
        values = {
            metric: paper_value(paper, paper=PAPER, table=1, dimension=item.dimension,
                                metric=metric, key=key)
            for metric in ("rmse", "pearson_r")
        }
        rows.append(
            {
                "method": item.method,
                "dimension": item.dimension,
                "input": item.input,
                "paper_input": TABLE1_PAPER_INPUT[item.input],
                "rmse": item.rmse,
                "rmse_paper": values["rmse"],
                "pearson_r": item.pearson_r,
                "pearson_r_paper": values["pearson_r"],
                "n_trials": item.n_trials,
                "n_folds": item.n_folds,
            }
        )
    numeric = pd.DataFrame(rows)
    order = {"arousal": 0, "valence": 1}
    numeric = numeric.sort_values(
        ["method", "dimension", "input"],
        key=lambda s: s.map(order) if s.name == "dimension" else s.map(
            {"baseline": 0, "tonic": 1, "phasic": 2}) if s.name == "input" else s,
    ).reset_index(drop=True)
    display = pd.DataFrame(
        {
            "Method": numeric["method"],
            "V/A": numeric["dimension"].str.capitalize(),
            "Input (ours / paper)": numeric["input"] + " / " + numeric["paper_input"],
            "RMSE ours": numeric["rmse"].map(_fmt),
            "RMSE paper": numeric["rmse_paper"].map(_fmt),
            "r ours": numeric["pearson_r"].map(_fmt),
            "r paper": numeric["pearson_r_paper"].map(_fmt),
        }
    )
    header = header_line("Table 1", config, dataset, int(numeric["n_trials"].max()), None)
    header += (
        " Regression of the static ratings (dataset scale) from signals low-pass filtered at "
        "0.6 Hz and z-scored, out-of-fold predictions of the subject-independent folds pooled. "
        "Paper 'baseline' = Zhang et al. (PMEmo), ours = the EDA signal itself."
    )
    _write(numeric, display, csv_path, md_path, header)
    return numeric


def _write(numeric: pd.DataFrame, display: pd.DataFrame, csv_path, md_path, header: str) -> None:
    """The numbers as CSV; the shown table as Markdown led by its header."""
    atomic.to_csv(numeric, csv_path, index=False)
    with atomic.atomic_open(md_path, "w") as handle:
        handle.write(header.rstrip() + "\n\n")
        handle.write(display.to_markdown(index=False) if len(display) else "(no rows)")
        handle.write("\n")


def _summary(folds: pd.DataFrame) -> dict:
    out = {"n_folds": len(folds), "n_test": int(folds["n_test"].sum())}
    for metric in CLASSIFICATION_METRICS:
        values = folds[metric].astype(float) * 100.0
        out[f"{metric}_mean"] = float(values.mean())
        out[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    known = [bool(v) for v in folds["single_class"] if v is not None and not pd.isna(v)]
    out["single_class_folds"] = sum(known) if known else None
    out["single_class_known"] = len(known)
    out["single_class_flag"] = single_class_flagged(sum(known), len(known)) if known else None
    return out


def _paired(folds: pd.DataFrame, row: str, reference: str, dimension: str, metric: str):
    """Row minus reference, fold by fold; the folds must test identical trials."""

    def pick(name):
        sel = folds[(folds["experiment"] == name) & (folds["dimension"] == dimension)]
        return sel.sort_values("fold")

    return compare_fold_frames(pick(row), pick(reference), metric, with_test_ids=True)


def build_table2(
    folds: pd.DataFrame, table2: dict, dimensions: list[str], paper: pd.DataFrame
) -> pd.DataFrame:
    """Numeric Res-SIN Table 2: (1) inputs origin/tonic/phasic/mix, each compared with mix by a
    fold-paired test; (2) EDA only / SVM + music / multi-feature, compared with multi-feature."""
    components, features = table2["components"], table2["features"]
    rows = []
    parts = [
        ("components", name, components[name], "Res-SIN", name, "2a", components["mix"])
        for name in TABLE2_COMPONENTS
    ] + [
        ("features", name, features[name], TABLE2_FEATURES[name][0], TABLE2_FEATURES[name][1],
         "2b", features["multi"])
        for name in TABLE2_FEATURES
    ]
    for dimension in dimensions:
        for part, name, experiment, method, paper_input, table, reference in parts:
            sel = folds[(folds["experiment"] == experiment) & (folds["dimension"] == dimension)]
            if sel.empty:
                raise ValueError(f"Res-SIN Table 2: no metrics.json for {experiment} {dimension}")
            row = {
                "part": part,
                "dimension": dimension,
                "row": name,
                "experiment": experiment,
                "reference": reference,
                **_summary(sel),
            }
            for metric in CLASSIFICATION_METRICS:
                row[f"{metric}_paper"] = paper_value(
                    paper, paper=PAPER, table=table, dimension=dimension, metric=metric,
                    key={"method": method, "input": paper_input},
                )
            for metric in ("accuracy", "f1"):
                prefix = f"{metric}_vs_ref"
                if experiment == reference:
                    row[f"{prefix}_note"] = "reference"
                    continue
                result = _paired(folds, experiment, reference, dimension, metric)
                row[f"{prefix}_diff"] = result.mean_diff * 100.0
                row[f"{prefix}_ci_low"] = result.ci_low * 100.0
                row[f"{prefix}_ci_high"] = result.ci_high * 100.0
                row[f"{prefix}_p"] = result.p_value
                row[f"{prefix}_note"] = format_comparison(result)
            rows.append(row)
    return pd.DataFrame(rows)


def write_table2(
    metrics_paths: list[str | Path],
    csv_path: str | Path,
    md_path: str | Path,
    config: dict,
    dataset: str = "pmemo",
    paper_tables: str | Path | None = None,
) -> pd.DataFrame:
    """Res-SIN Table 2 from per-fold metrics.json, with the published values beside ours."""
    settings = ResSINSettings.from_config(config["ressin"])
    folds = load_fold_metrics(metrics_paths)
    folds = folds[folds["dataset"] == dataset]
    dimensions = list(config["dimensions"])
    numeric = build_table2(folds, settings.table2, dimensions, load_paper_values(paper_tables))
    display = pd.DataFrame(
        {
            "Part": numeric["part"].map({"components": "(1) input", "features": "(2) features"}),
            "V/A": numeric["dimension"].map({"valence": "V", "arousal": "A"}),
            "Row": [
                name if part == "components" else TABLE2_FEATURES[name][2]
                for part, name in zip(numeric["part"], numeric["row"], strict=True)
            ],
            "Experiment": numeric["experiment"],
        }
    )
    for metric, label in zip(CLASSIFICATION_METRICS, ("Acc", "F1", "Prec", "Rec"), strict=True):
        means, stds = numeric[f"{metric}_mean"], numeric[f"{metric}_std"]
        display[f"{label} ours"] = [_fmt_pct(m, s) for m, s in zip(means, stds, strict=True)]
        display[f"{label} paper"] = numeric[f"{metric}_paper"].map(lambda v: _fmt(v, 2))
    display["Single-class folds"] = [
        single_class_cell(k, n)
        for k, n in zip(numeric["single_class_folds"], numeric["single_class_known"], strict=True)
    ]
    display["Row"] = [
        f"{SINGLE_CLASS_MARK} {name}" if flag is True else name
        for name, flag in zip(display["Row"], numeric["single_class_flag"], strict=True)
    ]
    for metric, label in (("accuracy", "Acc"), ("f1", "F1")):
        display[f"Δ{label} vs mix/multi [95% CI]"] = [
            note if isinstance(note, str) else "—" for note in numeric[f"{metric}_vs_ref_note"]
        ]
    trials = int(numeric["n_test"].max())
    folds = int(numeric["n_folds"].max())
    fold_note = "" if folds == PAPER_FOLDS else f" (DEVIATES from the paper's {PAPER_FOLDS})"
    header = header_line("Table 2", config, dataset, trials, None)
    header += (
        f" Ours: mean ± std over {folds} subject-independent folds{fold_note} (%); "
        "paper: published value (%). (1) rows fuse music (the paper's 'mix' = its "
        "multi-feature result); Δ: the row minus mix (part 1) or multi-feature (part 2), "
        f"in points, {TEST_NAME}, on folds that test identical trials."
    )
    header += unstated_settings(config) + SINGLE_CLASS_NOTE
    _write(numeric, display.fillna("—"), csv_path, md_path, header)
    return numeric


def unstated_settings(config: dict) -> str:
    """Res-SIN settings its paper does not state, as used here (Table 2 header)."""
    training, ressin = config["training"], config["ressin"]
    n_folds = int(config["split"]["n_folds"])
    return (
        " Not stated by the paper (ours): SGD momentum "
        f"{training['momentum']:g} and weight decay {RESSIN_WEIGHT_DECAY:g}; batch norm "
        f"after each 3×3 conv: {'yes' if ressin['batch_norm'] else 'no'}; PyTorch's default "
        "(Kaiming) initialisation; the lr step of "
        f"{ressin['lr_step_iterations']} iterations rounded to whole epochs; validation set: "
        f"the subjects of fold (k + 1) mod {n_folds}, taken out of training, chooses the epoch."
    )
