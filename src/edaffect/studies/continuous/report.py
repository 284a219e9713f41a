"""Tables and figures of the continuous-emotion study (issue 16; docs/continuous.md).

- `write_continuous_table`: RMSE/PCC/CCC pooled and within-trial CCC (mean ± std over folds) per
  experiment, split and dimension, with each row's look-ahead and the fold-paired corrected
  resampled test of its CCC against the constant one; song-disjoint rows first.
- `write_refined_table`: 3-class accuracy of the LSTM with fixed labels (s = 0) and with refined
  labels per s (τ chosen on validation), paired one-tailed t-test + Shapiro-Wilk (thesis Table
  4.2) and the corrected resampled test, with the thesis's MAHNOB-HCI EEG values beside ours.
- `write_lag_outputs`: the arousal -> SCR-rate cross-correlation curve, listener lags, figure.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from edaffect.io import atomic
from edaffect.reporting.figure_files import save_figure
from edaffect.reporting.paper import load_paper_values, paper_value, write_table
from edaffect.reporting.statistics import corrected_resampled_ttest, format_p

log = logging.getLogger(__name__)
MODEL_NAMES = {"constant": "constant (training mean)", "ridge": "ridge (window features)",
               "tcn": "TCN (1 − CCC)"}
FRAME_S = 0.5  # PMEmo's dynamic annotations: one frame every 0.5 s
SPLIT_NAMES = {"subject": "subject-independent", "song": "song-disjoint"}
THESIS = "thesis-ch4"


def _provenance(config: dict, what: str, n_trials: int | None = None) -> str:
    from edaffect.reporting.provenance import dataset_kind, provenance_line

    size = f"{n_trials} trials" if n_trials else None
    line = f"**{what}** — {provenance_line(config, {'pmemo': size})}."
    if dataset_kind(config, "pmemo") == "SYNTHETIC":
        line += " Synthetic data with planted dynamics: NOT a result about real listeners."
    return line


def _load(paths: list[str | Path]) -> pd.DataFrame:
    return pd.DataFrame([json.loads(Path(p).read_text()) for p in paths])


def _ms(values: pd.Series, digits: int = 3) -> str:
    values = values.dropna()
    if values.empty:
        return "—"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1) if len(values) > 1 else 0:.{digits}f}"


def _ratio(folds: pd.DataFrame) -> float:
    return float((folds["n_test"] / folds["n_train"]).mean())


def _label(name: str, config: dict) -> str:
    """Row label of a continuous experiment (model, inputs, causality) from config."""
    exp = config["experiments"][name]
    options = exp.get("options") or {}
    model = exp["model"]
    if model == "ridge" and options.get("features") == "music":
        return "music only (ridge on the song's music components)"
    if model == "song_lookup":
        return "song lookup (training listeners' mean trace of the song, per frame; no signal)"
    label = MODEL_NAMES.get(model, model)
    if model == "tcn":
        causal = options.get("causal", config["continuous"]["tcn"]["causal"])
        label += ", causal" if causal else ", non-causal"
    if exp.get("music") and model in ("ridge", "tcn"):
        label += " + music"
    return label


def look_ahead(name: str, part: pd.DataFrame, config: dict) -> str:
    """How far past a frame the row's prediction of that frame reads (its input, not labels)."""
    exp = config["experiments"][name]
    options = exp.get("options") or {}
    model = exp["model"]
    song = " + whole song (music)" if exp.get("music") else ""
    if model == "constant":
        return "none (no input)"
    if model == "song_lookup":
        return "none (other listeners' labels of the frame)"
    if options.get("features") == "music":
        return "non-causal: whole song (music)"
    if model == "ridge":
        half = config["continuous"]["feature_window_s"] / 2
        return f"non-causal: {half:g} s (centred window){song}"
    if model == "tcn" and "look_ahead_frames" in part:
        seconds = float(part["look_ahead_frames"].max()) * FRAME_S
        kind = "causal" if seconds == 0 else "non-causal"
        return f"{kind}: {seconds:g} s{song}"
    return "—"


def continuous_numeric(folds: pd.DataFrame) -> pd.DataFrame:
    """Per (split, experiment, dimension): mean/std of each metric and CCC vs constant."""
    rows = []
    for (split, name, dim), part in folds.groupby(["split", "experiment", "dimension"],
                                                   sort=False):
        row = {"split": split, "experiment": name, "model": part["model"].iloc[0],
               "dimension": dim, "n_folds": len(part), "n_test_trials": int(part["n_test"].sum())}
        for metric in ("rmse", "pcc", "ccc", "ccc_within"):
            column = part.get(f"test_{metric}", pd.Series(dtype=float))
            row[f"{metric}_mean"] = float(column.mean())
            row[f"{metric}_std"] = float(column.std(ddof=1))
        ref = folds[(folds["split"] == split) & (folds["model"] == "constant")
                    & (folds["dimension"] == dim)].set_index("fold")
        mine = part.set_index("fold")
        common = sorted(set(ref.index) & set(mine.index))
        if row["model"] != "constant" and len(common) >= 2:
            res = corrected_resampled_ttest(
                (mine.loc[common, "test_ccc"] - ref.loc[common, "test_ccc"]).to_numpy(),
                _ratio(mine.loc[common]),
            )
            row.update(ccc_vs_constant_diff=res.mean_diff, ccc_vs_constant_ci_low=res.ci_low,
                       ccc_vs_constant_ci_high=res.ci_high, ccc_vs_constant_p=res.p_value)
        rows.append(row)
    out = pd.DataFrame(rows)
    # the headline first: song-disjoint rows, then subject folds, config order within
    order = {"song": 0, "subject": 1}
    return out.sort_values("split", key=lambda c: c.map(order), kind="stable").reset_index(
        drop=True)


def write_continuous_table(metrics_paths: list[str | Path], csv_path, md_path, config: dict
                           ) -> pd.DataFrame:
    """results/tables/continuous_table.{csv,md}."""
    folds = _load(metrics_paths)
    numeric = continuous_numeric(folds)
    shown, reach = [], []
    for row in numeric.itertuples():
        vs = "—"
        if isinstance(getattr(row, "ccc_vs_constant_p", None), float) and \
                np.isfinite(row.ccc_vs_constant_p):
            vs = (f"{row.ccc_vs_constant_diff:+.3f} [{row.ccc_vs_constant_ci_low:+.3f}, "
                  f"{row.ccc_vs_constant_ci_high:+.3f}], {format_p(row.ccc_vs_constant_p)}")
        part = folds[(folds["split"] == row.split) & (folds["experiment"] == row.experiment)
                     & (folds["dimension"] == row.dimension)]
        reach.append(look_ahead(row.experiment, part, config))
        shown.append({
            "folds": SPLIT_NAMES.get(row.split, row.split),
            "model": _label(row.experiment, config), "dimension": row.dimension,
            "causal / look-ahead": reach[-1], "RMSE ↓": _ms(part["test_rmse"]),
            "PCC ↑": _ms(part["test_pcc"]), "CCC pooled ↑": _ms(part["test_ccc"]),
            "CCC within trial ↑": _ms(part.get("test_ccc_within", pd.Series(dtype=float))),
            "CCC − constant (95 % CI, corrected t)": vs,
            "test trials (sum over folds)": row.n_test_trials,
        })
    numeric["look_ahead"] = reach
    c = config["continuous"]
    tcn = c["tcn"]
    causal = "causal" if tcn["causal"] else (
        "non-causal, centred kernels, since EDA responds 1-3 s after the emotion")
    n_trials = int(folds.groupby(["split", "experiment", "dimension"])["n_test"].sum().max())
    header = _provenance(config, "Continuous V/A recognition (thesis ch. 3, adapted)", n_trials)
    header += (
        "\n\n**Headline: the song-disjoint rows** (listed first). PMEmo's dynamic annotations "
        "are one mean trace per song, the same target for every listener of it, so under "
        "subject-independent folds the test song's exact trace is in the training folds: the "
        "song-lookup row (no signal: per frame, the training listeners' mean trace of the test "
        "trial's song) shows what recognising the song alone scores there, and the music-only "
        "row (ridge on the song's music components) what the song's descriptors give. "
        "Song-disjoint folds remove that: songs in "
        f"{c['song_groups']} groups, fold k tests its listeners on song group k mod "
        f"{c['song_groups']}, validates on the next group, trains on the others, so no listener "
        "and no song has two roles in a fold (fewer trials tested: see the last column); the "
        "lookup then knows no trace of the test song and gives every training song's mean "
        "trace at that frame time."
        "\n\nCCC (Lin 1989, standard plus sign; the thesis prints eq. 2.3 with a minus) pooled "
        "over each test fold's concatenated frames (rewards each trial's level) and within "
        "trial (mean over test trials of each trial's own CCC: the trace's course over time; a "
        "per-trial constant scores 0); RMSE and PCC pooled; 2 Hz dynamic annotations, PMEmo "
        "0-1 scale; mean ± std over folds. Subject-independent folds: the study's "
        f"{config['split']['n_folds']}, with a validation fold (DEVIATES from the thesis: "
        "leave-one-subject-out, 24 folds, and trial-level shuffling, 10 folds). Normalisation "
        "and the music PCA use training folds only; epochs (TCN) and alpha (ridge) are chosen "
        "on the validation fold."
        "\n\nCausality (column 'causal / look-ahead': how far past a frame its prediction "
        "reads; DEVIATES from the thesis's causal TCN where non-causal): the TCN's padding is "
        f"config continuous.tcn.causal (here: {causal}) unless an experiment sets "
        "options.causal; ridge features are windows of "
        f"{c['feature_window_s']:g} s centred on the frame ({c['feature_window_s'] / 2:g} s of "
        "look-ahead); the music components are functionals of the whole song. "
        f"Deviations from the thesis: EDA (+ music) instead of EEG/video; inputs at the label "
        f"rate (frame means of EDA, phasic, tonic, cvxEDA driver, + {c['music_components']} "
        f"principal components of the song's openSMILE functionals); windows {c['window_s']:g} s, "
        f"hop {c['hop_s']:g} s; TCN channels {tcn['channels']}, kernel {tcn['kernel']}, "
        f"{tcn['epochs']} epochs, Adam lr {tcn['lr']:g}."
    )
    write_table(numeric, csv_path, md_path, header)
    _replace_md_table(md_path, header, pd.DataFrame(shown))
    return numeric


def _replace_md_table(md_path, header: str, shown: pd.DataFrame) -> None:
    """The Markdown keeps the formatted table (the CSV keeps the numbers)."""
    atomic.write_text(md_path, header.rstrip() + "\n\n" + shown.to_markdown(index=False) + "\n")


def traces_figure(prediction_paths: list[str | Path], png, pdf, config: dict,
                  n_trials: int = 4) -> None:
    """Predicted vs annotated traces of a few test trials (the TCN's, first fold given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edaffect.reporting.provenance import data_line

    fig, axes = plt.subplots(len(prediction_paths), 1, figsize=(8, 2.6 * len(prediction_paths)),
                             squeeze=False)
    for ax, path in zip(axes[:, 0], prediction_paths, strict=True):
        pred = pd.read_csv(path, dtype={"trial_id": str})
        dimension = Path(path).parents[1].name  # .../{dimension}/fold{k}/predictions.csv
        trials = pred["trial_id"].drop_duplicates().tolist()[:n_trials]
        offset = 0.0
        for i, trial in enumerate(trials):
            part = pred[pred["trial_id"] == trial]
            t = part["frameTime"].to_numpy() - part["frameTime"].iloc[0] + offset
            ax.plot(t, part["y_true"], color="k", lw=1.2, label="annotated" if i == 0 else None)
            ax.plot(t, part["y_pred"], color="tab:red", lw=1.2,
                    label="predicted" if i == 0 else None)
            ax.text(t[0], 1.02, trial, fontsize=7, transform=ax.get_xaxis_transform())
            offset = t[-1] + 2.0
        ax.set_ylabel(f"{dimension} (0-1)")
        ax.set_xlabel("time within the annotated part of each trial (s), trials side by side")
        ax.legend(loc="lower right", fontsize=8)
    first = Path(prediction_paths[0])  # results/runs/{experiment}/pmemo/{dimension}/fold{k}/...
    fig.suptitle(f"{first.parents[3].name}: predictions vs dynamic annotations, test trials of "
                 f"{first.parent.name}\n{data_line(config, ['pmemo'])}", fontsize=9)
    save_figure(fig, png, pdf, dpi=120)


# ---------------------------------------------------------------------------- refined labels


def refined_numeric(folds: pd.DataFrame) -> pd.DataFrame:
    """One row per dimension and s (s = 0: the fixed-label baseline; 'chosen': s and τ both
    chosen on validation), with the tests against the baseline over folds."""
    rows = []
    for dim, part in folds.groupby("dimension", sort=False):
        part = part.sort_values("fold")
        base = part["baseline_test_accuracy"].to_numpy()
        ratio = _ratio(part)
        rows.append({"dimension": dim, "s": 0.0, "tau_median": np.nan, "n_folds": len(part),
                     "accuracy_mean": base.mean(), "accuracy_std": base.std(ddof=1)})
        per_s: dict[object, list[float]] = {}
        taus: dict[object, list[float]] = {}
        for sweep in part["sweep"]:
            sweep = pd.DataFrame(sweep)
            best_all = sweep.loc[sweep["val_accuracy"].idxmax()]
            per_s.setdefault("chosen", []).append(best_all["test_accuracy"])
            taus.setdefault("chosen", []).append(best_all["s"])
            for s, rows_s in sweep.groupby("s"):
                best = rows_s.loc[rows_s["val_accuracy"].idxmax()]
                per_s.setdefault(float(s), []).append(float(best["test_accuracy"]))
                taus.setdefault(float(s), []).append(float(best["tau"]))
        for s, acc in per_s.items():
            acc = np.asarray(acc)
            diff = acc - base
            t_p = stats.ttest_rel(acc, base, alternative="greater").pvalue if len(acc) > 1 \
                else np.nan
            shapiro = stats.shapiro(diff).pvalue if len(diff) >= 3 and np.ptp(diff) > 0 \
                else np.nan
            crt = corrected_resampled_ttest(diff, ratio)
            rows.append({
                "dimension": dim, "s": s, "tau_median": float(np.median(taus[s])),
                "n_folds": len(acc), "accuracy_mean": acc.mean(), "accuracy_std": acc.std(ddof=1),
                "p_one_tailed": float(t_p), "shapiro_p": float(shapiro),
                "corrected_diff": crt.mean_diff, "corrected_ci_low": crt.ci_low,
                "corrected_ci_high": crt.ci_high, "corrected_p": crt.p_value,
            })
    return pd.DataFrame(rows)


def _thesis(values: pd.DataFrame, s, metric: str) -> float | None:
    if s == "chosen":
        return None
    if s == 0.0:
        return paper_value(values, paper=THESIS, table="4.1", dimension="valence", metric=metric,
                           key={"method": "baseline (fixed trial label)", "input": "EEG"})
    return paper_value(values, paper=THESIS, table="4.2", dimension="valence", metric=metric,
                       key={"method": "refined labels", "input": "EEG", "config": f"s={s:.2f}"})


def _number(value: float | None, digits: int) -> str:
    """`value` with `digits` decimals; "—" when absent or not finite."""
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def write_refined_table(metrics_paths: list[str | Path], csv_path, md_path, png, pdf,
                        config: dict) -> pd.DataFrame:
    """results/tables/refined_labels_table.{csv,md} and the accuracy-vs-s figure (Fig. 4.3)."""
    folds = _load(metrics_paths)
    numeric = refined_numeric(folds)
    values = load_paper_values()
    for col, metric in (("thesis_eeg_mean", "accuracy_mean"), ("thesis_eeg_std", "accuracy_std"),
                        ("thesis_eeg_p", "p_one_tailed"), ("thesis_eeg_shapiro", "shapiro_p")):
        numeric[col] = [_thesis(values, s, metric) for s in numeric["s"]]
    shown = []
    for row in numeric.itertuples():
        s = row.s
        label = "0 (fixed label)" if s == 0.0 else ("s, τ chosen on val" if s == "chosen"
                                                      else f"{s:.2f}")
        corrected = "—"
        if s != 0.0 and np.isfinite(row.corrected_p):
            corrected = (f"{row.corrected_diff * 100:+.1f} [{row.corrected_ci_low * 100:+.1f}, "
                         f"{row.corrected_ci_high * 100:+.1f}] pts, {format_p(row.corrected_p)}")
        thesis = "—" if row.thesis_eeg_mean is None or pd.isna(row.thesis_eeg_mean) else (
            f"{row.thesis_eeg_mean:.4f} ± {row.thesis_eeg_std:.4f}")
        shown.append({
            "dimension": row.dimension, "s": label,
            "τ (median of per-fold val choice)": _number(row.tau_median, 2),
            "accuracy (mean ± std)": f"{row.accuracy_mean:.4f} ± {row.accuracy_std:.4f}",
            "p (paired one-tailed t)": _number(getattr(row, "p_one_tailed", None), 4),
            "Shapiro-Wilk p": _number(getattr(row, "shapiro_p", None), 4),
            "corrected resampled t (Δ, 95 % CI)": corrected,
            "thesis MAHNOB-HCI EEG (another dataset)": thesis,
            "thesis p / normality": "—" if pd.isna(row.thesis_eeg_p) else
            f"{row.thesis_eeg_p:.4f} / {row.thesis_eeg_shapiro:.4f}",
        })
    r = config["continuous"]["refined"]
    header = _provenance(config, "Refined 3-class labels (thesis ch. 4, Table 4.2, adapted)",
                         int(folds["n_test"].sum() / max(1, folds["dimension"].nunique())))
    header += (
        "\n\nLSTM (2 layers d/2, d/4, linear, 3-way, dropout 0.4, masked loss, early stopping "
        "on the validation loss) on per-frame window features of the EDA (+ music components), "
        "trained with the fixed trial class on every frame (s = 0) or with the refined labels "
        "of eq. 4.1-4.2 on the song's dynamic trace on the thesis's [−1, 1] scale, 2 (y − 0.5) "
        "of PMEmo's 0-1 trace, so s and τ are the thesis's; s ∈ "
        f"{{{', '.join(f'{v:.2f}' for v in r['s_values'])}}} (thesis: 0.10, 0.15, …, 0.40); "
        "accuracy of every test frame "
        "against the fixed class (thesis protocol), mean ± std over the study's "
        f"{config['split']['n_folds']} subject-independent folds (DEVIATES from the thesis: "
        "leave-one-subject-out, 24 folds; a test listener's song may have been heard by "
        "training listeners). Fixed class: the "
        "listener's own static rating in per-listener terciles (PMEmo has no emotion tags). "
        f"τ ∈ [0.01, 0.9 s] in steps of {r['tau_step']:g} (thesis: 0.01), chosen per fold and s "
        "on the validation fold only (the thesis averages over all τ; choosing on test would "
        "leak). p: paired one-tailed t-test of refined > fixed over folds, Shapiro-Wilk on the "
        "differences (as thesis Table 4.2); the corrected resampled t-test (two-sided) accounts "
        "for the folds' shared training data. Thesis values: valence on MAHNOB-HCI EEG, another "
        f"dataset and modality, context only. Ours: dimension(s) {r['dimensions']}, "
        f"{r['epochs']} epochs max, patience {r['patience']}, Adam lr {r['lr']:g}."
    )
    numeric["s"] = numeric["s"].astype(str)
    write_table(numeric, csv_path, md_path, header)
    _replace_md_table(md_path, header, pd.DataFrame(shown))
    _refined_figure(numeric, png, pdf, config)
    return numeric


def _refined_figure(numeric: pd.DataFrame, png, pdf, config: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edaffect.reporting.provenance import data_line

    fig, ax = plt.subplots(figsize=(6, 4))
    for dim, part in numeric.groupby("dimension", sort=False):
        sweep = part[~part["s"].isin(["0.0", "chosen"])]
        s = sweep["s"].astype(float)
        line = ax.errorbar(s, sweep["accuracy_mean"], yerr=sweep["accuracy_std"], marker="o",
                           capsize=3, label=f"ours, {dim} (EDA + music)")
        base = part[part["s"] == "0.0"]["accuracy_mean"].iloc[0]
        ax.axhline(base, ls="--", color=line[0].get_color(), label=f"ours, {dim}: fixed label")
    thesis = numeric.dropna(subset=["thesis_eeg_mean"])
    thesis = thesis[~thesis["s"].isin(["0.0", "chosen"])].drop_duplicates("s")
    if len(thesis):
        ax.plot(thesis["s"].astype(float), thesis["thesis_eeg_mean"], "s:", color="grey",
                mfc="none", label="thesis, valence, MAHNOB-HCI EEG (other data)")
    ax.set_xlabel("translation s (τ chosen on validation)")
    ax.set_ylabel("3-class accuracy vs fixed label")
    ax.set_title(f"Accuracy vs s (thesis Fig. 4.3)\n{data_line(config, ['pmemo'])}", fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, png, pdf, dpi=120)


# --------------------------------------------------------------------------------------- lag


def planted_lags(ground_truth_csv: str | Path | None) -> pd.DataFrame | None:
    """Per-listener planted lag (`response_lag_s` of ground_truth.csv), if the file has it."""
    if not ground_truth_csv or not Path(ground_truth_csv).is_file():
        return None
    truth = pd.read_csv(ground_truth_csv, dtype={"subject": str})
    if "response_lag_s" not in truth.columns:
        return None
    return truth.groupby("subject", as_index=False)["response_lag_s"].first().rename(
        columns={"response_lag_s": "lag_s"})


SIGNAL_NAMES = {"scr_rate": "SCR rate (cvxEDA driver)", "tonic": "tonic level (cross-check)"}


def _lag_sentence(signal: str, summary: dict) -> str:
    text = (f" {SIGNAL_NAMES.get(signal, signal)}: pooled-curve peak "
            f"{summary['pooled_peak_lag_s']:.2f} s (r = {summary['pooled_peak_r']:.3f}); mean of "
            f"{summary['n_listeners']} listeners' peak lags {summary['mean_listener_lag_s']:.2f} "
            f"± {summary['sd_listener_lag_s']:.2f} s")
    if "planted_mean_lag_s" in summary:
        text += (f"; planted mean lag {summary['planted_mean_lag_s']:.2f} s, |pooled peak − "
                 f"planted| = {summary['abs_error_mean_lag_s']:.2f} s, per-listener correlation "
                 "planted vs "
                 f"recovered r = {summary['listener_lag_correlation']:.2f}")
    return text + "."


def write_lag_outputs(curves: pd.DataFrame, planted: pd.DataFrame | None, csv_path, md_path,
                      png, pdf, config: dict, settings: dict) -> dict:
    """results/tables/lag_table.{csv,md} (curve per lag and signal, summary in the header) and
    the figure; returns {signal: summary}."""
    from edaffect.studies.continuous.lag import summarise

    summaries, pooled_all = {}, []
    for signal, part in curves.groupby("signal", sort=False):
        pooled, _, summary = summarise(part.drop(columns="signal"), planted)
        summaries[signal] = summary
        pooled_all.append(pooled.assign(signal=signal))
    pooled = pd.concat(pooled_all, ignore_index=True)
    n_trials = int(curves["trial_id"].nunique())
    header = _provenance(config, "Lag of the skin's response to annotated arousal", n_trials)
    header += (
        f"\n\nCross-correlation over lags {-settings['max_lag_s']:g}…+{settings['max_lag_s']:g} s "
        "(positive: the skin follows the annotation) of each trial's annotated arousal (2 Hz) "
        "with its SCR rate (cvxEDA driver of the decomposition cache, Gaussian-smoothed, SD "
        f"{settings['smooth_s']:g} s) and, as a cross-check, with cvxEDA's tonic level; "
        "Fisher-z mean over trials (r_mean), SD and SEM; a listener's lag is the parabola-"
        "refined peak of the mean of their trials' curves."
    )
    for signal, summary in summaries.items():
        header += _lag_sentence(signal, summary)
    header += (
        " Tonic changes faster than cvxEDA's tonic spline (knots every "
        f"{config['preprocessing']['cvxeda']['delta_knot']:g} s) leak into the driver following "
        "the tonic's derivative, which leads the arousal: that pulls the SCR-rate peak to "
        "earlier lags when the tonic level follows the arousal quickly. The tonic follows "
        "slowly: on synthetic data it trails by the lag plus its own delay, so its peak is a "
        "cross-check of direction, not the lag (docs/continuous.md)."
    )
    table = pooled[["signal", "lag_s", "r_mean", "r_sd", "r_sem", "n_trials"]]
    write_table(table, csv_path, md_path, header)
    _lag_figure(pooled, summaries, png, pdf, config)
    return summaries


def _lag_figure(pooled: pd.DataFrame, summaries: dict, png, pdf, config: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edaffect.reporting.provenance import data_line

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (signal, part), color in zip(pooled.groupby("signal", sort=False),
                                     ("tab:blue", "tab:orange", "tab:green"), strict=False):
        summary = summaries[signal]
        ax.plot(part["lag_s"], part["r_mean"], "o-", ms=3, color=color,
                label=f"{SIGNAL_NAMES.get(signal, signal)}: peak "
                      f"{summary['pooled_peak_lag_s']:.2f} s")
        ax.fill_between(part["lag_s"], part["r_mean"] - 1.96 * part["r_sem"],
                        part["r_mean"] + 1.96 * part["r_sem"], alpha=0.2, color=color)
        ax.axvline(summary["pooled_peak_lag_s"], color=color, ls="--", lw=0.8)
    planted = [s["planted_mean_lag_s"] for s in summaries.values() if "planted_mean_lag_s" in s]
    if planted:
        ax.axvline(planted[0], color="k", ls=":", label=f"planted mean lag {planted[0]:.2f} s")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("lag (s): skin signal at t + lag vs annotated arousal at t")
    ax.set_ylabel("Pearson r (Fisher-z mean over trials)")
    ax.set_title(f"Arousal -> skin response cross-correlation\n{data_line(config, ['pmemo'])}",
                 fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, png, pdf, dpi=120)
