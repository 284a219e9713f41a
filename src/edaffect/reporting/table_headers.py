"""The first line of Tables 3-6: the data and configuration, every training setting that
deviates from the paper or the original code, single-class folds and the planted ceiling."""


from __future__ import annotations

import math

import numpy as np
import pandas as pd

from edaffect.reporting.provenance import dataset_kind, provenance_line
from edaffect.reporting.statistics import (
    TEST_NAME,
)
from edaffect.reporting.table_spec import (
    PAPER_FOLDS,
    REFERENCES,
    SINGLE_CLASS_NOTE,
    ceiling_settings,
)
from edaffect.training.planted_ceiling import describe as describe_ceiling

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
    "min_steps": (0, "paper and code: epochs only; a smaller fold trains proportionally more "
                     "epochs"),
}
TRAINING_NAMES = {
    "batch_size": "batch", "epochs": "epochs", "lr": "lr", "lr_decay": "lr decay",
    "lr_step_epochs": "lr step (epochs)", "momentum": "momentum", "weight_decay": "weight decay",
    "patience": "early-stopping patience (epochs)",
    "min_steps": "minimum SGD steps per fold",
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
