"""The paper's Tables 3–6 from our per-fold metrics.json files, with the published values beside.

Every table row comes from `config["tables"][table]` (our experiment + dataset + the key of the
paper's value), so a new row is a config edit. Our values are mean ± std over folds, in percent,
like the paper's. Tables 3 and 5 also compare each row with a reference model (RTCAN-1D on PMEmo;
R_f per dataset) by a fold-paired test (see `statistics`).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.reporting.paper import load_paper_values, paper_value
from edaffect.reporting.provenance import dataset_kind, provenance_line
from edaffect.reporting.statistics import (
    TEST_NAME,
    compare_fold_frames,
    format_comparison,
    format_p,
    holm_adjust,
)
from edaffect.training.planted_ceiling import describe as describe_ceiling
from edaffect.training.planted_ceiling import load_ceiling, majority_share, share_recovered
from edaffect.training.planted_ceiling import summary as ceiling_summary

PAPER = "rtcan-1d"
METRICS = ("accuracy", "f1", "precision", "recall")
PAPER_METRICS = ("accuracy", "f1")
DIMENSIONS = ("valence", "arousal")
REQUIRED_KEYS = ("experiment", "dataset", "dimension", "fold", *METRICS, "n_train", "n_test")
# Which row each table's rows are tested against: (paper method of the reference, per dataset?).
REFERENCES = {"table3": ("RTCAN-1D", False), "table5": ("R_f", True)}
MODULE_NAMES = {"sca_res": "SCA_Res", "sca": "SCA", "rnta": "RNTA"}  # the paper's names
SHORT = {"valence": "V", "arousal": "A", "accuracy": "acc", "f1": "F1"}


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


SINGLE_CLASS_MARK = "⚠"
SINGLE_CLASS_NOTE = (
    " Single-class folds k/n: folds whose test predictions are all one class (from each fold's "
    f"predictions.csv); {SINGLE_CLASS_MARK} marks a row where that is more than half its folds."
)


def single_class(predictions: pd.DataFrame, path: str | Path = "predictions.csv") -> bool:
    """Whether one fold's test predictions (column y_pred) are all one class."""
    if "y_pred" not in predictions or "y_true" not in predictions:
        raise ValueError(f"{path}: predictions.csv lacks column y_pred or y_true")
    if predictions.empty:
        raise ValueError(f"{path}: predictions.csv has no rows")
    return bool(predictions["y_pred"].nunique() == 1)


def single_class_flagged(k: int, n: int) -> bool:
    """More than half the folds predict one class."""
    return n > 0 and k > n / 2


def single_class_cell(k, n) -> str:
    """'k/n', with the mark when more than half the folds predict one class; '—' if unknown."""
    if _missing(k) or _missing(n) or int(n) == 0:
        return "—"
    k, n = int(k), int(n)
    return f"{k}/{n} {SINGLE_CLASS_MARK}" if single_class_flagged(k, n) else f"{k}/{n}"


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
    known = [bool(v) for v in folds["single_class"] if v is not None and not _missing(v)]
    out["single_class_folds"] = sum(known) if known else None
    out["single_class_known"] = len(known)
    out["single_class_flag"] = single_class_flagged(sum(known), len(known)) if known else None
    majority = [float(v) for v in folds["majority"] if not _missing(v)]
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


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _columns(frame: pd.DataFrame, *names: str):
    """Row-wise tuples of the named columns (NaN for a column the frame lacks)."""
    cols = [frame[n] if n in frame else pd.Series([np.nan] * len(frame)) for n in names]
    return zip(*cols, strict=True)


def _fmt_ours(mean, std, digits: int = 1) -> str:
    if _missing(mean):
        return "—"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _fmt_num(value, digits: int = 2) -> str:
    if _missing(value) or value == "":
        return "—"
    return f"{float(value):.{digits}f}"


CEILING_SOURCE = "planted ceiling"


def _fmt_share(source, share, majority) -> str:
    """A model row's share of the ceiling in percent; the ceiling row names its majority."""
    if source == CEILING_SOURCE:
        return "—" if _missing(majority) else f"ceiling (majority {majority:.1f})"
    if _missing(share):
        return "—"
    return f"{round(100.0 * share):d} %"  # an int: never "-0 %"


def display_table(table: str, numeric: pd.DataFrame) -> pd.DataFrame:
    """Human-readable version of `build_result_table` (what the .md and .tex show)."""
    out = pd.DataFrame()
    out["Method (paper)"] = numeric["paper_method"]
    if table == "table4":
        out["Depth"] = numeric["depth"]
        out["Channels"] = numeric["channels"]
    else:
        out["Dataset"] = numeric["paper_dataset"]
        if table in ("table3", "table6"):
            out["Subset"] = numeric["paper_subset"]
            out["Input"] = numeric["paper_input"]
        if table == "table5":
            out["Modules"] = numeric["modules"]
    if table == "table6":
        out["Source"] = numeric["source"]
    out["Subjects (ours/paper)"] = [
        f"{_fmt_num(ours, 0)}/{paper or '—'}"
        for ours, paper in _columns(numeric, "valence_n_subjects", "paper_subjects")
    ]
    out["Experiment"] = numeric["experiment"]
    for dim in DIMENSIONS:
        for metric in PAPER_METRICS:
            label = f"{SHORT[dim]} {SHORT[metric]}"
            stem = f"{dim}_{metric}"
            out[f"{label} ours"] = [
                _fmt_ours(m, s) for m, s in _columns(numeric, f"{stem}_mean", f"{stem}_std")
            ]
            out[f"{label} paper"] = [_fmt_num(v) for (v,) in _columns(numeric, f"{stem}_paper")]
    for dim in DIMENSIONS:
        out[f"{SHORT[dim]} single-class folds"] = [
            single_class_cell(k, n)
            for k, n in _columns(numeric, f"{dim}_single_class_folds", f"{dim}_single_class_known")
        ]
    if "valence_share_of_ceiling" in numeric:  # the table prints the ceiling (add_ceiling)
        for dim in DIMENSIONS:
            out[f"{SHORT[dim]} share of ceiling"] = [
                _fmt_share(source, share, majority)
                for source, share, majority in _columns(
                    numeric, "source", f"{dim}_share_of_ceiling", f"{dim}_majority_mean"
                )
            ]
    flagged = [
        any(bool(f) for f in flags if not _missing(f))
        for flags in _columns(numeric, *(f"{dim}_single_class_flag" for dim in DIMENSIONS))
    ]
    out["Method (paper)"] = [
        f"{SINGLE_CLASS_MARK} {method}" if flag else method
        for method, flag in zip(out["Method (paper)"], flagged, strict=True)
    ]
    if table == "table4":
        out["Parameters"] = [
            "—" if _missing(v) else f"{int(round(v)):,}"
            for (v,) in _columns(numeric, "valence_n_parameters")
        ]
        for dim in DIMENSIONS:
            stem = f"{dim}_seconds_per_epoch"
            out[f"s/epoch ({SHORT[dim]})"] = [
                _fmt_ours(m, s, 2) for m, s in _columns(numeric, f"{stem}_mean", f"{stem}_std")
            ]
        out["Device"] = numeric["valence_device"]
    if table in REFERENCES:
        ref_name = REFERENCES[table][0]
        for dim in DIMENSIONS:
            for metric in PAPER_METRICS:
                column = f"{dim}_{metric}_vs_ref_note"
                label = f"{SHORT[dim]} Δ{SHORT[metric]} vs {ref_name} [95% CI]"
                out[label] = numeric[column].fillna("—") if column in numeric else "—"
    return out.fillna("—")


PAPER_FOLDS = 10  # RTCAN-1D §5.2 and Res-SIN §4: 10-fold subject-independent cross-validation


NETWORK_TABLES = ("table3", "table4", "table5", "table6")
# The networks' training in the paper (§5.1) and, where it is silent, in the original code
# (guanghaoyin/RTCAN-1D): value, and how the header names it.
REFERENCE_TRAINING = {
    "batch_size": (256, "paper 256, code 300"),
    "epochs": (100, "paper: not stated, code 100"),
    "lr": (0.001, "paper 0.001"),
    "lr_decay": (0.9, "paper 0.9"),
    "lr_step_epochs": (15, "paper 15"),
    "momentum": (0.9, "paper: SGD, code 0.9"),
    "weight_decay": (0.0, "paper: not stated, code none"),
    "patience": (0, "paper and code: none"),
    "min_steps": (0, "paper and code: epochs only"),
}
TRAINING_NAMES = {
    "batch_size": "batch", "epochs": "epochs", "lr": "lr", "lr_decay": "lr decay",
    "lr_step_epochs": "lr step (epochs)", "momentum": "momentum", "weight_decay": "weight decay",
    "patience": "early-stopping patience (epochs)",
    "min_steps": "at least this many SGD steps per fold (a smaller fold's epochs, patience and lr "
                 "step scaled up by one whole factor)",
}


def _training_settings(config: dict) -> dict:
    from edaffect.io.config_schema import schema_defaults

    return {**schema_defaults("training"), **config.get("training", {})}


def init_note(training: dict) -> str:
    """How the networks were initialised, against the original code and the paper's text."""
    init = training.get("init", "code")
    if init == "code":
        return (" Networks: initialisation as the original code (conv He-normal fan-out, batch "
                "norm 1/0, linear PyTorch's default); the paper's text says N(0, 0.01) "
                "(docs/initialisation.md).")
    if init == "normal":
        return (f" Networks: weights ~ N(0, std {training['init_std']}) (the paper's N(0, 0.01) "
                "read as a std 0.01 or a variance, std 0.1; DEVIATES from the original code's "
                "He-normal; docs/initialisation.md).")
    return (" Networks: PyTorch's default initialisation (DEVIATES from the original code's "
            "He-normal and the paper's N(0, 0.01)).")


def training_deviations(config: dict) -> list[str]:
    """Every network-training setting of `config` that differs from the paper (or the original
    code where the paper is silent): training block, input length L and the cvxEDA rate."""
    training = _training_settings(config)
    out = []
    for key, (reference, where) in REFERENCE_TRAINING.items():
        value = training.get(key)
        if value is not None and not math.isclose(float(value), float(reference)):
            out.append(f"{TRAINING_NAMES[key]} {value:g} ({where})")
    preprocessing = config.get("preprocessing", {})
    lengths = preprocessing.get("length") or {}
    if lengths:
        shown = ", ".join(f"{d} {v}" for d, v in lengths.items())
        out.append(f"input length L {shown} (paper: not stated; native trials: ~2,000 PMEmo, "
                   "7,680 DEAP/AMIGOS samples)")
    rate = preprocessing.get("resample_hz")
    if rate is not None:
        out.append(f"cvxEDA at {rate:g} Hz (paper: each dataset's native rate)")
    return out


def network_settings_note(table: str, ours: pd.DataFrame, config: dict) -> str:
    """Network set-up that Tables 3-6 must print: the initialisation, every training setting
    that deviates from the paper or the original code and, in Table 5, the RNTA pooling kernel."""
    from edaffect.models.rtcan1d import RNTA_POOL

    if table not in NETWORK_TABLES or "training" not in config:
        return ""
    note = init_note(_training_settings(config))
    deviations = training_deviations(config)
    if deviations:
        note += (" Training of the RTCAN-1D/RTCAG and 3-layer CNN rows DEVIATES from the "
                 "paper/original code: ") + "; ".join(
            deviations) + "."
    if table == "table5":
        experiments = config.get("experiments", {})
        kernels = sorted({
            int(experiments.get(name, {}).get("rnta_pool", RNTA_POOL))
            for name in ours["experiment"]
            if "rnta" in experiments.get(name, {}).get("modules", [])
        })
        if kernels:
            why = "as the paper" if kernels == [1] else "DEVIATES from the paper's 1"
            note += (
                f" RNTA average-pooling kernel of φ and g: {', '.join(map(str, kernels))} "
                f"(Eq. 10: 1; {why})."
            )
    return note


def data_header(
    table: str, numeric: pd.DataFrame, config: dict, skipped: list[str] | None = None
) -> str:
    """One line naming the data the table was computed on: synthetic or real, size, config hash."""
    ours = numeric[numeric["source"] == "ours"]
    sizes = {}
    for dataset in dict.fromkeys(ours["dataset"]):
        sub = ours[ours["dataset"] == dataset]
        full = sub[np.isclose(sub["fraction"].astype(float), 1.0)]
        sub = full if len(full) else sub
        subjects = pd.to_numeric(sub["valence_n_subjects"], errors="coerce").max()
        trials = pd.to_numeric(sub["valence_n_test"], errors="coerce").max()
        size = f"{int(trials)} test trials"
        if not math.isnan(subjects):
            size += f" of {int(subjects)} subjects"
        sizes[dataset] = size
    folds = pd.to_numeric(ours.get("valence_n_folds"), errors="coerce").max()
    folds = int(folds) if not math.isnan(folds) else 0
    fold_note = "" if folds == PAPER_FOLDS else f" (DEVIATES from the paper's {PAPER_FOLDS})"
    header = (
        f"**Table {table.removeprefix('table')}** — {provenance_line(config, sizes)}; "
        f"{folds} subject-independent folds{fold_note}. Ours: mean ± std over folds (%); "
        f"paper: published value (%)."
    )
    if table in REFERENCES:
        header += (
            f" Δ: ours − reference in points, {TEST_NAME}, 95 % CI, raw p and Holm-adjusted p"
            " (family: the rows of one column)."
        )
    header += network_settings_note(table, ours, config)
    header += SINGLE_CLASS_NOTE + ceiling_header(table, numeric, config)
    if "paper_method" in ours and (ours["paper_method"] == "stimulus-only").any():
        header += (
            " stimulus-only (not in the paper): each test trial gets the majority training-fold "
            "label of its stimulus (song/video), no signal read; how much a stimulus lookup "
            "already explains."
        )
    if any(dataset_kind(config, d) == "SYNTHETIC" for d in sizes):
        header += " Synthetic data: these numbers are NOT a reproduction of the paper's."
    if skipped:
        header += f" Rows skipped (dataset not configured): {'; '.join(skipped)}."
    return header


def ceiling_settings(config: dict, table: str) -> dict | None:
    """Config `planted_ceiling` when `table` prints the ceiling, else None."""
    settings = config.get("planted_ceiling") or {}
    return settings if table in settings.get("tables", []) else None


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


def ceiling_header(table: str, numeric: pd.DataFrame, config: dict) -> str:
    """What the ceiling rows are, or why a dataset has none (real data has no ground truth)."""
    settings = ceiling_settings(config, table)
    if settings is None:
        return ""
    datasets = dict.fromkeys(numeric.loc[numeric["source"] == "ours", "dataset"])
    real = [d for d in datasets
            if config.get("datasets", {}).get(d, {}).get("synthetic") is False]
    text = ""
    if len(real) < len(datasets):
        text += " " + describe_ceiling(settings)
    if real:
        text += (f" Planted ceiling: none for {', '.join(real)} (real data: no ground truth "
                 "to fit it on).")
    return text


_TEX = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "Δ": r"$\Delta$", "−": "-", "—": "--", "≤": r"$\leq$",
    SINGLE_CLASS_MARK: r"$\triangle$",
}
_TEX_PATTERN = re.compile("|".join(re.escape(k) for k in _TEX))


def _tex_escape(text) -> str:
    """LaTeX-safe text in one pass (so an escape is never escaped again)."""
    return _TEX_PATTERN.sub(lambda m: _TEX[m.group()], str(text))


def to_latex(frame: pd.DataFrame, header: str) -> str:
    """A LaTeX table (needs booktabs and graphicx), the data line as its caption."""
    lines = [f"% {header}", "% needs \\usepackage{booktabs,graphicx}", r"\begin{table}",
             r"\centering", r"\small"]
    lines.append(rf"\caption{{{_tex_escape(header.replace('**', ''))}}}")
    lines.append(r"\resizebox{\textwidth}{!}{%")
    lines.append(r"\begin{tabular}{" + "l" * len(frame.columns) + "}")
    lines.append(r"\toprule")
    lines.append(" & ".join(_tex_escape(c) for c in frame.columns) + r" \\")
    lines.append(r"\midrule")
    for _, row in frame.iterrows():
        lines.append(" & ".join(_tex_escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}", ""]
    return "\n".join(lines)


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


def markdown_table_html(md_path: str | Path, html_path: str | Path, title: str) -> None:
    """A results/tables/*.md file (text lines + one pipe table) as a standalone HTML page, so the
    Snakemake report shows the table itself rather than a download link."""
    import html

    text_lines, header, body = [], None, []
    for line in Path(md_path).read_text().splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(set(c) <= set(":-") for c in cells):
                body.append(cells)
        elif line.strip():
            text_lines.append(html.escape(line.strip().replace("**", "")))
    if header is None:
        raise ValueError(f"{md_path}: no Markdown table found")
    rows = "\n".join(
        ('<tr class="single-class">' if any(SINGLE_CLASS_MARK in c for c in r) else "<tr>")
        + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
        for r in body
    )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;font-size:13px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:2px 6px;white-space:nowrap}} th{{background:#eee}}
tr:nth-child(even){{background:#f7f7f7}}
tr.single-class td{{background:#fde2e2}}</style></head><body>
<h3>{html.escape(title)}</h3>
{"".join(f"<p>{t}</p>" for t in text_lines)}
<table><thead><tr>{"".join(f"<th>{c}</th>" for c in header)}</tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(html_path, page)
