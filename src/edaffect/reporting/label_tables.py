"""The paper's Table 1 (high/low label counts) and Table 2 (Spearman r between V and A).

Both are computed from `results/{dataset}/labels.csv` (all labelled trials of a dataset: the
k-means thresholds are fitted on them) and printed beside the published values, with a column
naming the data that produced ours. Table 1 also counts the subset that reaches the model inputs
(`inputs_index.csv`: trials that passed preprocessing), the trials the networks are scored on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from edaffect.model_selection.labels import read_labels
from edaffect.reporting.paper import load_paper_values, paper_value, write_table

PAPER = "rtcan-1d"
PAPER_NAMES = {"pmemo": "PMEmo", "deap": "DEAP", "amigos": "AMIGOS"}
PAPER_ORDER = ("pmemo", "deap", "amigos")  # the paper's row order


def data_description(labels: pd.DataFrame, synthetic: bool) -> str:
    """'synthetic, 30 subjects, 450 trials' — the data that produced our numbers."""
    kind = "synthetic" if synthetic else "real"
    return f"{kind}, {labels['subject'].nunique()} subjects, {len(labels)} trials"


def _ordered(datasets: dict) -> list[str]:
    known = [d for d in PAPER_ORDER if d in datasets]
    return known + [d for d in datasets if d not in known]


def table1(
    labels: dict[str, pd.DataFrame], synthetic: dict[str, bool], paper_values: pd.DataFrame,
    used: dict[str, set[str]] | None = None,
) -> pd.DataFrame:
    """Counts and percentages of high (1) / low (0) labels per dataset and dimension: of all
    labelled trials and (`used`: trial ids with model inputs) of those reaching the models."""
    rows = []
    for dataset in _ordered(labels):
        frame = labels[dataset]
        model_rows = (
            frame[frame["trial_id"].astype(str).isin(used[dataset])]
            if used is not None and dataset in used else None
        )
        for dim in ("arousal", "valence"):  # the paper lists arousal first
            column = frame[f"{dim}_label"].astype(int)
            n = len(column)
            high = int((column == 1).sum())
            key = {"method": "kmeans-labels", "dataset": PAPER_NAMES.get(dataset, dataset)}

            def published(metric: str, key=key, dim=dim) -> float | None:
                return paper_value(
                    paper_values, paper=PAPER, table=1, dimension=dim, metric=metric, key=key
                )

            rows.append(
                {
                    "dataset": PAPER_NAMES.get(dataset, dataset),
                    "dimension": dim,
                    "high_count": high,
                    "paper_high_count": published("high_count"),
                    "high_percent": round(100.0 * high / n, 1) if n else np.nan,
                    "paper_high_percent": published("high_percent"),
                    "low_count": n - high,
                    "paper_low_count": published("low_count"),
                    "low_percent": round(100.0 * (n - high) / n, 1) if n else np.nan,
                    "paper_low_percent": published("low_percent"),
                    **_used_counts(model_rows, dim),
                    "data": data_description(frame, synthetic[dataset]),
                }
            )
    return pd.DataFrame(rows)


def _used_counts(frame: pd.DataFrame | None, dim: str) -> dict:
    """High/low counts of the trials that reach the model inputs (NaN when not given)."""
    if frame is None:
        return {}
    column = frame[f"{dim}_label"].astype(int)
    n, high = len(column), int((column == 1).sum())
    return {
        "model_input_trials": n,
        "model_input_high_count": high,
        "model_input_high_percent": round(100.0 * high / n, 1) if n else np.nan,
        "model_input_low_count": n - high,
        "model_input_low_percent": round(100.0 * (n - high) / n, 1) if n else np.nan,
    }


def spearman_va(labels: pd.DataFrame) -> tuple[float, float]:
    """Spearman r and two-sided p between all valence and arousal ratings of a dataset."""
    result = stats.spearmanr(labels["valence"].astype(float), labels["arousal"].astype(float))
    return float(result.statistic), float(result.pvalue)


def table2(
    labels: dict[str, pd.DataFrame], synthetic: dict[str, bool], paper_values: pd.DataFrame
) -> pd.DataFrame:
    """Spearman correlation of the valence and arousal ratings per dataset (paper Table 2)."""
    rows = []
    for dataset in _ordered(labels):
        frame = labels[dataset]
        r, p = spearman_va(frame)
        key = {"method": "spearman", "dataset": PAPER_NAMES.get(dataset, dataset)}
        rows.append(
            {
                "dataset": PAPER_NAMES.get(dataset, dataset),
                "n_trials": len(frame),
                "spearman_r": round(r, 3),
                "paper_r": paper_value(
                    paper_values, paper=PAPER, table=2, dimension="valence-arousal",
                    metric="r", key=key,
                ),
                "p_value": float(f"{p:.3g}"),
                "paper_p_max": paper_value(
                    paper_values, paper=PAPER, table=2, dimension="valence-arousal",
                    metric="p_max", key=key,
                ),
                "data": data_description(frame, synthetic[dataset]),
            }
        )
    return pd.DataFrame(rows)


def header(table: str, labels: dict[str, pd.DataFrame], synthetic: dict[str, bool],
           config_sha: str) -> str:
    """The .md provenance line: which data (synthetic/real, size) and which config made it."""
    parts = [
        f"{d} = {data_description(labels[d], synthetic[d])}" for d in _ordered(labels)
    ]
    what = {
        "table1": "binary labels from per-subject k-means thresholds (high = rating > threshold); "
        "high/low_*: all labelled trials (the thresholds are fitted on them); model_input_*: the "
        "subset that reaches the model inputs (passed preprocessing, inputs_index.csv), i.e. what "
        "the networks and baselines are trained and scored on",
        "table2": "Spearman r between all valence and arousal ratings of a dataset, two-sided p; "
        "paper_p_max: the paper reports p ≤ this",
    }[table]
    text = (
        f"**Table {table.removeprefix('table')}** — data: {'; '.join(parts)}; "
        f"config sha256 {config_sha}. "
        f"{what}. paper_*: published value (RTCAN-1D paper)."
    )
    if any(synthetic.values()):
        text += " Synthetic data: these numbers are NOT a reproduction of the paper's."
    return text


def write_label_table(
    table: str,
    labels_csvs: dict[str, str | Path],
    synthetic: dict[str, bool],
    csv_path: str | Path,
    md_path: str | Path,
    config_sha: str,
    paper_tables: str | Path | None = None,
    inputs_index_csvs: dict[str, str | Path] | None = None,
) -> pd.DataFrame:
    """Rules `table1` / `table2`: labels.csv of each dataset → table{1,2}.{csv,md}
    (Table 1 with `inputs_index_csvs` also counts the trials that reach the model inputs)."""
    labels = {d: read_labels(p) for d, p in labels_csvs.items()}
    values = load_paper_values(paper_tables)
    if table == "table1":
        used = None
        if inputs_index_csvs:
            used = {
                d: set(pd.read_csv(p, dtype={"trial_id": str})["trial_id"])
                for d, p in inputs_index_csvs.items()
            }
        frame = table1(labels, synthetic, values, used)
    else:
        frame = table2(labels, synthetic, values)
    Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
    write_table(frame, csv_path, md_path, header(table, labels, synthetic, config_sha))
    return frame
