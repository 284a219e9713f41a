"""MAAN study: the `maan` model family of the fold runner, the MAAN table and its figure.

Family `maan` (config `model_families: {maan: edaffect.studies.maan.study:FAMILY}`): an experiment
`{model: maan, datasets: [amigos], options: {modalities, attention, protocol}}` is trained by the
fold runner's rules `train_fold` / `train_folds` like every trained family. Training reuses
`edaffect.training.trainer.train_and_test` (validation-chosen epoch, test scored once, resume from
results/runs/.../fold{k}/checkpoint/), with config `maan.training` layered over config
`training`. Each fold writes metrics.json, predictions.csv and model.pt (the layout of every
trained run); predictions.csv adds per test segment each modality's mean attention weight
(`attention_{modality}`) and the fused features (`fused_{j}`, for the 2-D view).
Both protocols have the study's `split.n_folds` folds: `subject` reads splits.csv, `segment`
draws its folds from the segment index (`edaffect.studies.maan.segments.segment_roles`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.training.fold_runner import FoldJob, ModelFamily
from edaffect.training.run_files import write_run_files

log = logging.getLogger(__name__)

DATASET = "amigos"  # the one dataset with ECG and EEG beside EDA
METRICS = {"accuracy": "ACC", "sen_spe": "SEN & SPE", "ppr": "PPR"}
PROTOCOL_NAMES = {
    "subject": "subject-independent k-fold (split.n_folds; validation fold; no subject in two "
               "roles)",
    "segment": "the paper's k-fold over segments (split.n_folds chunks of a seeded permutation; "
               "segments of one subject and video fall in train and test)",
}
OPTION_KEYS = ("modalities", "attention", "protocol")


def maan_metrics(confusion: list[list[int]]) -> dict[str, float]:
    """Sensitivity (recall of high), specificity (recall of low), their mean (the paper's single
    'SEN & SPE' column, our reading) and PPR (positive predictive rate = precision)."""
    (tn, fp), (fn, tp) = confusion
    sen = tp / (tp + fn) if tp + fn else 0.0
    spe = tn / (tn + fp) if tn + fp else 0.0
    return {"sensitivity": sen, "specificity": spe, "sen_spe": (sen + spe) / 2,
            "ppr": tp / (tp + fp) if tp + fp else 0.0}


def maan_options(experiment: dict) -> dict:
    """The experiment's MAAN settings (`options`: modalities, attention, protocol), checked."""
    from edaffect.models.maan import MODALITIES
    from edaffect.studies.maan.segments import PROTOCOLS

    options = experiment.get("options") or {}
    name = experiment.get("name")
    missing = [k for k in OPTION_KEYS if k not in options]
    extra = sorted(set(options) - set(OPTION_KEYS))
    if missing or extra:
        raise ValueError(f"experiment {name}: model maan needs options {list(OPTION_KEYS)} "
                         f"(missing {missing}, unknown {extra})")
    modalities = list(options["modalities"])
    if not modalities or set(modalities) - set(MODALITIES) or len(set(modalities)) != len(
            modalities):
        raise ValueError(f"experiment {name}: options.modalities {modalities} must be distinct "
                         f"names of {list(MODALITIES)}")
    if options["protocol"] not in PROTOCOLS:
        raise ValueError(f"experiment {name}: options.protocol {options['protocol']!r} is not one "
                         f"of {list(PROTOCOLS)}")
    if not isinstance(options["attention"], bool):
        raise ValueError(f"experiment {name}: options.attention must be true or false")
    return {"modalities": modalities, "attention": options["attention"],
            "protocol": options["protocol"]}


def maan_fold_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """What a MAAN fold reads: segments, their index, labels and (subject protocol) the folds
    (DAG time: no torch import)."""
    if dataset != DATASET:
        raise ValueError(f"experiment {experiment['name']}: MAAN needs AMIGOS's ECG and EEG "
                         f"(asked for {dataset})")
    inputs = {
        "segments_npz": f"results/{DATASET}/maan/segments.npz",
        "segments_csv": f"results/{DATASET}/maan/segments.csv",
        "labels_csv": f"results/{DATASET}/labels.csv",
    }
    if maan_options(experiment)["protocol"] == "subject":
        inputs["splits_csv"] = f"results/{DATASET}/splits.csv"
    return inputs


def train_maan_fold(
    experiment: dict, dimension: str, fold: int, *, inputs: dict, training: dict, seed: int,
    n_folds: int, run_dir: str | Path, threads: int = 1,
) -> dict:
    """Train and test one fold of one MAAN experiment (`experiment`: modalities, attention,
    protocol, name, model_settings); writes metrics.json, predictions.csv and model.pt."""
    import torch

    from edaffect.models.maan import build_maan
    from edaffect.studies.maan.segments import load_maan_fold
    from edaffect.training.trainer import TrainingSettings, fold_seed, train_and_test

    run_dir = Path(run_dir)
    train, val, test, layout = load_maan_fold(
        inputs["segments_npz"], inputs["segments_csv"], inputs["labels_csv"],
        inputs.get("splits_csv"), modalities=list(experiment["modalities"]),
        protocol=experiment["protocol"], dimension=dimension, fold=fold, n_folds=n_folds,
        seed=seed,
    )
    settings = TrainingSettings.from_config(
        # common random numbers: every MAAN experiment of a (dimension, fold) shuffles the same
        # way, so the paired comparisons against Basic see model differences, not seed noise
        training, experiment, seed=fold_seed(seed, "maan", DATASET, dimension, fold),
        threads=threads,
    )

    def factory():
        return build_maan(experiment, layout)

    result = train_and_test(factory, train, val, test, settings, run_dir / "checkpoint")
    metrics = {**result.metrics, **maan_metrics(result.metrics["confusion_matrix"]),
               "experiment": experiment["name"], "dataset": DATASET, "model": "maan",
               "protocol": experiment["protocol"], "modalities": list(experiment["modalities"]),
               "fold": fold, "dimension": dimension}
    model = factory()
    model.load_state_dict(result.state_dict)
    model.eval()
    with torch.no_grad():
        feats, masks = model.features(torch.from_numpy(test.x))
    predictions = result.predictions.copy()
    if list(predictions["trial_id"]) != list(test.trial_id):
        raise RuntimeError(f"{run_dir}: predictions are not in test-segment order")
    for m, mask in zip(model.modalities, masks or [], strict=False):
        predictions[f"attention_{m}"] = mask.mean(dim=1).numpy()
    fused = feats.numpy().astype(np.float32)
    predictions = pd.concat([predictions, pd.DataFrame(
        fused, columns=[f"fused_{j}" for j in range(fused.shape[1])])], axis=1)
    write_run_files(run_dir, metrics, predictions,
                    {"state_dict": result.state_dict, "layout": layout, "experiment": experiment})
    log.info("%s %s fold %d: test accuracy %.3f (epoch %d)", experiment["name"], dimension,
             fold, metrics["accuracy"], metrics["chosen_epoch"])
    return metrics


def train_folds(job: FoldJob) -> list[dict]:
    """Fold-runner trainer of family `maan`: every fold of the job, one after the other."""
    experiment = {**maan_options(job.experiment), "name": job.experiment["name"],
                  "model_settings": job.settings["maan.model"]}
    if "epochs" in job.experiment:
        experiment["epochs"] = job.experiment["epochs"]
    training = {**job.training(), **job.settings["maan.training"]}
    return [
        train_maan_fold(experiment, job.dimension, fold, inputs=job.inputs, training=training,
                        seed=job.seed, n_folds=int(job.settings["split.n_folds"]),
                        run_dir=run_dir, threads=job.threads)
        for fold, run_dir in zip(job.folds, job.run_dirs, strict=True)
    ]


# split.n_folds: the segment protocol's fold count (the subject protocol's is splits.csv's)
FAMILY = ModelFamily(
    "maan", maan_fold_inputs, "edaffect.studies.maan.study:train_folds",
    ("training", "maan.training", "maan.model", "split.n_folds"), gpu=True,
    mem_mb=3000, runtime_min=60,
)


# ---- the table -----------------------------------------------------------------------------


def fold_frame(metrics_paths: list[str]) -> pd.DataFrame:
    """One row per fold's metrics.json, with whether its test predictions (predictions.csv
    beside it) are all one class and the test fold's majority share."""
    from edaffect.reporting.table_spec import single_class
    from edaffect.training.planted_ceiling import majority_share

    rows = []
    for path in metrics_paths:
        m = json.loads(Path(path).read_text())
        row = {k: m[k] for k in ("experiment", "protocol", "dimension", "fold", "accuracy",
                                 "sensitivity", "specificity", "sen_spe", "ppr", "n_test",
                                 "n_train")}
        predictions = Path(path).with_name("predictions.csv")
        pred = pd.read_csv(predictions, usecols=["y_true", "y_pred"])
        row["single_class"] = single_class(pred, predictions)
        row["majority"] = majority_share(pred["y_true"])
        rows.append(row)
    return pd.DataFrame(rows)


def maan_table(
    folds: pd.DataFrame, rows: list[dict], paper: pd.DataFrame | None,
    ceiling: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (table row, protocol, dimension): mean ± SD over folds of ACC, SEN & SPE, PPR,
    the paper's value beside, the corrected paired test of ACC vs Basic (same protocol), the
    single-class folds and (`ceiling`: planted_ceiling.csv) the share of the planted ceiling."""
    from edaffect.reporting.paper import paper_value
    from edaffect.reporting.statistics import compare_fold_frames, format_comparison
    from edaffect.reporting.table_spec import (
        SINGLE_CLASS_MARK,
        single_class_cell,
        single_class_flagged,
    )
    from edaffect.training.planted_ceiling import share_recovered
    from edaffect.training.planted_ceiling import summary as ceiling_summary

    out = []
    for row in rows:
        for dimension in sorted(folds["dimension"].unique()):
            mine = folds[(folds["experiment"] == row["experiment"])
                         & (folds["dimension"] == dimension)].sort_values("fold")
            if mine.empty:
                continue
            if row.get("paper") and mine["protocol"].iloc[0] != PAPER_PROTOCOL:
                raise ValueError(f"maan.table row {row['experiment']}: the paper's values were "
                                 f"measured under the {PAPER_PROTOCOL!r} protocol; a "
                                 f"{mine['protocol'].iloc[0]!r} row must not carry `paper`")
            entry = {"model": row["label"], "protocol": mine["protocol"].iloc[0],
                     "dimension": dimension, "n_folds": len(mine)}
            for key, name in METRICS.items():
                entry[f"{name} (%)"] = f"{100 * mine[key].mean():.1f} ± {100 * mine[key].std():.1f}"
                value = None
                if paper is not None and row.get("paper"):
                    value = paper_value(paper, paper="maan", table=1, dimension=dimension,
                                        metric="accuracy" if key == "accuracy" else key,
                                        key={"method": row["paper"], "dataset": "AMIGOS"})
                entry[f"paper {name} (%)"] = "—" if value is None else f"{value:.2f}"
            basic = row.get("compare_to")
            if basic and basic != row["experiment"]:
                ref = folds[(folds["experiment"] == basic) & (folds["dimension"] == dimension)]
                entry["ACC vs Basic"] = format_comparison(
                    compare_fold_frames(mine, ref.sort_values("fold"), "accuracy"))
            else:
                entry["ACC vs Basic"] = "reference" if basic else ""
            k, n = int(mine["single_class"].sum()), len(mine)
            entry["single-class folds"] = single_class_cell(k, n)
            if single_class_flagged(k, n):
                entry["model"] = f"{SINGLE_CLASS_MARK} {entry['model']}"
            if ceiling is not None:
                share = float("nan")
                ceil = ceiling_summary(ceiling, dimension)
                if entry["protocol"] == "subject" and ceil:
                    share = share_recovered(100 * mine["accuracy"].mean(),
                                            100 * mine["majority"].mean(), ceil["accuracy_mean"])
                entry["share of ceiling"] = "—" if np.isnan(share) else f"{round(100 * share):d} %"
            out.append(entry)
    if ceiling is not None:
        for dimension in sorted(folds["dimension"].unique()):
            ceil = ceiling_summary(ceiling, dimension)
            if not ceil:
                continue
            out.append({
                "model": CEILING_LABEL, "protocol": "subject", "dimension": dimension,
                "n_folds": ceil["n_folds"],
                "ACC (%)": f"{ceil['accuracy_mean']:.1f} ± {ceil['accuracy_std']:.1f}",
                "share of ceiling": f"ceiling (majority {ceil['majority_mean']:.1f})",
            })
    return pd.DataFrame(out).fillna("—")


CEILING_LABEL = "planted ceiling"


PAPER_FOLDS = 10  # MAAN §4.1: "10-fold cross-validation"
PAPER_PROTOCOL = "segment"  # the paper's folds are over segments, the one protocol its values fit


def attention_note(model: dict) -> str:
    """The attention as configured, against the paper's §2.2 (mask form, mixing, kernel)."""
    form = model.get("attention_form", "scale")
    mixing = model.get("attention_mixing", "channels")
    text = ("features x mask (the paper's form)" if form == "scale" else
            "features x (1 + mask) (DEVIATES: the paper scales by the mask)")
    if mixing == "channels":
        text += ("; inter-modality mixing: the concatenated ECG|EEG descriptor as the channels of "
                 "a 1x1 convolution, so every mask sees both modalities (the paper's first "
                 "convolution is not specified further)")
    else:
        kernel = int(model.get("attention_kernel", 3))
        reach = ("spanning the whole descriptor" if kernel == 0 else
                 f"{kernel} taps: only channels within {kernel // 2} of the ECG|EEG boundary see "
                 "the other modality (DEVIATES from the paper's inter-modality attention)")
        text += f"; a 1-channel convolution along the concatenated descriptor, {reach}"
    return (f"Attention (maan.model): {text}. Choice: the paper's form with mixing that spans "
            "both modalities, set from the paper's text before measuring; the earlier default "
            "(x (1 + mask), 3 taps) was chosen by MAAN − Basic on the test folds (docs/maan.md).")


def table_header(config_note: str, synthetic: bool, n_folds: int = PAPER_FOLDS, *,
                 model: dict | None = None, segments: dict | None = None,
                 ceiling: dict | None = None) -> str:
    """The table's header: data, protocols, every deviation from the paper, the tests, the
    single-class folds and (`ceiling`: config planted_ceiling) what the ceiling row is."""
    from edaffect.reporting.table_spec import SINGLE_CLASS_NOTE
    from edaffect.training.planted_ceiling import describe

    model, segments = model or {}, segments or {}
    folds = f"Folds: {n_folds} per protocol" + (
        "." if n_folds == PAPER_FOLDS
        else f" (DEVIATES from the paper's {PAPER_FOLDS}-fold cross-validation; split.n_folds).")
    train_share = 100 * (n_folds - 2) / n_folds
    per_trial = segments.get("max_segments_per_trial")
    seg_s, win_s = segments.get("segment_s", 10.0), segments.get("window_s", 1.0)
    return "\n".join([
        "# MAAN (Woo et al. 2023) on AMIGOS: ECG (HRV) + EEG (DE), with EDA as a third modality",
        "",
        "Data: " + ("SYNTHETIC AMIGOS (planted effects; not the paper data)" if synthetic
                    else "AMIGOS") + f". {config_note}",
        "Protocols: " + "; ".join(f"`{k}` = {v}" for k, v in PROTOCOL_NAMES.items()) + ".",
        folds,
        "Paper values (its Table 1) stand only beside the `segment` rows, the protocol they were "
        "measured with; `subject` rows have none.",
        attention_note(model),
        "Deviations from the paper: "
        f"(1) the `segment` protocol holds out a validation chunk beside the test chunk for the "
        f"epoch choice, so it trains on {train_share:.0f} % of the segments (the paper's "
        f"{PAPER_FOLDS}-fold cross-validation: 90 %, no validation); "
        "(2) squeeze-excitation is channel-only (the paper cites Roy et al.'s spatial + channel "
        "SE); (3) each U-Net unit has one level (one pooling; the paper gives no depth); "
        "(4) " + (f"{per_trial} evenly spread {seg_s:g}-s segments per trial (the paper: every "
                  "segment)" if per_trial else f"every {seg_s:g}-s segment of a trial") + "; "
        f"(5) the EEG input is a DE map per {win_s:g}-s window (4 bands x 14 electrodes x "
        f"{seg_s / win_s:g} windows; the paper: DE per band and channel over the segment); "
        "(6) the RR input gets a second channel, 1 = beat, 0 = zero padding (z-scored RR would "
        "otherwise put a beat at the training mean at the padding's value); "
        "(7) labels are the study's per-subject k-means labels (the paper does not say how it "
        "binarised); (8) widths, kernels and training settings are ours (docs/maan.md); "
        "(9) SEN & SPE = mean of sensitivity and specificity (the paper prints one number); "
        "(10) the `subject` protocol (ours) adds a validation fold for the epoch choice.",
        "Tests: corrected resampled t-test (Nadeau & Bengio) over folds of ACC minus the Basic "
        "model of the same protocol.",
        SINGLE_CLASS_NOTE.strip(),
    ] + ([
        describe(ceiling) + " The ceiling's folds are the `subject` protocol's (splits.csv); "
        "a `segment`-protocol row has no share.",
    ] if ceiling is not None and synthetic else [
        "Planted ceiling: none (real data: no ground truth to fit it on).",
    ] if ceiling is not None else []) + ([
        "Synthetic data: whether MAAN beats the Basic model is measured at AMIGOS's 40 "
        "participants over training seeds in docs/maan.md (benchmarks/maan_compare.py, "
        "maan_pool.py); a single run's differences, as here, are within the fold noise.",
    ] if synthetic else []))


def write_latex(frame: pd.DataFrame, path: str | Path, caption: str) -> None:
    body = frame.to_latex(index=False, escape=True)
    Path(path).write_text(f"% {caption}\n{body}")


# ---- the figure ----------------------------------------------------------------------------


def attention_by_class(paths: list[str]) -> pd.DataFrame:
    """Mean attention weight per modality and true class over the given folds' test segments
    (the `attention_*` columns of their predictions.csv)."""
    frame = pd.concat([pd.read_csv(p) for p in paths])
    cols = [c for c in frame.columns if c.startswith("attention_")]
    return frame.groupby("y_true")[cols].mean()


def plot_figure(attention: dict[str, pd.DataFrame], embeddings: dict[str, tuple], png, pdf):
    """Left: modality weights per class per dimension; right: PCA of the fused test features
    (Basic vs MAAN) coloured by class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    n = max(len(attention), 1) + len(embeddings)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
    axes = axes[0]
    for ax, (dimension, frame) in zip(axes, attention.items(), strict=False):
        mods = [c.replace("attention_", "").upper() for c in frame.columns]
        x = np.arange(len(mods))
        for k, (cls, values) in enumerate(frame.iterrows()):
            ax.bar(x + 0.38 * (k - 0.5), values.to_numpy(), 0.38,
                   label=f"{'high' if cls else 'low'} {dimension}")
        ax.set_xticks(x, mods)
        ax.set_ylabel("mean attention weight")
        ax.set_title(f"MAAN modality weights ({dimension})", fontsize=9)
        ax.set_ylim(0, 1.25 * max(1e-9, float(frame.to_numpy().max())))  # room for the legend
        ax.legend(fontsize=7, loc="upper center", ncol=2)
    for ax, (title, (feats, y)) in zip(axes[len(attention):], embeddings.items(), strict=False):
        xy = PCA(n_components=2, random_state=0).fit_transform(feats)
        for cls, color in ((0, "tab:blue"), (1, "tab:red")):
            ax.scatter(*xy[y == cls].T, s=6, c=color, alpha=0.6, label="high" if cls else "low")
        ax.set_title(f"{title}: PCA of fused features", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    fig.savefig(pdf)
    plt.close(fig)


def _run_file(paths: list[str], experiment: str, dimension: str, fold: int | None = None):
    marker = f"/{experiment}/"
    hits = [p for p in paths if marker in p and f"/{dimension}/" in p
            and (fold is None or f"/fold{fold}/" in p)]
    return hits


def fused_features(predictions_csv: str) -> tuple[np.ndarray, np.ndarray]:
    """(fused test features as written, float32; true classes) of one fold's predictions.csv."""
    frame = pd.read_csv(predictions_csv)
    cols = [c for c in frame.columns if c.startswith("fused_")]
    if not cols:
        raise ValueError(f"{predictions_csv}: no fused_* columns (not a MAAN run?)")
    return frame[cols].to_numpy(np.float32), frame["y_true"].to_numpy()


def write_report(
    *, metrics: list[str], predictions: list[str], paper_csv: str, rows: list[dict],
    figure: dict, synthetic: bool, config_note: str, outputs: dict, model: dict | None = None,
    segments: dict | None = None, ceiling: dict | None = None,
    ceiling_csv: list[str] | None = None,
) -> pd.DataFrame:
    """Rule maan_report: the table (csv, md with its header, tex) and the figure; `model` and
    `segments` (config maan.*) go into the header's deviations, `ceiling` (config
    planted_ceiling, when the table prints it) with `ceiling_csv` (synthetic data) its row."""
    from edaffect.io.config_schema import schema_defaults
    from edaffect.reporting.paper import load_paper_values
    from edaffect.training.planted_ceiling import load_ceiling

    folds = fold_frame(metrics)
    ceiling_folds = load_ceiling(ceiling_csv[0]) if ceiling is not None and ceiling_csv else None
    table = maan_table(folds, rows, load_paper_values(paper_csv), ceiling_folds)
    header = table_header(config_note, synthetic, int(folds["fold"].nunique()),
                          model={**schema_defaults("maan", "model"), **(model or {})},
                          segments=segments, ceiling=ceiling)
    atomic.write_with(Path(outputs["csv"]), lambda p: table.to_csv(p, index=False))
    atomic.write_with(Path(outputs["md"]), lambda p: p.write_text(
        header + "\n\n" + table.to_markdown(index=False) + "\n"))
    atomic.write_with(Path(outputs["tex"]), lambda p: write_latex(table, p, header.splitlines()[0]))
    dims = sorted(folds["dimension"].unique())
    weights = {d: attention_by_class(_run_file(predictions, figure["experiment"], d))
               for d in dims}
    views = {}
    for label, name in (("Basic", figure["basic"]), ("MAAN", figure["experiment"])):
        dim, fold = figure["dimension"], int(figure["fold"])
        views[f"{label} ({dim}, fold {fold})"] = fused_features(
            _run_file(predictions, name, dim, fold)[0])
    plot_figure(weights, views, outputs["png"], outputs["pdf"])
    log.info("MAAN table: %d rows from %d fold runs", len(table), len(folds))
    return table
