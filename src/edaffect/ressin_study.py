"""The Res-SIN study (Yin et al., ICIP 2019) on the shared spine: per-trial components and
signal images, per-fold training on the study's subject-independent folds, Tables 1 and 2.

Rule functions (one per workflow script): `write_components`, `write_images`,
`write_regression`, `train_folds`, `write_table1`, `write_table2`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from edaffect.labels import read_labels, read_trials
from edaffect.regression import RegressionSettings, run_regression
from edaffect.reporting.paper import load_paper_values, paper_value
from edaffect.signal_images import build_images, fold_mean, select_input, subtract_mean
from edaffect.splits import load_fold, read_splits

if TYPE_CHECKING:
    from edaffect.training import TrainingSettings

log = logging.getLogger(__name__)

PAPER = "res-sin"
EXCLUDED_COLUMNS = ["dataset", "subject", "trial", "file", "stage", "reason"]
CLASSIFICATION_METRICS = ("accuracy", "f1", "precision", "recall")


@dataclass
class ResSINSettings:
    """config.yaml `ressin` (preprocessing, network and training settings of the Res-SIN study)."""

    crop_s: float = 15.0
    min_duration_s: float = 10.0
    image_size: int = 224
    crop_size: int | None = None
    channels: list[int] = field(default_factory=lambda: [64, 128, 256, 512])
    batch_norm: bool = True
    batch_size: int = 100
    lr: float = 1e-3
    lr_decay: float = 0.1
    lr_step_iterations: int = 300
    epochs: int = 30
    regression: dict = field(default_factory=dict)
    table2: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, section: dict) -> ResSINSettings:
        known = set(cls.__dataclass_fields__)
        unknown = set(section) - known
        if unknown:
            raise ValueError(f"config key ressin: unknown setting(s) {sorted(unknown)}")
        return cls(**section)

    def model_keys(self) -> dict:
        """Architecture keys merged into the experiment dict given to `build_model`."""
        return {
            "channels": list(self.channels),
            "crop_size": self.crop_size,
            "batch_norm": self.batch_norm,
        }


# ---------------------------------------------------------------- components and images


def _load_npz(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def component_settings(preprocessing: dict, dataset: str, settings: ResSINSettings):
    """The study's preprocessing settings (NaN repair, cvxEDA parameters, optional resampling)
    with Res-SIN's own crop (15 s) and minimum duration."""
    from dataclasses import replace

    from edaffect.preprocessing import settings_from_config

    return replace(
        settings_from_config(preprocessing, dataset),
        crop_s=float(settings.crop_s),
        min_duration_s=float(settings.min_duration_s),
    )


def write_components(
    raw_npz: str | Path,
    trials_csv: str | Path,
    out_npz: str | Path,
    out_index: str | Path,
    out_excluded: str | Path,
    settings: ResSINSettings,
    preprocessing: dict,
    cache_dir: str | Path,
) -> pd.DataFrame:
    """Rule `ressin_components`: raw EDA -> (3, N) origin/phasic/tonic per trial.

    The decomposition is the study's (`preprocessing.cached_decompose`: crop, NaN repair,
    z-score, cvxEDA, exclusions with reasons, per-trial cache) with Res-SIN's 15 s crop; its
    cache lives in `cache_dir`, apart from the RTCAN-1D (3 s) cache.  origin = the z-scored
    cropped EDA (the min-max normalisation of the images removes the scale anyway).
    """
    from edaffect.preprocessing import TrialExcluded, cached_decompose

    trials = read_trials(trials_csv)
    dataset = str(trials["dataset"].iloc[0]) if len(trials) else ""
    prep = component_settings(preprocessing, dataset, settings)
    components: dict[str, np.ndarray] = {}
    rates: dict[str, float] = {}
    excluded: list[dict] = []
    solved = 0
    with np.load(raw_npz, allow_pickle=False) as raw:
        for row in trials.itertuples(index=False):
            trial_id = str(row.trial_id)
            if trial_id not in raw.files:
                outcome = TrialExcluded("ressin_components", f"no raw EDA in {raw_npz}")
            else:
                outcome, now = cached_decompose(trial_id, raw[trial_id], float(row.fs), prep,
                                                cache_dir)
                solved += int(now)
            if isinstance(outcome, TrialExcluded):
                excluded.append({"dataset": row.dataset, "subject": row.subject,
                                 "trial": row.trial, "file": str(row.source),
                                 "stage": outcome.stage, "reason": outcome.reason})
                continue
            components[trial_id] = np.stack(
                [outcome.eda, outcome.phasic, outcome.tonic]
            ).astype(np.float32)
            rates[trial_id] = float(outcome.fs)
    Path(out_npz).parent.mkdir(parents=True, exist_ok=True)
    np.savez(out_npz, **components)
    index = pd.DataFrame(
        {
            "trial_id": list(components),
            "fs": [rates[t] for t in components],
            "n_samples": [comp.shape[1] for comp in components.values()],
        }
    )
    index.to_csv(out_index, index=False)
    pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS).to_csv(out_excluded, index=False)
    log.info("%d trials decomposed (%d solved now, the rest from %s), %d excluded",
             len(components), solved, cache_dir, len(excluded))
    return index


def read_components(npz: str | Path, index_csv: str | Path) -> tuple[dict, dict[str, float]]:
    """Components per trial_id and the sampling rate of each."""
    index = pd.read_csv(index_csv, dtype={"trial_id": str})
    components = _load_npz(npz)
    missing = set(index["trial_id"]) - set(components)
    if missing:
        raise ValueError(f"{npz}: no components for {sorted(missing)[:5]} listed in {index_csv}")
    return components, dict(zip(index["trial_id"], index["fs"].astype(float), strict=True))


def write_images(
    components_npz: str | Path,
    components_index: str | Path,
    out_npy: str | Path,
    out_index: str | Path,
    out_excluded: str | Path,
    image_size: int,
) -> np.ndarray:
    """Rule `ressin_images`: components -> (n, 3, S, S) float16 signal images + row index."""
    components, fs = read_components(components_npz, components_index)
    images, ids, excluded = build_images(components, fs, image_size)
    np.save(out_npy, images)
    pd.DataFrame({"row": range(len(ids)), "trial_id": ids}).to_csv(out_index, index=False)
    pd.DataFrame(excluded, columns=["trial_id", "stage", "reason"]).to_csv(
        out_excluded, index=False
    )
    log.info("%d signal images of %d x %d, %d excluded", len(ids), image_size, image_size,
             len(excluded))
    return images


def write_regression(
    components_npz: str | Path,
    components_index: str | Path,
    labels_csv: str | Path,
    splits_csv: str | Path,
    out_csv: str | Path,
    dimensions: list[str],
    settings: ResSINSettings,
) -> pd.DataFrame:
    """Rule `ressin_regression`: Res-SIN Table 1 numbers (MLR/SVR, RMSE and r)."""
    components, fs = read_components(components_npz, components_index)
    result = run_regression(
        components, fs, read_labels(labels_csv), read_splits(splits_csv), dimensions,
        RegressionSettings(**settings.regression),
    )
    result.to_csv(out_csv, index=False)
    return result


# ---------------------------------------------------------------- fold data and training


@dataclass
class FoldArrays:
    """One role of one fold: images (already mean-subtracted), labels, ids, music."""

    x: np.ndarray
    y: np.ndarray
    trial_id: list[str]
    subject: list[str]
    music: np.ndarray | None


def fold_arrays(
    images: np.ndarray,
    image_ids: list[str],
    labels: pd.DataFrame,
    splits: pd.DataFrame,
    music: pd.DataFrame | None,
    *,
    input_name: str,
    dimension: str,
    fraction: float,
    fold: int,
) -> dict[str, FoldArrays]:
    """train/val/test arrays of one fold: roles from splits.csv, labels from labels.csv.

    Mean subtraction and music z-scoring use the training role's statistics only. Trials of the
    fold without an image (excluded upstream) are left out and logged.
    """
    roles = load_fold(splits, fraction, fold)
    row_of = {t: i for i, t in enumerate(image_ids)}
    label_by_id = labels.set_index("trial_id")
    stimulus_of = dict(zip(splits["trial_id"], splits["stimulus"].astype(str), strict=True))
    out: dict[str, FoldArrays] = {}
    for role in ("train", "val", "test"):
        wanted = roles[role]
        ids = [t for t in wanted if t in row_of and t in label_by_id.index]
        if len(ids) < len(wanted):
            log.info("fold %d %s: %d of %d trials have no image or label", fold, role,
                     len(wanted) - len(ids), len(wanted))
        if not ids:
            raise ValueError(f"fold {fold}: no {role} trial has a signal image and a label")
        x = select_input(images[[row_of[t] for t in ids]], input_name)
        y = label_by_id.loc[ids, f"{dimension}_label"].to_numpy(dtype=np.int64)
        subjects = label_by_id.loc[ids, "subject"].astype(str).tolist()
        tracks = None
        if music is not None:
            stimuli = [stimulus_of[t] for t in ids]
            absent = sorted(set(stimuli) - set(music.index))
            if absent:
                raise ValueError(f"music_features.csv has no row for stimulus {absent[:5]}")
            tracks = music.loc[stimuli].to_numpy(dtype=np.float64)
        out[role] = FoldArrays(x, y, ids, subjects, tracks)
    mean = fold_mean(out["train"].x)
    mu = sd = None
    if music is not None:  # z-score with training statistics; constant columns and NaN -> 0
        mu = np.nan_to_num(np.nanmean(out["train"].music, axis=0))
        sd = np.nanstd(out["train"].music, axis=0)
        sd = np.where(np.isfinite(sd) & (sd > 1e-12), sd, 1.0)
    for arrays in out.values():
        arrays.x = subtract_mean(arrays.x, mean)
        if arrays.music is not None:
            z = (arrays.music - mu) / sd
            arrays.music = np.where(np.isfinite(z), z, 0.0).astype(np.float32)
    return out


def check_fold_roles(arrays: dict[str, FoldArrays]) -> None:
    """Raise if a subject or trial appears in two roles (subject independence)."""
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = set(arrays[a].subject) & set(arrays[b].subject)
        if shared:
            raise AssertionError(f"subjects {sorted(shared)[:5]} are in both {a} and {b}")
        if set(arrays[a].trial_id) & set(arrays[b].trial_id):
            raise AssertionError(f"a trial is in both {a} and {b}")


# ---------------------------------------------------------------- tables

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


def data_line(table: str, config: dict, dataset: str, n_trials: int, n_subjects: int | None) -> str:
    """Provenance line: synthetic or real data, size, config hash."""
    from edaffect.reporting.result_tables import config_hash

    settings = config.get("datasets", {}).get(dataset, {})
    synthetic = settings.get("synthetic") is not False
    kind = "SYNTHETIC" if synthetic else "real"
    subjects = f" of {n_subjects} subjects" if n_subjects else ""
    line = (
        f"**Res-SIN {table}** — data: {dataset} = {kind} ({n_trials} trials{subjects}, root "
        f"{settings.get('root', '?')}); config sha256 {config_hash(config)}."
    )
    if synthetic:
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
    numeric.to_csv(csv_path, index=False)
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
    header = data_line("Table 1", config, dataset, int(numeric["n_trials"].max()), None)
    header += (
        " Regression of the static ratings (dataset scale) from signals low-pass filtered at "
        "0.6 Hz and z-scored, out-of-fold predictions of the subject-independent folds pooled. "
        "Paper 'baseline' = Zhang et al. (PMEmo), ours = the EDA signal itself."
    )
    _write_md(display, md_path, header)
    return numeric


def _write_md(display: pd.DataFrame, md_path: str | Path, header: str) -> None:
    with open(md_path, "w") as handle:
        handle.write(header.rstrip() + "\n\n")
        handle.write(display.to_markdown(index=False) if len(display) else "(no rows)")
        handle.write("\n")


def _summary(folds: pd.DataFrame) -> dict:
    out = {"n_folds": len(folds), "n_test": int(folds["n_test"].sum())}
    for metric in CLASSIFICATION_METRICS:
        values = folds[metric].astype(float) * 100.0
        out[f"{metric}_mean"] = float(values.mean())
        out[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def _paired(folds: pd.DataFrame, model: str, reference: str, dimension: str, metric: str):
    from edaffect.reporting.statistics import compare_fold_frames

    def pick(name):
        sel = folds[(folds["experiment"] == name) & (folds["dimension"] == dimension)]
        return sel.sort_values("fold")

    mine, theirs = pick(model), pick(reference)
    return compare_fold_frames(mine, theirs, metric)


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
                result = _paired(folds, reference, experiment, dimension, metric)
                row[f"{prefix}_diff"] = result.mean_diff * 100.0
                row[f"{prefix}_ci_low"] = result.ci_low * 100.0
                row[f"{prefix}_ci_high"] = result.ci_high * 100.0
                row[f"{prefix}_p"] = result.p_value
                row[f"{prefix}_note"] = _note(result)
            rows.append(row)
    return pd.DataFrame(rows)


def _note(result) -> str:
    from edaffect.reporting.statistics import format_comparison

    return format_comparison(result)


def write_table2(
    metrics_paths: list[str | Path],
    csv_path: str | Path,
    md_path: str | Path,
    config: dict,
    dataset: str = "pmemo",
    paper_tables: str | Path | None = None,
) -> pd.DataFrame:
    """Res-SIN Table 2 from per-fold metrics.json, with the published values beside ours."""
    from edaffect.reporting.result_tables import load_fold_metrics
    from edaffect.reporting.statistics import TEST_NAME

    settings = ResSINSettings.from_config(config["ressin"])
    folds = load_fold_metrics(metrics_paths)
    folds = folds[folds["dataset"] == dataset]
    dimensions = list(config.get("dimensions", ["valence", "arousal"]))
    numeric = build_table2(folds, settings.table2, dimensions, load_paper_values(paper_tables))
    numeric.to_csv(csv_path, index=False)
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
    for metric, label in (("accuracy", "Acc"), ("f1", "F1")):
        display[f"Δ{label} vs mix/multi [95% CI]"] = [
            note if isinstance(note, str) else "—" for note in numeric[f"{metric}_vs_ref_note"]
        ]
    trials = int(numeric["n_test"].max())
    header = data_line("Table 2", config, dataset, trials, None)
    header += (
        f" Ours: mean ± std over {int(numeric['n_folds'].max())} subject-independent folds (%); "
        "paper: published value (%). (1) rows fuse music (the paper's 'mix' = its "
        "multi-feature result); Δ: mix (part 1) or multi-feature (part 2) minus the row, "
        f"in points, {TEST_NAME}."
    )
    _write_md(display.fillna("—"), md_path, header)
    return numeric



def ressin_training_settings(
    training: dict, settings: ResSINSettings, n_train: int, *, seed: int, threads: int
) -> TrainingSettings:
    """The shared training settings with Res-SIN's own optimisation (§2.3): batch 100, lr 1e-3
    multiplied by 0.1 every 300 iterations (rounded to whole epochs for the epoch-wise scheduler,
    at least 1), `ressin.epochs`.  Weights keep PyTorch's default (Kaiming) initialisation: the
    paper's N(0, 0.01) rule is RTCAN-1D's, Res-SIN names none."""
    from edaffect.training import TrainingSettings

    # the shared loop skips a last batch of one sample (batch norm)
    full, rest = divmod(n_train, settings.batch_size)
    iterations_per_epoch = max(1, full + (rest > 1))
    step_epochs = max(1, round(settings.lr_step_iterations / iterations_per_epoch))
    base = TrainingSettings.from_config(training, None, seed=seed, threads=threads)
    base.batch_size = int(settings.batch_size)
    base.lr = float(settings.lr)
    base.lr_decay = float(settings.lr_decay)
    base.lr_step_epochs = int(step_epochs)
    base.epochs = int(settings.epochs)
    base.init_std = None
    return base


@dataclass
class FoldInputs:
    """What every fold of one experiment reads, loaded once per job."""

    images: np.ndarray
    image_ids: list[str]
    labels: pd.DataFrame
    splits: pd.DataFrame
    music: pd.DataFrame | None


def load_fold_inputs(
    experiment: dict,
    images_npy: str | Path,
    images_index_csv: str | Path,
    labels_csv: str | Path,
    splits_csv: str | Path,
    music_csv: str | Path | None,
) -> FoldInputs:
    """Images (memory-mapped), their trial ids, labels, folds and, when fused, the music."""
    from edaffect.music import read_music_table

    images = np.load(images_npy, mmap_mode="r")
    index = pd.read_csv(images_index_csv, dtype={"trial_id": str})
    if len(index) != len(images):
        raise ValueError(f"{images_npy}: {len(images)} images but {len(index)} index rows")
    music = None
    if experiment.get("music"):
        if not music_csv:
            raise ValueError(f"experiment {experiment['name']} fuses music: no music_features.csv")
        music = read_music_table(music_csv)
    return FoldInputs(
        images, index["trial_id"].tolist(), read_labels(labels_csv), read_splits(splits_csv), music
    )


def train_fold(
    experiment: dict,
    dataset: str,
    dimension: str,
    fold: int,
    inputs: FoldInputs,
    *,
    ressin: dict,
    training: dict,
    seed: int,
    threads: int,
    run_dir: str | Path,
    keep_checkpoint: bool = False,
) -> dict:
    """One fold of one Res-SIN experiment, trained with the study's shared loop
    (`training.train_and_test`: epoch chosen on validation, test scored once); writes
    metrics.json, predictions.csv and model.pt into `run_dir` like every other network."""
    import shutil

    import torch

    from edaffect.models import build_model
    from edaffect.training import FoldData, fold_seed, train_and_test

    settings = ResSINSettings.from_config(ressin)
    fraction = float(experiment.get("fraction", 1.0))
    arrays = fold_arrays(
        inputs.images, inputs.image_ids, inputs.labels, inputs.splits, inputs.music,
        input_name=experiment.get("input", "mix"), dimension=dimension, fraction=fraction,
        fold=int(fold),
    )
    check_fold_roles(arrays)
    data = {role: FoldData(a.x, a.y, a.trial_id, a.subject, a.music) for role, a in arrays.items()}
    roles = load_fold(inputs.splits, fraction, fold)
    skipped = sum(len(roles[r]) for r in ("train", "val", "test")) - sum(map(len, data.values()))
    spec = {
        "experiment": {**experiment, **settings.model_keys()},
        "in_channels": int(data["train"].x.shape[1]),
        "input_length": int(data["train"].x.shape[-1]),
        "music_dim": 0 if inputs.music is None else int(inputs.music.shape[1]),
    }
    train_settings = ressin_training_settings(
        training, settings, len(data["train"]),
        seed=fold_seed(seed, experiment["name"], dataset, dimension, fold), threads=threads,
    )
    log.info("%s %s %s fold %d: %d/%d/%d trials, %s", experiment["name"], dataset, dimension,
             fold, len(data["train"]), len(data["val"]), len(data["test"]), train_settings)
    run_dir = Path(run_dir)
    checkpoint_dir = run_dir / "checkpoint"
    result = train_and_test(
        lambda: build_model(**spec), data["train"], data["val"], data["test"], train_settings,
        checkpoint_dir,
    )
    metrics = {
        "experiment": experiment["name"], "dataset": dataset, "dimension": dimension,
        "fold": int(fold), "model": experiment["model"], "input": experiment.get("input"),
        **result.metrics, "n_skipped_no_input": skipped, "music_dim": spec["music_dim"],
        "image_size": spec["input_length"], "lr_step_epochs": train_settings.lr_step_epochs,
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": result.state_dict, **spec}, run_dir / "model.pt")
    result.predictions.to_csv(run_dir / "predictions.csv", index=False)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    if not keep_checkpoint:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    log.info("test accuracy %.3f f1 %.3f (epoch %d chosen on validation)", metrics["accuracy"],
             metrics["f1"], metrics["chosen_epoch"])
    return metrics


def train_folds(
    experiment: dict,
    dataset: str,
    dimension: str,
    folds: list[int],
    run_dirs: list[str | Path],
    *,
    images_npy: str | Path,
    images_index_csv: str | Path,
    labels_csv: str | Path,
    splits_csv: str | Path,
    music_csv: str | Path | None,
    ressin: dict,
    training: dict,
    seed: int,
    threads: int,
) -> list[dict]:
    """Rules `ressin_fold` / `ressin_folds`: train the given folds one after the other in one
    process (inputs loaded once).  Each fold keeps its epoch checkpoint until all are done, so a
    job killed in fold k resumes fold k and re-tests the finished ones without retraining."""
    import shutil

    from edaffect.training import tune_malloc

    tune_malloc()
    inputs = load_fold_inputs(
        experiment, images_npy, images_index_csv, labels_csv, splits_csv, music_csv
    )
    results = [
        train_fold(
            experiment, dataset, dimension, fold, inputs, ressin=ressin, training=training,
            seed=seed, threads=threads, run_dir=run_dir, keep_checkpoint=True,
        )
        for fold, run_dir in zip(folds, run_dirs, strict=True)
    ]
    for run_dir in run_dirs:
        shutil.rmtree(Path(run_dir) / "checkpoint", ignore_errors=True)
    return results
