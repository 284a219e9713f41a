"""The paper's Tables 3–6 from our per-fold metrics.json files, with the published values beside.

Every table row comes from `config["tables"][table]` (our experiment + dataset + the key of the
paper's value), so a new row is a config edit. Our values are mean ± std over folds, in percent,
like the paper's. Tables 3 and 5 also compare each row with a reference model (RTCAN-1D on PMEmo;
R_f per dataset) by a fold-paired test (see `statistics`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.reporting.paper import load_paper_values, paper_value
from edaffect.reporting.statistics import (
    compare_fold_frames,
    format_comparison,
    format_p,
    holm_adjust,
)
from edaffect.reporting.table_headers import data_header
from edaffect.reporting.table_rendering import display_table, to_latex
from edaffect.reporting.table_spec import (
    CEILING_SOURCE,
    DIMENSIONS,
    METRICS,
    MODULE_NAMES,
    PAPER,
    PAPER_METRICS,
    REFERENCES,
    REQUIRED_KEYS,
    ceiling_settings,
    is_missing,
    single_class,
    single_class_flagged,
)
from edaffect.training.planted_ceiling import load_ceiling, majority_share, share_recovered
from edaffect.training.planted_ceiling import summary as ceiling_summary


def load_fold_metrics(paths: list[str | Path]) -> pd.DataFrame:
    """One row per metrics.json (keys checked); adds `n_subjects_test` from predictions.csv."""
    records = []
    for path in paths:
        path = Path(path)
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: cannot read metrics.json ({err})") from err
        missing = [key for key in REQUIRED_KEYS if key not in record]
        if missing:
            raise ValueError(f"{path}: metrics.json lacks key(s) {missing}")
        for key in METRICS:
            value = record[key]
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{path}: {key} = {value!r} is not a number in [0, 1]")
        predictions = path.with_name("predictions.csv")
        subjects, trial_ids, one_class, majority = None, None, None, None
        if predictions.is_file():
            pred = pd.read_csv(predictions, dtype={"subject": str, "trial_id": str})
            subjects = sorted(pred["subject"].unique())
            trial_ids = frozenset(pred["trial_id"])
            one_class = single_class(pred, predictions)
            majority = majority_share(pred["y_true"]) if len(pred) else None
        records.append(
            {
                "experiment": str(record["experiment"]),
                "dataset": str(record["dataset"]),
                "dimension": str(record["dimension"]),
                "fold": int(record["fold"]),
                **{key: float(record[key]) for key in METRICS},
                "n_train": int(record["n_train"]),
                "n_test": int(record["n_test"]),
                "n_parameters": record.get("n_parameters"),
                "seconds_per_epoch": record.get("seconds_per_epoch"),
                "device": record.get("device"),
                "test_subjects": subjects,
                "test_trials": trial_ids,
                "single_class": one_class,
                "majority": majority,
                "path": str(path),
            }
        )
    frame = pd.DataFrame.from_records(records)
    if len(frame):
        dup = frame.duplicated(["experiment", "dataset", "dimension", "fold"], keep=False)
        if dup.any():
            raise ValueError(f"the same fold appears twice: {frame.loc[dup, 'path'].tolist()}")
    return frame


def _mean_std(values: pd.Series) -> tuple[float, float]:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return float("nan"), float("nan")
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return float(values.mean()), std


def _row_summary(folds: pd.DataFrame) -> dict:
    """Mean/std over folds (in percent) of one experiment × dataset × dimension."""
    out: dict = {"n_folds": len(folds), "n_test": int(folds["n_test"].sum())}
    for key in METRICS:
        mean, std = _mean_std(folds[key] * 100.0)
        out[f"{key}_mean"], out[f"{key}_std"] = mean, std
    known = [bool(v) for v in folds["single_class"] if v is not None and not is_missing(v)]
    out["single_class_folds"] = sum(known) if known else None
    out["single_class_known"] = len(known)
    out["single_class_flag"] = single_class_flagged(sum(known), len(known)) if known else None
    majority = [float(v) for v in folds["majority"] if not is_missing(v)]
    out["majority_mean"] = 100.0 * float(np.mean(majority)) if majority else float("nan")
    subjects = [s for s in folds["test_subjects"] if s is not None]
    out["n_subjects"] = len(set().union(*map(set, subjects))) if subjects else None
    out["n_parameters"] = _mean_std(folds["n_parameters"])[0]
    out["seconds_per_epoch_mean"], out["seconds_per_epoch_std"] = _mean_std(
        folds["seconds_per_epoch"]
    )
    devices = sorted({str(d) for d in folds["device"] if d is not None})
    out["device"] = ",".join(devices) if devices else None
    return out


def _select(folds: pd.DataFrame, experiment: str, dataset: str, dimension: str) -> pd.DataFrame:
    sel = (folds["experiment"] == experiment) & (folds["dataset"] == dataset)
    return folds[sel & (folds["dimension"] == dimension)].sort_values("fold")


def _key_text(key: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in key.items())


def _find_reference(table: str, rows: list[dict], row: dict) -> dict | None:
    if table not in REFERENCES:
        return None
    method, per_dataset = REFERENCES[table]
    for candidate in rows:
        if candidate["paper"].get("method") != method:
            continue
        if per_dataset and candidate["dataset"] != row["dataset"]:
            continue
        return candidate
    return None


def _comparison(
    folds: pd.DataFrame,
    row: dict,
    ref: dict,
    dimension: str,
    metric: str,
    experiments: dict[str, dict],
):
    mine = _select(folds, row["experiment"], row["dataset"], dimension)
    theirs = _select(folds, ref["experiment"], ref["dataset"], dimension)
    frac_m = float(experiments.get(row["experiment"], {}).get("fraction", 1.0))
    frac_r = float(experiments.get(ref["experiment"], {}).get("fraction", 1.0))
    same_split, note = True, ""
    if row["dataset"] != ref["dataset"]:
        same_split, note = False, f"different dataset ({row['dataset']} vs {ref['dataset']})"
    elif not math.isclose(frac_m, frac_r):
        same_split, note = False, f"different subject subsets ({frac_m:g} vs {frac_r:g})"
    return compare_fold_frames(
        mine, theirs, metric, same_split=same_split, split_note=note, with_test_ids=True
    )


def build_result_table(
    table: str,
    rows: list[dict],
    folds: pd.DataFrame,
    paper_values: pd.DataFrame,
    experiments: dict[str, dict],
) -> pd.DataFrame:
    """Numeric table: one line per config row with ours (mean/std, %), the paper's and the tests."""
    table_no = table.removeprefix("table")
    lines = []
    for index, row in enumerate(rows):
        key = dict(row["paper"])
        exp = experiments.get(row["experiment"], {})
        line: dict = {
            "row": index,
            "source": "ours",
            "experiment": row["experiment"],
            "dataset": row["dataset"],
            **{f"paper_{k}": key.get(k, "") for k in ("method", "dataset", "subset", "input")},
            "paper_config": key.get("config", ""),
            "fraction": float(exp.get("fraction", 1.0)),
            "modules": "+".join(MODULE_NAMES.get(m, m) for m in exp.get("modules", [])) or "none",
            "depth": exp.get("depth"),
            "channels": json.dumps(exp.get("channels")) if exp.get("channels") else "",
        }
        ref = _find_reference(table, rows, row)
        line["reference"] = f"{ref['experiment']}/{ref['dataset']}" if ref else ""
        for dim in DIMENSIONS:
            sub = _select(folds, row["experiment"], row["dataset"], dim)
            if sub.empty:
                raise ValueError(
                    f"{table}: no metrics.json for experiment {row['experiment']!r}, "
                    f"dataset {row['dataset']!r}, dimension {dim!r}"
                )
            summary = _row_summary(sub)
            for name, value in summary.items():
                line[f"{dim}_{name}"] = value
            for metric in PAPER_METRICS:
                line[f"{dim}_{metric}_paper"] = paper_value(
                    paper_values, paper=PAPER, table=table_no, dimension=dim, metric=metric,
                    key=key,
                )
                if ref is None:
                    continue
                prefix = f"{dim}_{metric}_vs_ref"
                if ref is row:
                    line[f"{prefix}_note"] = "reference"
                    continue
                result = _comparison(folds, row, ref, dim, metric, experiments)
                line[f"{prefix}_diff"] = result.mean_diff * 100.0
                line[f"{prefix}_ci_low"] = result.ci_low * 100.0
                line[f"{prefix}_ci_high"] = result.ci_high * 100.0
                line[f"{prefix}_p"] = result.p_value
                line[f"{prefix}_n_pairs"] = result.n_pairs
                line[f"{prefix}_note"] = format_comparison(result)
        lines.append(line)
    frame = pd.DataFrame(lines)
    if table in REFERENCES:
        add_holm(frame)
    return frame


def add_holm(frame: pd.DataFrame) -> None:
    """Holm-adjust the raw p-values of each (dimension, metric) column over the table's rows
    (one family per column: every row's test against its reference); adds `..._p_holm` and
    appends 'Holm p' to the note."""
    for dim in DIMENSIONS:
        for metric in PAPER_METRICS:
            prefix = f"{dim}_{metric}_vs_ref"
            if f"{prefix}_p" not in frame:
                continue
            adjusted = holm_adjust(frame[f"{prefix}_p"].to_numpy(dtype=float))
            frame[f"{prefix}_p_holm"] = adjusted
            notes = frame[f"{prefix}_note"].astype(object)
            frame[f"{prefix}_note"] = [
                f"{note}; Holm {format_p(p)}" if math.isfinite(p) else note
                for note, p in zip(notes, adjusted, strict=True)
            ]


def prior_work_rows(rows: list[dict], paper_values: pd.DataFrame) -> pd.DataFrame:
    """Table 6 rows of the paper that no config row reproduces: shown as 'reported in the paper'."""
    sel = (paper_values["paper"] == PAPER) & (paper_values["table"].astype(str) == "6")
    published = paper_values[sel]
    if published.empty:
        return pd.DataFrame()

    def norm(text) -> str:
        return str(text).replace(" ", "")

    def matched(entry: pd.Series) -> bool:
        return any(
            all(norm(entry.get(k, "")) == norm(v) for k, v in row["paper"].items()) for row in rows
        )

    lines = []
    group_keys = ["method", "dataset", "subset", "subjects", "input", "config"]
    for values, group in published.groupby(group_keys, sort=False):
        entry = pd.Series(dict(zip(group_keys, values, strict=False)))
        if matched(entry):
            continue
        line = {
            "source": "reported in the paper",
            "experiment": "",
            "dataset": "",
            "paper_method": entry["method"],
            "paper_dataset": entry["dataset"],
            "paper_subset": entry["subset"],
            "paper_input": entry["input"],
            "paper_config": entry["config"],
            "paper_subjects": entry["subjects"],
        }
        for _, value_row in group.iterrows():
            line[f"{value_row['dimension']}_{value_row['metric']}_paper"] = value_row["value"]
        lines.append(line)
    return pd.DataFrame(lines)


def _paper_field(paper_values: pd.DataFrame, table: str, key: dict, field: str) -> str:
    """A descriptive column (subjects, subset, input) of the paper rows matching `key`."""
    sel = (paper_values["paper"] == PAPER) & (
        paper_values["table"].astype(str) == table.removeprefix("table")
    )
    for column, wanted in key.items():
        sel &= paper_values[column].str.replace(" ", "") == str(wanted).replace(" ", "")
    found = sorted({s for s in paper_values.loc[sel, field] if s})
    return ",".join(found)


def add_ceiling(numeric: pd.DataFrame, ceilings: list[pd.DataFrame], settings: dict):
    """Each all-subject row's share of its dataset's ceiling, and one ceiling row per dataset."""
    frames = {str(f["dataset"].iloc[0]): f for f in ceilings}
    if not frames:  # real data only: no ceiling, no share columns (the header says why)
        return numeric
    numeric = numeric.copy()
    ours = numeric["source"] == "ours"
    full = ours & np.isclose(numeric["fraction"].astype(float), 1.0)
    summaries = {(d, dim): ceiling_summary(f, dim) for d, f in frames.items() for dim in DIMENSIONS}
    for dim in DIMENSIONS:
        numeric[f"{dim}_share_of_ceiling"] = [
            share_recovered(
                line[f"{dim}_accuracy_mean"], line[f"{dim}_majority_mean"],
                summaries[(line["dataset"], dim)]["accuracy_mean"],
            )
            if use and summaries.get((line["dataset"], dim))
            else float("nan")
            for use, (_, line) in zip(full, numeric.iterrows(), strict=True)
        ]
    lines = []
    for dataset in dict.fromkeys(numeric.loc[ours, "dataset"]):
        if dataset not in frames:
            continue
        same = numeric[ours & (numeric["dataset"] == dataset)]
        line = {
            "source": CEILING_SOURCE, "experiment": "planted_ceiling", "dataset": dataset,
            "paper_method": CEILING_SOURCE, "paper_dataset": same["paper_dataset"].iloc[0],
            "paper_subset": "100%", "paper_input": "ground truth: " + ", ".join(
                settings["features"]), "fraction": 1.0, "modules": "—",
        }
        for dim in DIMENSIONS:
            for name, value in summaries[(dataset, dim)].items():
                line[f"{dim}_{name}"] = value
        lines.append(line)
    return pd.concat([numeric, pd.DataFrame(lines)], ignore_index=True) if lines else numeric


def write_result_table(
    table: str,
    metrics_paths: list[str | Path],
    config: dict,
    experiments: dict[str, dict],
    csv_path: str | Path,
    md_path: str | Path,
    tex_path: str | Path,
    paper_tables: str | Path | None = None,
    ceiling_paths: list[str | Path] | None = None,
) -> pd.DataFrame:
    """Aggregate the folds of one paper table and write it as CSV (numeric), Markdown and LaTeX;
    `ceiling_paths`: the planted_ceiling.csv of its synthetic datasets."""
    rows_all = config.get("tables", {}).get(table, [])
    configured = set(config.get("datasets", {}))
    rows = [row for row in rows_all if row["dataset"] in configured]
    skipped = [f"{r['experiment']}/{r['dataset']}" for r in rows_all if r not in rows]
    folds = load_fold_metrics(metrics_paths)
    paper_values = load_paper_values(paper_tables)
    numeric = build_result_table(table, rows, folds, paper_values, experiments)
    numeric["paper_subjects"] = [
        _paper_field(paper_values, table, row["paper"], "subjects") for row in rows
    ]
    for field in ("subset", "input"):
        numeric[f"paper_{field}"] = [
            row["paper"].get(field) or _paper_field(paper_values, table, row["paper"], field)
            for row in rows
        ]
    ceiling = ceiling_settings(config, table)
    if ceiling is not None:
        numeric = add_ceiling(numeric, [load_ceiling(p) for p in ceiling_paths or []], ceiling)
    if table == "table6":
        prior = prior_work_rows(rows, paper_values)
        numeric = pd.concat([numeric, prior], ignore_index=True)
        numeric = numeric.sort_values(
            ["paper_dataset", "source"], key=lambda s: s.str.lower(), kind="stable"
        ).reset_index(drop=True)
    header = data_header(table, numeric, config, skipped)
    shown = display_table(table, numeric)
    for path in (csv_path, md_path, tex_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_open(csv_path, "w") as handle:
        handle.write("# " + header.replace("**", "") + "\n")
        numeric.drop(columns=["row"], errors="ignore").to_csv(handle, index=False)
    with atomic.atomic_open(md_path, "w") as handle:
        handle.write(header + "\n\n" + shown.to_markdown(index=False, disable_numparse=True) + "\n")
    atomic.write_text(tex_path, to_latex(shown, header))
    return numeric
