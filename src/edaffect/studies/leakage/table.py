"""The leakage table and figure: each arm's measures and the contrasts, paired by fold draw
(the draw is the unit of inference)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from edaffect.io import atomic
from edaffect.reporting.table_spec import PAPER_FOLDS
from edaffect.studies.leakage.arms import MEASURE_TEXT, MEASURES, Arm
from edaffect.studies.leakage.runs import load_runs

log = logging.getLogger(__name__)



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
