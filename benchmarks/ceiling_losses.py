"""Where the study loses the planted signal (docs/ceiling.md): the planted ceiling beside what
survives noisy electrodes, per-trial z-scoring, the input length L and the cvxEDA rate.

Reads a study's results/ (the data stages only: ground truth, trials, decomposition cache,
inputs.npy, features, labels, folds; no training), e.g. of the default config:

    .venv/bin/snakemake --cores all results/{pmemo,deap,amigos}/{eda_features.csv,inputs.npy}
    .venv/bin/python benchmarks/ceiling_losses.py --results results [--rate-trials 48]

Noisy-electrode subjects are re-derived from the generator (`draw_subject` on the subject's own
stream; noise power >= 10x the clean level: the noisy ones have 100-3000x).  All classifiers are
the planted ceiling's (logistic regression, standardised on the training fold, same folds and
labels); correlations are Pearson's r over trials.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import find_peaks
from tabulate import tabulate

from edaffect.model_selection.labels import read_labels
from edaffect.model_selection.splits import read_splits
from edaffect.signal.preprocessing import load_components
from edaffect.synthetic import stream
from edaffect.synthetic.eda import NOISE_PSD, draw_subject
from edaffect.training.planted_ceiling import GROUND_TRUTH_FEATURES, ceiling_folds

DATASETS = ("pmemo", "deap", "amigos")
DIMENSIONS = ["valence", "arousal"]
NOISY_RATIO = 10.0  # noise power / the clean level above which a subject counts as noisy
PEAK_PROMINENCE = 0.5  # z units: a phasic peak counted as an SCR (both rates, same rule)


def noisy_subjects(seed: int, dataset: str, subjects: list[str]) -> set[str]:
    """Subjects whose electrode the generator made noisy (own stream, first draw)."""
    if dataset == "pmemo":  # listener j of the sorted ids draws from stream(seed, pmemo, 1, j)
        index = {s: j for j, s in enumerate(sorted(subjects, key=int))}
    else:  # DEAP s01.., AMIGOS P01..: stream(seed, dataset, 1, k) with k from 1
        index = {s: int(s[1:]) for s in subjects}
    return {
        s for s, k in index.items()
        if draw_subject(stream(seed, dataset, 1, k)).noise_psd > NOISY_RATIO * NOISE_PSD
    }


def keep_subjects(splits: pd.DataFrame, subjects: set[str]) -> pd.DataFrame:
    return splits[splits["subject"].astype(str).isin(subjects)]


def accuracy(truth, labels, splits, dataset, features, subjects=None) -> dict[str, float]:
    """Mean over folds of the ceiling classifier's test accuracy and of the majority share."""
    if subjects is not None:
        splits = keep_subjects(splits, subjects)
    splits = splits[splits["trial_id"].isin(set(truth["trial_id"]))]  # features: the input trials
    frame = ceiling_folds(truth, labels, splits, dataset=dataset, dimensions=DIMENSIONS,
                          features=features, c=1.0)
    return {dim: (100 * sub["accuracy"].mean(), 100 * sub["majority"].mean())
            for dim, sub in frame.groupby("dimension")}


def split_test_accuracy(truth, labels, splits, dataset, features, noisy) -> dict:
    """Fitted on all training subjects, scored separately on clean and noisy test subjects."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from edaffect.model_selection.splits import load_fold

    truth = truth.set_index("trial_id")
    lab = labels.set_index("trial_id")
    out = {}
    for dim in DIMENSIONS:
        hits = {"clean": [], "noisy": []}
        for fold in sorted(splits.loc[splits["fraction"] == 1.0, "fold"].unique()):
            roles = load_fold(splits, 1.0, fold)
            train = [t for t in roles["train"] if t in truth.index and t in lab.index]
            test = [t for t in roles["test"] if t in truth.index and t in lab.index]
            scaler = StandardScaler().fit(truth.loc[train, features].to_numpy(float))
            model = LogisticRegression(max_iter=1000).fit(
                scaler.transform(truth.loc[train, features].to_numpy(float)),
                lab.loc[train, f"{dim}_label"].to_numpy(int))
            pred = model.predict(scaler.transform(truth.loc[test, features].to_numpy(float)))
            right = pred == lab.loc[test, f"{dim}_label"].to_numpy(int)
            for t, ok in zip(test, right, strict=True):
                hits["noisy" if lab.at[t, "subject"] in noisy else "clean"].append(ok)
        out[dim] = {k: 100 * float(np.mean(v)) if v else float("nan") for k, v in hits.items()}
    return out


def peak_count(x: np.ndarray) -> int:
    x = (x - x.mean()) / (x.std() or 1.0)
    return len(find_peaks(x, prominence=PEAK_PROMINENCE)[0])


def masked_r(frame: pd.DataFrame, column: str) -> float:
    """r(column, n_scr) over the rows where `column` is known."""
    known = frame[column].notna()
    return pearson(frame.loc[known, column], frame.loc[known, "n_scr"])


def pearson(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def rate_comparison(results: Path, truth: pd.DataFrame, clean: list[str], n_trials: int,
                    config: dict) -> dict:
    """cvxEDA phasic peak counts vs the true n_scr on `n_trials` clean DEAP trials: at the
    study's resample_hz (16 Hz) and at the native 128 Hz (same solver settings otherwise)."""
    from dataclasses import replace

    from edaffect.signal.preprocessing import TrialExcluded, decompose_trial, settings_from_config

    raw = np.load(results / "deap/raw_eda.npz")
    trials = pd.read_csv(results / "deap/trials.csv", dtype={"trial_id": str, "subject": str})
    trials = trials[trials["subject"].isin(clean)]
    chosen = trials.sample(n=min(n_trials, len(trials)), random_state=0)
    settings = settings_from_config(config["preprocessing"], "deap")
    counts = {"study rate": [], "native": []}
    true = []
    for row in chosen.itertuples():
        y = raw[row.trial_id].astype(float)
        try:
            low = decompose_trial(y, row.fs, settings)
            high = decompose_trial(y, row.fs, replace(settings, resample_hz=None))
        except TrialExcluded:
            continue
        counts["study rate"].append(peak_count(low.phasic))
        counts["native"].append(peak_count(high.phasic))
        true.append(truth.set_index("trial_id").at[row.trial_id, "n_scr"])
    return {k: pearson(v, true) for k, v in counts.items()} | {"n": len(true),
                                                                 "hz": settings.resample_hz}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--rate-trials", type=int, default=48)
    args = parser.parse_args()
    import yaml

    config = yaml.safe_load(args.config.read_text())
    seed = int(config["seed"])
    r = args.results
    ceiling_rows, loss_rows, corr_rows = [], [], []
    clean_deap: list[str] = []
    for dataset in DATASETS:
        truth = pd.read_csv(r / f"synthetic/{dataset}/ground_truth.csv",
                            dtype={"trial_id": str, "subject": str})
        labels = read_labels(r / f"{dataset}/labels.csv")
        splits = read_splits(r / f"{dataset}/splits.csv")
        subjects = sorted(labels["subject"].astype(str).unique())
        noisy = noisy_subjects(seed, dataset, subjects)
        clean = set(subjects) - noisy
        if dataset == "deap":
            clean_deap = sorted(clean)
        full = list(GROUND_TRUTH_FEATURES)
        every = accuracy(truth, labels, splits, dataset, full)
        only_clean = accuracy(truth, labels, splits, dataset, full, clean)
        kept = accuracy(truth, labels, splits, dataset, ["n_scr", "scr_rate_per_min"])
        count = accuracy(truth, labels, splits, dataset, ["n_scr"])
        by_test = split_test_accuracy(truth, labels, splits, dataset, full, noisy)
        features = pd.read_csv(r / f"{dataset}/eda_features.csv", dtype={"trial_id": str})
        observed = truth[["trial_id", "subject"]].merge(features, on="trial_id")
        obs_cols = ["scr_count", "scr_amplitude_mean", "scr_area_sum"]
        observed_split = split_test_accuracy(observed, labels, splits, dataset, obs_cols, noisy)
        observed_clean = accuracy(observed, labels, splits, dataset, obs_cols, clean)
        for dim in DIMENSIONS:
            ceiling_rows.append([
                dataset, dim, f"{every[dim][1]:.1f}", f"{every[dim][0]:.1f}",
                f"{only_clean[dim][0]:.1f}", f"{by_test[dim]['clean']:.1f}",
                f"{by_test[dim]['noisy']:.1f}",
            ])
            loss_rows.append([
                dataset, dim, f"{every[dim][0]:.1f}", f"{kept[dim][0]:.1f}",
                f"{count[dim][0]:.1f}", f"{observed_split[dim]['clean']:.1f}",
                f"{observed_split[dim]['noisy']:.1f}", f"{observed_clean[dim][0]:.1f}",
            ])
        # scr_count (features) and L = 64 phasic peaks (inputs.npy) vs the true count
        merged = truth.merge(features[["trial_id", "scr_count"]], on="trial_id")
        index = pd.read_csv(r / f"{dataset}/inputs_index.csv", dtype={"trial_id": str})
        inputs = np.load(r / f"{dataset}/inputs.npy", mmap_mode="r")
        peaks = {t: peak_count(np.asarray(inputs[k, 1], float))
                 for t, k in zip(index["trial_id"], index["row"], strict=True)}
        merged["peaks_L"] = merged["trial_id"].map(peaks)
        merged["peaks_rate"] = [
            peak_count(load_components(r / f"{dataset}/cache", t).phasic)
            if t in peaks and s in clean else np.nan
            for t, s in zip(merged["trial_id"], merged["subject"], strict=True)
        ]
        is_clean = merged["subject"].isin(clean)
        corr_rows.append([
            dataset, f"{len(noisy)} of {len(subjects)}",
            f"{pearson(merged.loc[is_clean, 'scr_count'], merged.loc[is_clean, 'n_scr']):.2f}",
            f"{pearson(merged.loc[~is_clean, 'scr_count'], merged.loc[~is_clean, 'n_scr']):.2f}",
            f"{pearson(merged['scr_count'], merged['n_scr']):.2f}",
            f"{masked_r(merged[is_clean], 'peaks_rate'):.2f}",
            f"{masked_r(merged[is_clean], 'peaks_L'):.2f}",
        ])
    print("## Ceiling (%, mean over folds): all subjects, clean-electrode subjects only, and "
          "the all-subject fit scored on clean / noisy test subjects\n")
    print(tabulate(ceiling_rows, headers=["dataset", "dim", "majority", "ceiling all",
                                          "ceiling clean only", "clean test", "noisy test"],
                   tablefmt="github"))
    print("\n## What survives (%): the ceiling on all four, on what per-trial z-scoring keeps "
          "(n_scr + rate), on n_scr alone; the same classifier on the study's own SCR features "
          "(scr_count, scr_amplitude_mean, scr_area_sum) scored on clean / noisy test subjects\n")
    print(tabulate(loss_rows, headers=["dataset", "dim", "all four", "n_scr + rate", "n_scr",
                                       "features, clean test", "features, noisy test",
                                       "features, clean only"],
                   tablefmt="github"))
    print("\n## Pearson r with the true n_scr over trials\n")
    print(tabulate(corr_rows, headers=["dataset", "noisy subjects", "scr_count clean",
                                       "scr_count noisy", "scr_count all",
                                       "phasic peaks at the cvxEDA rate, clean",
                                       "phasic peaks at L samples, clean"], tablefmt="github"))
    if args.rate_trials > 0:
        rate = rate_comparison(r, pd.read_csv(r / "synthetic/deap/ground_truth.csv",
                                              dtype={"trial_id": str}), clean_deap,
                               args.rate_trials, config)
        print(f"\n## cvxEDA rate (DEAP, {rate['n']} clean trials): r(phasic peaks, n_scr) at "
              f"{rate['hz']} Hz = {rate['study rate']:.2f}, at the native 128 Hz = "
              f"{rate['native']:.2f}")


if __name__ == "__main__":
    main()
