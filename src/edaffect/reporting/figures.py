"""The paper's Fig. 4 (subject-incremental curves) and Figs. 5–8 (Grad-CAM-1D of R_b, R_d, R_e).

Each figure is written as PNG (for the report) and PDF (vector), with the data it was computed on
in its title so synthetic results are never mistaken for the paper's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from edaffect.models.gradcam import GradCam1D  # noqa: E402
from edaffect.reporting.figure_files import save_figure  # noqa: E402
from edaffect.reporting.paper import load_paper_values, paper_value  # noqa: E402
from edaffect.reporting.result_tables import load_fold_metrics  # noqa: E402
from edaffect.reporting.table_spec import PAPER  # noqa: E402

CHANNELS = ("EDA (z-scored)", "phasic", "tonic")
CHANNEL_COLOURS = ("tab:red", "tab:blue", "tab:green")  # as in the paper: red, blue, green
MODULE_NAMES = {"sca_res": "SCA_Res", "sca": "SCA", "rnta": "RNTA"}
# Table 5's ticks by module set, and the kind of attention §5.3.3 names for Figs. 5-8.
TABLE5_TICKS = {
    (): "Base", ("sca_res",): "R_a", ("sca",): "R_b", ("sca", "sca_res"): "R_c",
    ("rnta",): "R_d", ("rnta", "sca"): "R_e", ("rnta", "sca", "sca_res"): "R_f",
}


def attention_label(modules) -> str:
    """'R_e, channel + temporal attention (SCA+RNTA)': Table 5's tick and §5.3.3's name."""
    flags = set(modules)
    tick = TABLE5_TICKS.get(tuple(sorted(flags)), "custom")
    channel, temporal = bool(flags & {"sca", "sca_res"}), "rnta" in flags
    kind = {(True, True): "channel + temporal attention", (True, False): "channel attention",
            (False, True): "temporal attention"}.get((channel, temporal), "no attention")
    names = "+".join(MODULE_NAMES.get(m, m) for m in ("sca_res", "sca", "rnta") if m in flags)
    return f"{tick}, {kind} ({names or 'none'})"
SERIES_STYLE = {"SVM": ("tab:gray", "s"), "3-layer CNN": ("tab:orange", "^"),
                "RTCAG": ("tab:purple", "o")}


def _save(fig, png: str | Path, pdf: str | Path) -> None:
    save_figure(fig, png, pdf, dpi=150, tight_bbox=True)


def incremental_rows(rows: list[dict], dataset: str = "pmemo") -> list[dict]:
    """Table 3 rows of the subject-incremental study: methods run at more than one subset."""
    on_dataset = [r for r in rows if r["dataset"] == dataset and r["paper"].get("subset")]
    methods = pd.Series([r["paper"]["method"] for r in on_dataset])
    keep = set(methods[methods.duplicated(keep=False)])
    return [r for r in on_dataset if r["paper"]["method"] in keep]


def subject_incremental_figure(
    rows: list[dict],
    metrics_paths: list[str | Path],
    experiments: dict[str, dict],
    png: str | Path,
    pdf: str | Path,
    data_line: str,
    paper_tables: str | Path | None = None,
    metric: str = "accuracy",
) -> pd.DataFrame:
    """Fig. 4: accuracy (mean ± std over folds) against the subject fraction, V and A panels,
    our curves solid, the paper's (Table 3) dashed. Returns the plotted numbers."""
    folds = load_fold_metrics(metrics_paths)
    paper_values = load_paper_values(paper_tables)
    points = []
    for row in incremental_rows(rows):
        fraction = float(experiments.get(row["experiment"], {}).get("fraction", 1.0))
        for dim in ("valence", "arousal"):
            sel = folds[(folds.experiment == row["experiment"]) & (folds.dataset == row["dataset"])
                        & (folds.dimension == dim)]
            if sel.empty:
                raise ValueError(f"Fig. 4: no folds for {row['experiment']}/{row['dataset']}/{dim}")
            tested = [set(s) for s in sel["test_subjects"] if s is not None]
            points.append({
                "method": row["paper"]["method"], "experiment": row["experiment"],
                "dimension": dim, "nominal_percent": fraction * 100.0,
                "n_subjects": len(set().union(*tested)) if tested else np.nan,
                "mean": sel[metric].mean() * 100.0,
                "std": sel[metric].std(ddof=1) * 100.0 if len(sel) > 1 else 0.0,
                "n_folds": len(sel),
                "paper": paper_value(paper_values, paper=PAPER, table=3, dimension=dim,
                                     metric=metric, key=row["paper"]),
            })
    frame = pd.DataFrame(points)
    if frame.empty:
        raise ValueError("Fig. 4: config tables.table3 has no subject-incremental rows")
    # x: the realised share of subjects (every subject of a subset is tested once, so the
    # union of test subjects is the subset; small subsets are raised to n_folds subjects).
    total = frame["n_subjects"].max()
    frame["percent"] = np.where(frame["n_subjects"].notna(),
                                100.0 * frame["n_subjects"] / total, frame["nominal_percent"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, dim in zip(axes, ("valence", "arousal"), strict=False):
        for method, group in frame[frame.dimension == dim].groupby("method", sort=False):
            group = group.sort_values("percent")
            colour, marker = SERIES_STYLE.get(method, (None, "o"))
            ax.errorbar(group.percent, group["mean"], yerr=group["std"], color=colour,
                        marker=marker, capsize=3, label=f"{method} (ours)")
            paper = group.dropna(subset=["paper"])
            if len(paper):
                ax.plot(paper.percent, paper.paper, color=colour, marker=marker, ls="--",
                        mfc="none", alpha=0.8, label=f"{method} (paper)")
        ax.set_title(dim.capitalize(), fontsize=10)
        ax.set_xlabel("subjects used (realised %; nominal subset in brackets)", fontsize=9)
        ticks = frame.drop_duplicates("percent").sort_values("percent")
        ax.set_xticks(ticks.percent, [
            f"{p:.0f}%\n{n:.0f}/{total:.0f} ({q:.0f}%)" if np.isfinite(n) else f"{q:.0f}%"
            for p, n, q in zip(ticks.percent, ticks.n_subjects, ticks.nominal_percent,
                               strict=True)
        ], fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"{'accuracy' if metric == 'accuracy' else metric} (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=3,
               bbox_to_anchor=(0.5, -0.13), frameon=False)
    fig.suptitle(f"Subject-incremental {metric} on PMEmo (mean ± std over folds)\n{data_line}",
                 fontsize=9, y=1.04)
    _save(fig, png, pdf)
    return frame


def _time_axis(length: int, duration_s: float | None) -> tuple[np.ndarray, str]:
    if duration_s and duration_s > 0:
        return np.linspace(0.0, duration_s, length, endpoint=False), "time after crop (s)"
    return np.arange(length, dtype=float), "input sample"


def attention_curves_figure(
    x: np.ndarray,
    maps: Sequence[tuple[str, GradCam1D]],
    png: str | Path,
    pdf: str | Path,
    title: str,
    duration_s: float | None = None,
) -> None:
    """Figs. 5/7: the 3 input curves (EDA red, phasic blue, tonic green) and the Grad-CAM weights
    as black columns, one panel per model."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] != len(CHANNELS):
        raise ValueError(f"expected a (3, L) input, got {x.shape}")
    t, xlabel = _time_axis(x.shape[1], duration_s)
    width = (t[1] - t[0]) if len(t) > 1 else 1.0
    fig, axes = plt.subplots(len(maps), 1, figsize=(10, 2.6 * len(maps)), sharex=True,
                             squeeze=False)
    for letter, ax, (label, result) in zip("abcdefgh", axes[:, 0], maps, strict=False):
        bars = ax.twinx()
        bars.bar(t, result.cam, width=width, color="black", alpha=0.35, align="edge",
                 label="Grad-CAM weight")
        bars.set_ylim(0, 1.05)
        bars.set_ylabel("Grad-CAM weight (0–1)", fontsize=8)
        for channel, name, colour in zip(x, CHANNELS, CHANNEL_COLOURS, strict=False):
            ax.plot(t, channel, color=colour, lw=1.2, label=name)
        ax.set_zorder(bars.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_ylabel("input (z-score)")
        ax.set_title(f"({letter}) {label} — layer '{result.layer}', predicted class "
                     f"{'high' if result.class_index == 1 else 'low'} "
                     f"(p = {result.probability:.2f})", fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    from matplotlib.patches import Patch

    handles.append(Patch(color="black", alpha=0.35))
    labels.append("Grad-CAM weight")
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=4, frameon=False,
               bbox_to_anchor=(0.5, -0.03))
    axes[-1, 0].set_xlabel(xlabel)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    _save(fig, png, pdf)


def attention_spectrogram_figure(
    maps: Sequence[tuple[str, GradCam1D]],
    png: str | Path,
    pdf: str | Path,
    title: str,
    duration_s: float | None = None,
) -> None:
    """Figs. 6/8: the same weights as warm-to-cool heat maps: the Grad-CAM map and its guided
    projection onto each input channel (EDA, phasic, tonic), one panel per model."""
    fig, axes = plt.subplots(len(maps), 1, figsize=(10, 1.9 * len(maps) + 0.6), sharex=True,
                             squeeze=False)
    image = None
    for letter, ax, (label, result) in zip("abcdefgh", axes[:, 0], maps, strict=False):
        rows = np.vstack([result.cam[None, :], result.channel_map])
        length = rows.shape[1]
        t, xlabel = _time_axis(length, duration_s)
        end = t[-1] + (t[1] - t[0] if length > 1 else 1.0)
        image = ax.imshow(rows, aspect="auto", cmap="jet", vmin=0, vmax=1,
                          extent=(t[0], end, rows.shape[0] - 0.5, -0.5), interpolation="nearest")
        ax.set_yticks(range(4), ["Grad-CAM", "EDA", "phasic", "tonic"], fontsize=8)
        ax.set_title(f"({letter}) {label} — layer '{result.layer}'", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel(xlabel)
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="relative weight (0–1)", shrink=0.9)
    fig.suptitle(title, fontsize=9)
    _save(fig, png, pdf)


def load_trained_model(path: str | Path):
    """Rebuild a trained network from its model.pt (contract: state_dict + build arguments)."""
    import torch

    from edaffect.models import build_model

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    missing = [k for k in ("state_dict", "experiment", "in_channels", "input_length", "music_dim")
               if k not in ckpt]
    if missing:
        raise ValueError(f"{path}: model.pt lacks key(s) {missing}")
    model = build_model(**{k: ckpt[k] for k in ("experiment", "in_channels", "input_length",
                                                "music_dim")})
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt


def choose_example_trial(predictions_paths: Sequence[str | Path], seed: int) -> str:
    """A seeded random test trial that every compared model scored (paper: 'random subject')."""
    common: set[str] | None = None
    for path in predictions_paths:
        ids = set(pd.read_csv(path, dtype={"trial_id": str})["trial_id"])
        common = ids if common is None else common & ids
    if not common:
        raise ValueError(f"no test trial is shared by {list(map(str, predictions_paths))}")
    rng = np.random.default_rng(seed)
    return sorted(common)[int(rng.integers(len(common)))]


def gradcam_figures(
    models: Sequence[tuple[str, str | Path]],
    predictions: Sequence[str | Path],
    curves_png: str | Path,
    curves_pdf: str | Path,
    spectrogram_png: str | Path,
    spectrogram_pdf: str | Path,
    *,
    dimension: str,
    fold: int,
    fold_inputs: dict,
    data_line: str,
    seed: int,
    trials_csv: str | Path | None = None,
    crop_s: float = 0.0,
) -> dict:
    """Figs. 5+6 (valence) or 7+8 (arousal): Grad-CAM-1D of each trained model on one test trial.

    `models` is [(label, model.pt path)] of one fold; `fold_inputs` are the keyword arguments of
    `edaffect.training.trainer.load_fold_data` (splits, labels, inputs, music features), so every
    model
    sees the trial exactly as in its test (music z-scored with that fold's training songs).
    """
    import torch

    from edaffect.models.gradcam import default_target_layer, grad_cam_1d
    from edaffect.training.trainer import load_fold_data

    trial_id = choose_example_trial(predictions, seed)
    duration, subject = None, None
    if trials_csv is not None:
        trials = pd.read_csv(trials_csv, dtype={"trial_id": str, "subject": str})
        hit = trials[trials.trial_id == trial_id]
        if len(hit):
            duration = float(hit.n_samples.iloc[0]) / float(hit.fs.iloc[0]) - crop_s
            subject = str(hit.subject.iloc[0])
    maps, x = [], None
    for label, path in models:
        model, ckpt = load_trained_model(path)
        _, _, test, _ = load_fold_data(ckpt["experiment"], dimension, fold, **fold_inputs)
        if trial_id not in test.trial_id:
            raise ValueError(f"{path}: trial {trial_id!r} is not in test fold {fold}")
        i = test.trial_id.index(trial_id)
        x_i = np.asarray(test.x[i], dtype=np.float32)
        if x is not None and not np.array_equal(x, x_i):
            raise ValueError(f"{path}: trial {trial_id!r} input differs between the models")
        x = x_i
        music = None if test.music is None or not ckpt["music_dim"] else test.music[i]
        music_t = None if music is None else torch.as_tensor(music).reshape(1, -1)
        layer = default_target_layer(model, torch.as_tensor(x)[None], music_t)
        name = f"{label}: {attention_label(ckpt['experiment'].get('modules', []))}"
        maps.append((name, grad_cam_1d(model, x, layer, music=music)))
    what = (f"{dimension} recognition, trial {trial_id}"
            f"{f' (subject {subject})' if subject else ''}, test fold {fold} (0-based)\n"
            f"{data_line}")
    attention_curves_figure(x, maps, curves_png, curves_pdf,
                            f"Grad-CAM-1D over the 3-channel input — {what}", duration)
    attention_spectrogram_figure(maps, spectrogram_png, spectrogram_pdf,
                                 f"Grad-CAM-1D weights as heat maps — {what}", duration)
    return {"trial_id": trial_id, "layers": {label: r.layer for label, r in maps},
            "classes": {label: r.class_index for label, r in maps}}
