"""Is MAAN really better than the Basic model? Paired comparisons over folds, training seeds and
subjects on a synthetic AMIGOS (the default config's, or one with other generator settings).

    python benchmarks/maan_compare.py WORKDIR [--set key=value ...] [--seeds 3] [--procs 2]
        [--data-seed N]
        [--variants basic,maan_residual,maan_scale,ecg,eeg] [--protocols subject,segment]

`--set` overrides `datasets.amigos.synthetic` (e.g. `--set eeg_artefact_rate=0`) or, with a
`maan.` prefix, config `maan` (e.g. `--set maan.training.epochs=10`). Every variant of one
(seed, protocol, dimension, fold) uses the same training seed (common random numbers). Prints,
per protocol and dimension, each variant's accuracy (mean over seeds x folds, 95 % CI over
subjects) and, vs Basic: the mean paired difference with (a) a t-test over training seeds of
each seed's mean paired fold difference (`p_seed_t`, n_seeds - 1 df: the seed, which retrains
every fold, is the unit; no p-values are combined), and (b) a paired t-test and Wilcoxon test
over subjects (accuracy per subject,
averaged over seeds; subject protocol: each subject is tested once per seed), Holm-adjusted
over the (protocol, dimension) cells of the variant (`p_holm`); every variant's per-subject
accuracy against chance (one-sided t-test vs 50 %, `p_vs_chance`); and the mean attention mask
per modality on clean vs artefact segments (planted artefacts of ground_truth.csv), and each
variant's accuracy by artefact state (`compare_by_state.csv`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from maan_demo import prepare  # the workflow's AMIGOS stages, shared with the demo

SEQ = {"attention_mixing": "sequence"}
VARIANTS = {  # modalities, attention, maan.model overrides ("maan": the config's own settings)
    "basic": (["ecg", "eeg"], False, {}),
    "maan_residual": (["ecg", "eeg"], True, {**SEQ, "attention_form": "residual",
                                              "attention_kernel": 3}),
    "maan_scale": (["ecg", "eeg"], True, {**SEQ, "attention_form": "scale", "attention_kernel": 3}),
    "maan_residual_span": (["ecg", "eeg"], True, {**SEQ, "attention_form": "residual",
                                                   "attention_kernel": 0}),
    "maan_scale_span": (["ecg", "eeg"], True, {**SEQ, "attention_form": "scale",
                                                "attention_kernel": 0}),
    "maan": (["ecg", "eeg"], True, {}),
    "maan_channels": (["ecg", "eeg"], True, {"attention_mixing": "channels"}),
    "maan_channels_residual": (["ecg", "eeg"], True, {"attention_mixing": "channels",
                                                       "attention_form": "residual"}),
    "maan3": (["ecg", "eeg", "eda"], True, {}),
    "ecg": (["ecg"], False, {}),
    "eeg": (["eeg"], False, {}),
    "eda": (["eda"], False, {}),
}


def _set(tree: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        tree = tree.setdefault(k, {})
    tree[keys[-1]] = value


def _job(args) -> list[dict]:
    variant, protocol, dimension, train_seed, work, cfg = args
    import torch

    torch.set_num_threads(1)
    from edaffect.studies.maan.study import train_maan_fold

    mods, attention, overrides = VARIANTS[variant]
    maan = cfg["maan"]
    model = {**maan["model"], **overrides}
    training = {**cfg["training"], **maan["training"], "device": "cpu"}
    n_folds = cfg["split"]["n_folds"]
    inputs = {"segments_npz": work / "segments.npz", "segments_csv": work / "segments.csv",
              "labels_csv": work / "labels.csv", "splits_csv": work / "splits.csv"}
    experiment = {"modalities": mods, "attention": attention, "protocol": protocol,
                  "name": f"{variant}_{protocol}_s{train_seed}", "model_settings": model}
    rows = []
    for fold in range(n_folds):
        run = work / "runs" / experiment["name"] / dimension / f"fold{fold}"
        # train_seed shifts shuffles and initialisations (and the segment protocol's folds)
        m = train_maan_fold(experiment, dimension, fold, inputs=inputs, training=training,
                            seed=cfg["seed"] + 1000 * train_seed, n_folds=n_folds, run_dir=run)
        pred = pd.read_csv(run / "predictions.csv", dtype={"trial_id": str})
        rows.append({"variant": variant, "protocol": protocol, "dimension": dimension,
                     "seed": train_seed, "fold": fold, "accuracy": m["accuracy"],
                     "pred": _pred_columns(pred)})
    return rows


def _pred_columns(pred: pd.DataFrame) -> dict:
    """What the summary needs of a predictions.csv: ids, classes and the attention masks."""
    cols = ["trial_id", "y_true", "y_pred"] + [c for c in pred.columns
                                               if c.startswith("attention_")]
    return pred[cols].to_dict("list")


def rows_on_disk(work: Path) -> list[dict]:
    """The fold results already under WORKDIR/runs (any variant, protocol, seed)."""
    rows = []
    for metrics in sorted((work / "runs").glob("*/*/fold*/metrics.json")):
        name, dimension = metrics.parts[-4], metrics.parts[-3]
        variant, protocol, seed = name.rsplit("_", 2)
        pred = pd.read_csv(metrics.with_name("predictions.csv"), dtype={"trial_id": str})
        rows.append({"variant": variant, "protocol": protocol, "dimension": dimension,
                     "seed": int(seed[1:]), "fold": int(metrics.parts[-2][4:]),
                     "accuracy": json.loads(metrics.read_text())["accuracy"],
                     "pred": _pred_columns(pred)})
    return rows


def summarise(rows: list[dict], segments_csv: Path) -> pd.DataFrame:
    from scipy import stats

    index = pd.read_csv(segments_csv, dtype={"segment_id": str, "subject": str})
    subject_of = index.set_index("segment_id")["subject"]
    folds = pd.DataFrame([{k: v for k, v in r.items() if k != "pred"} for r in rows])
    seg = pd.concat([pd.DataFrame({**r["pred"], "variant": r["variant"], "protocol":
                                   r["protocol"], "dimension": r["dimension"], "seed": r["seed"]})
                     for r in rows])
    seg["subject"] = seg["trial_id"].map(subject_of)
    seg["correct"] = (seg["y_true"] == seg["y_pred"]).astype(float)
    per_seed = seg.groupby(["protocol", "dimension", "variant", "seed", "subject"])[
        "correct"].mean()

    def by_subject(protocol, dimension, variant, seeds) -> pd.Series:
        """Accuracy per subject, averaged over the given seeds (a subject per seed once)."""
        part = per_seed.loc[(protocol, dimension, variant)]
        part = part[part.index.get_level_values("seed").isin(seeds)]
        return part.groupby("subject").mean()

    out = []
    for (protocol, dimension), part in folds.groupby(["protocol", "dimension"]):
        base = part[part["variant"] == "basic"].set_index(["seed", "fold"])["accuracy"]
        for variant, mine in part.groupby("variant"):
            acc = mine.set_index(["seed", "fold"])["accuracy"]
            seeds = sorted(mine["seed"].unique())
            subj = by_subject(protocol, dimension, variant, seeds)
            half = stats.t.ppf(0.975, len(subj) - 1) * subj.std(ddof=1) / np.sqrt(len(subj))
            entry = {"protocol": protocol, "dimension": dimension, "variant": variant,
                     "n_seeds": mine["seed"].nunique(), "acc": 100 * acc.mean(),
                     "subject_ci95": f"[{100 * (subj.mean() - half):.1f}, "
                                     f"{100 * (subj.mean() + half):.1f}]"}
            if variant != "basic" and len(base):
                diff = (acc - base).dropna()
                # the seed (a full retraining of every fold) is the unit: one mean paired
                # fold difference per seed, a t-test over seeds (n_seeds - 1 df)
                per_seed_diff = diff.groupby(level="seed").mean()
                seed_test = (stats.ttest_1samp(per_seed_diff, 0.0)
                             if len(per_seed_diff) > 1 and np.any(per_seed_diff) else None)
                sb = by_subject(protocol, dimension, "basic", seeds)
                sd = (subj - sb.reindex(subj.index)).dropna()
                entry.update({
                    "diff": 100 * diff.mean(),
                    "p_seed_t": float(seed_test.pvalue) if seed_test is not None
                    else float("nan"),
                    "diff_subject_ci95": "[{:.1f}, {:.1f}]".format(*(100 * (sd.mean() + np.array(
                        [-1, 1]) * stats.t.ppf(0.975, len(sd) - 1) * sd.std(ddof=1)
                        / np.sqrt(len(sd))))),
                    "p_subject_t": float(stats.ttest_1samp(sd, 0).pvalue),
                    "p_subject_wilcoxon": float(stats.wilcoxon(sd).pvalue) if np.any(sd) else 1.0,
                    "wins_seeds": int(sum(diff.loc[s].mean() > 0 for s in
                                          mine["seed"].unique())),
                })
            # a single modality (or any model) against chance: per-subject accuracy vs 50 %
            entry["p_vs_chance"] = float(stats.ttest_1samp(subj, 0.5, alternative="greater")
                                         .pvalue)
            out.append(entry)
    table = pd.DataFrame(out)
    if "p_subject_t" in table:  # Holm over the (protocol, dimension) cells of each variant
        for _variant, part in table[table["p_subject_t"].notna()].groupby("variant"):
            table.loc[part.index, "p_holm"] = holm(part["p_subject_t"].to_numpy())
    return table


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error over the given tests)."""
    from statsmodels.stats.multitest import multipletests

    return multipletests(p, method="holm")[1]


def artefact_flags(work: Path) -> pd.DataFrame:
    """Per segment id: does its trial carry the planted EEG / ECG artefact (ground_truth.csv
    `eeg_emg_gain`, `ecg_pop_rate_hz` > 0)? Columns `eeg`, `ecg` (bool)."""
    truth = pd.read_csv(work / "synthetic" / "ground_truth.csv", dtype={"trial_id": str})
    truth = truth.set_index("trial_id")
    index = pd.read_csv(work / "segments.csv", dtype={"segment_id": str, "trial_id": str})
    trials = index.set_index("segment_id")["trial_id"]
    return pd.DataFrame({"eeg": trials.map(truth["eeg_emg_gain"]) > 0,
                         "ecg": trials.map(truth["ecg_pop_rate_hz"]) > 0})


def accuracy_by_artefact(rows: list[dict], work: Path) -> pd.DataFrame:
    """Accuracy (%) per variant on test segments by planted artefact state (clean, EEG only,
    ECG only, both; ground_truth.csv), all seeds and folds: does a fusion follow the reliable
    modality (compare with the single-modality variants on the same segments)?"""
    flags = artefact_flags(work)
    out = []
    for r in rows:
        pred = pd.DataFrame(r["pred"])
        eeg = pred["trial_id"].map(flags["eeg"]).to_numpy()
        ecg = pred["trial_id"].map(flags["ecg"]).to_numpy()
        state = np.select([eeg & ecg, eeg, ecg], ["both", "eeg_artefact", "ecg_artefact"],
                          "clean")
        out.append(pd.DataFrame({"variant": r["variant"], "protocol": r["protocol"],
                                 "dimension": r["dimension"], "state": state,
                                 "correct": (pred["y_true"] == pred["y_pred"]).to_numpy()}))
    frame = pd.concat(out)
    table = frame.groupby(["protocol", "dimension", "state", "variant"])["correct"].agg(
        ["mean", "size"]).reset_index()
    table["accuracy"] = 100 * table.pop("mean")
    return table.rename(columns={"size": "n_segments"})


def attention_by_artefact(rows: list[dict], work: Path) -> pd.DataFrame:
    """Mean attention mask per modality on test segments whose trial carries that modality's
    planted artefact vs clean ones (ground_truth.csv: eeg_emg_gain, ecg_pop_rate_hz), with a
    Mann-Whitney test; per variant, protocol and dimension, over all seeds and folds."""
    from scipy import stats

    flags = artefact_flags(work)
    out = []
    for r in rows:
        pred = pd.DataFrame(r["pred"])
        for modality in flags.columns:
            if f"attention_{modality}" not in pred:
                continue
            artefact = pred["trial_id"].map(flags[modality]).to_numpy()
            out.append(pd.DataFrame({"variant": r["variant"], "protocol": r["protocol"],
                                     "dimension": r["dimension"], "modality": modality,
                                     "artefact": artefact,
                                     "mask": pred[f"attention_{modality}"].to_numpy()}))
    if not out:
        return pd.DataFrame()
    frame = pd.concat(out)
    table = []
    for key, part in frame.groupby(["variant", "protocol", "dimension", "modality"]):
        clean, bad = part.loc[~part["artefact"], "mask"], part.loc[part["artefact"], "mask"]
        table.append(dict(zip(["variant", "protocol", "dimension", "modality"], key, strict=True),
                          mask_clean=clean.mean(), mask_artefact=bad.mean(),
                          n_clean=len(clean), n_artefact=len(bad),
                          p_mannwhitney=float(stats.mannwhitneyu(clean, bad).pvalue)))
    return pd.DataFrame(table)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="0 = the workflow's own seed")
    ap.add_argument("--data-seed", type=int, default=None,
                    help="config `seed` (synthetic data, labels, folds); default config.yaml's")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--variants", default="basic,maan_residual,maan_scale,ecg,eeg")
    ap.add_argument("--protocols", default="subject,segment")
    ap.add_argument("--reuse", action="store_true", help="keep WORKDIR's segments")
    ap.add_argument("--summarise", action="store_true",
                    help="train nothing: summarise every run already under WORKDIR/runs")
    args = ap.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    if args.data_seed is not None:
        cfg["seed"] = args.data_seed
    for item in args.set:
        key, value = item.split("=", 1)
        target = key if key.startswith("maan.") else f"datasets.amigos.synthetic.{key}"
        _set(cfg, target, yaml.safe_load(value))
    if args.summarise:
        rows = rows_on_disk(work)
        complete = pd.DataFrame([{k: r[k] for k in ("variant", "protocol", "dimension", "seed")}
                                 for r in rows]).value_counts()
        keep = set(complete[complete == complete.max()].index)  # only runs with every fold
        _report([r for r in rows if (r["variant"], r["protocol"], r["dimension"], r["seed"])
                 in keep], work)
        return
    t0 = time.perf_counter()
    if not (args.reuse and (work / "segments.npz").exists()):
        prepare(work, cfg)
    print(f"data: {time.perf_counter() - t0:.1f} s", flush=True)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(v, p, d, s, work, cfg) for s in seeds for p in args.protocols.split(",")
            for d in cfg["dimensions"] for v in args.variants.split(",")]
    t0 = time.perf_counter()
    with Pool(args.procs) as pool:
        rows = [r for part in pool.map(_job, jobs, chunksize=1) for r in part]
    print(f"training: {time.perf_counter() - t0:.1f} s wall", flush=True)
    _report(rows, work)


def _report(rows: list[dict], work: Path) -> None:
    table = summarise(rows, work / "segments.csv")
    pd.set_option("display.width", 250)
    print(" ".join(sys.argv[1:]))
    print(table.round(4).to_string(index=False))
    table.to_csv(work / "compare.csv", index=False)
    states = accuracy_by_artefact(rows, work)
    print(states.pivot_table(index=["protocol", "dimension", "state"], columns="variant",
                             values="accuracy").round(1).to_string())
    states.to_csv(work / "compare_by_state.csv", index=False)
    masks = attention_by_artefact(rows, work)
    if len(masks):
        print(masks.round(4).to_string(index=False))
        masks.to_csv(work / "compare_attention.csv", index=False)
    (work / "compare_folds.json").write_text(json.dumps(
        [{k: v for k, v in r.items() if k != "pred"} for r in rows]))


if __name__ == "__main__":
    main()
