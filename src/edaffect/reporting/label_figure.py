"""Fig. 3: the four steps of one subject's k-means label recreation (paper §4.2)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from edaffect.io import atomic  # noqa: E402
from edaffect.model_selection.labels import binarize, read_labels, subject_kmeans  # noqa: E402

SCALES = {
    "pmemo": ("PMEmo static rating", (0.0, 1.0)),
    "deap": ("DEAP self-assessment", (1.0, 9.0)),
    "amigos": ("AMIGOS self-assessment", (1.0, 9.0)),
}
HIGH, LOW = "#d62728", "#1f77b4"
CLUSTERS = ("#2ca02c", "#9467bd")


def pick_subject(labels: pd.DataFrame, wanted: str | int | None, origin: str = "labels") -> str:
    """The configured subject (figures.fig3_subject) or, when None, the first in the file."""
    subjects = labels["subject"].astype(str)
    if wanted is None:
        if subjects.empty:
            raise ValueError(f"{origin}: no trials, so no subject to plot")
        return subjects.iloc[0]
    if str(wanted) not in set(subjects):
        raise ValueError(
            f"{origin}: figures.fig3_subject {wanted!r} not found; "
            f"subjects include {sorted(set(subjects))[:8]}"
        )
    return str(wanted)


def plot_fig3(
    labels: pd.DataFrame,
    subject: str,
    *,
    dataset: str,
    seed: int,
    n_init: int,
    png_path: str | Path,
    pdf_path: str | Path | None = None,
) -> None:
    """2×2 panels: (a) ratings, (b) k-means centres + midpoint, (c) arousal, (d) valence split."""
    rows = labels[labels["subject"].astype(str) == subject]
    v = rows["valence"].to_numpy(float)
    a = rows["arousal"].to_numpy(float)
    v_thr = float(rows["v_threshold"].iloc[0])
    a_thr = float(rows["a_threshold"].iloc[0])
    source = str(rows["threshold_source"].iloc[0])
    km = subject_kmeans(v, a, seed=seed, n_init=n_init)
    if source == "kmeans" and not np.allclose([km.v_threshold, km.a_threshold], [v_thr, a_thr]):
        raise ValueError(
            f"subject {subject}: labels.csv thresholds ({v_thr}, {a_thr}) differ from k-means "
            f"with seed {seed}, n_init {n_init} ({km.v_threshold}, {km.a_threshold})"
        )
    scale_name, limits = SCALES.get(dataset, (f"{dataset} rating", None))
    if limits is None:
        lo = float(min(v.min(), a.min()))
        hi = float(max(v.max(), a.max()))
        limits = (lo, hi)
    pad = 0.05 * (limits[1] - limits[0])
    lims = (limits[0] - pad, limits[1] + pad)

    fig, grid = plt.subplots(2, 2, figsize=(10.5, 11.5), sharex=True, sharey=True,
                             layout="constrained")
    axes = grid.ravel()
    dot = {"s": 34, "edgecolors": "white", "linewidths": 0.5, "zorder": 3}

    ax = axes[0]
    ax.scatter(v, a, color="0.35", label=f"trial rating (n = {len(v)})", **dot)
    ax.set_title("(a) Subject's V/A annotations")

    ax = axes[1]
    if km.centres is not None:
        dist = ((np.column_stack([v, a])[:, None, :] - km.centres[None]) ** 2).sum(-1)
        member = dist.argmin(1)
        for c in range(2):
            ax.scatter(v[member == c], a[member == c], color=CLUSTERS[c],
                       label=f"cluster {c + 1} (n = {(member == c).sum()})", **dot)
        ax.plot(km.centres[:, 0], km.centres[:, 1], "k--", lw=1, zorder=4)
        ax.scatter(km.centres[:, 0], km.centres[:, 1], marker="X", s=140, color="k",
                   label="cluster centres", zorder=5)
        mid = km.centres.mean(0)
        ax.scatter([mid[0]], [mid[1]], marker="*", s=260, color="gold", edgecolors="k",
                   label=f"midpoint ({mid[0]:.2f}, {mid[1]:.2f})", zorder=6)
        ax.set_title("(b) k-means (k = 2) centres, midpoint")
    else:
        ax.scatter(v, a, color="0.35", label="trial rating", **dot)
        ax.set_title("(b) degenerate subject: no k-means")
    if source != "kmeans":
        ax.text(0.02, 0.02, f"threshold_source = {source}", transform=ax.transAxes, fontsize=8)

    for ax, letter, name, values, threshold, line in (
        (axes[2], "c", "arousal", a, a_thr, axes[2].axhline),
        (axes[3], "d", "valence", v, v_thr, axes[3].axvline),
    ):
        high = binarize(values, threshold).astype(bool)
        ax.scatter(v[high], a[high], color=HIGH, label=f"high {name} (n = {high.sum()})", **dot)
        ax.scatter(v[~high], a[~high], color=LOW, label=f"low {name} (n = {(~high).sum()})",
                   **dot)
        line(threshold, color="k", ls="--", lw=1.2, label=f"{name} threshold = {threshold:.2f}")
        ax.set_title(f"({letter}) High / low {name}")

    # Ratings are discrete: print how many trials share a point where more than one does.
    points, repeats = np.unique(np.column_stack([v, a]), axis=0, return_counts=True)
    for ax in axes:
        for (pv, pa), count in zip(points, repeats, strict=True):
            if count > 1:
                ax.annotate(f"×{count}", (pv, pa), xytext=(4, 3), textcoords="offset points",
                            fontsize=7, color="0.25", zorder=7)
        ax.set_xlim(lims)
        ax.set_ylim(lims)
        ax.set_aspect("equal", adjustable="box")
        ax.grid(True, color="0.9", zorder=0)
        ax.tick_params(labelbottom=True, labelleft=True)
        ax.set_xlabel(f"valence ({scale_name}, {limits[0]:g}–{limits[1]:g})")
        ax.set_ylabel(f"arousal ({scale_name}, {limits[0]:g}–{limits[1]:g})")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8.5, frameon=False,
                  ncol=2)
    fig.suptitle(
        f"Four-step binary label recreation, {dataset} subject {subject} "
        f"({len(v)} trials; a rating above its threshold is high, equal or below is low)",
        fontsize=11,
    )
    Path(png_path).parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_open(png_path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=150, bbox_inches="tight")
    if pdf_path:
        with atomic.atomic_open(pdf_path, "wb") as handle:
            fig.savefig(handle, format="pdf", bbox_inches="tight")
    plt.close(fig)


def write_fig3(
    labels_csv: str | Path,
    png_path: str | Path,
    pdf_path: str | Path | None,
    *,
    dataset: str,
    subject: str | int | None,
    seed: int,
    n_init: int,
) -> str:
    """Rule `fig3`: labels.csv → fig3.png/.pdf for the configured subject; returns the subject."""
    labels = read_labels(labels_csv)
    chosen = pick_subject(labels, subject, origin=str(labels_csv))
    plot_fig3(labels, chosen, dataset=dataset, seed=seed, n_init=n_init,
              png_path=png_path, pdf_path=pdf_path)
    return chosen
