"""Does MAAN beat the Basic model across independent synthetic datasets, not only across training
seeds of one? Pools `maan_compare.py` work folders, each made with its own `--data-seed` (new
participants, videos, labels and folds).

    python benchmarks/maan_pool.py WORKDIR [WORKDIR ...] [--variant maan] [--protocol subject]

Per work folder (one data draw) and dimension: the per-subject paired difference variant - Basic
(accuracy per subject averaged over the folder's training seeds), its mean and the variance of
that mean. Across draws, the PRIMARY result is a t-test of the draws' means against 0 (the draw is
the unit, n_draws - 1 df). Beside it, random effects with a small-sample correction: the
DerSimonian-Laird weights and tau^2 (statsmodels `combine_effects`; the draws share a generative
model but not their videos, so the effect may differ between them) with the Hartung-Knapp-
Sidik-Jonkman variance and a t reference (n_draws - 1 df), which stays honest at 3-5 draws where
the normal-theory DL interval is too narrow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from maan_compare import rows_on_disk
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects


def draw_differences(work: Path, variant: str, protocol: str) -> pd.DataFrame:
    """Per dimension: mean per-subject difference (points), its variance, n subjects, seeds."""
    rows = [r for r in rows_on_disk(work) if r["protocol"] == protocol
            and r["variant"] in ("basic", variant)]
    index = pd.read_csv(work / "segments.csv", dtype={"segment_id": str, "subject": str})
    subject_of = index.set_index("segment_id")["subject"]
    seg = pd.concat([pd.DataFrame({**r["pred"], "variant": r["variant"], "dimension":
                                   r["dimension"], "seed": r["seed"]}) for r in rows])
    seg["subject"] = seg["trial_id"].map(subject_of)
    seg["correct"] = (seg["y_true"] == seg["y_pred"]).astype(float)
    out = []
    for dimension, part in seg.groupby("dimension"):
        seeds = sorted(set(part.loc[part["variant"] == "basic", "seed"])
                       & set(part.loc[part["variant"] == variant, "seed"]))
        part = part[part["seed"].isin(seeds)]
        acc = part.groupby(["variant", "seed", "subject"])["correct"].mean()
        per_subject = acc.groupby(["variant", "subject"]).mean().unstack("variant")
        d = 100 * (per_subject[variant] - per_subject["basic"]).dropna()
        out.append({"draw": work.name, "dimension": dimension, "n_seeds": len(seeds),
                    "n_subjects": len(d), "diff": d.mean(),
                    "variance": d.var(ddof=1) / len(d),
                    "p_within": float(stats.ttest_1samp(d, 0).pvalue)})
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="+")
    ap.add_argument("--variant", default="maan")
    ap.add_argument("--protocol", default="subject")
    args = ap.parse_args()
    draws = pd.concat([draw_differences(Path(w).resolve(), args.variant, args.protocol)
                       for w in args.work])
    pd.set_option("display.width", 200)
    print(" ".join(sys.argv[1:]))
    print(draws.round(4).to_string(index=False))
    for dimension, part in draws.groupby("dimension"):
        print(pool_draws(dimension, part))


def pool_draws(dimension: str, part: pd.DataFrame) -> str:
    """One dimension's pooled line: t over the draws' means (primary), then Hartung-Knapp."""
    k = len(part)
    t = stats.ttest_1samp(part["diff"], 0)
    low, high = t.confidence_interval()
    res = combine_effects(part["diff"].to_numpy(), part["variance"].to_numpy(),
                          method_re="dl", use_t=True)
    se_hk = float(np.sqrt(res.var_hksj_re))
    _, _, _, (hk_low, hk_high) = res.conf_int(use_t=True)
    p_hk = 2 * stats.t.sf(abs(res.mean_effect_re) / se_hk, k - 1)
    return (f"{dimension}: {k} draws; PRIMARY t over the draws' means {part['diff'].mean():+.2f} "
            f"[{low:+.2f}, {high:+.2f}] points, p = {t.pvalue:.4f} ({k - 1} df); random "
            f"effects (DL tau^2, Hartung-Knapp, t {k - 1} df) {res.mean_effect_re:+.2f} "
            f"[{hk_low:+.2f}, {hk_high:+.2f}], p = {p_hk:.4f}, tau^2 = {res.tau2:.3f}, "
            f"heterogeneity Q = {res.q:.2f} (p = {stats.chi2.sf(res.q, k - 1):.3f}); draws "
            f"ahead {int((part['diff'] > 0).sum())} of {k}")

if __name__ == "__main__":
    main()
