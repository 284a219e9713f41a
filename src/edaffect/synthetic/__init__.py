"""Synthetic PMEmo2019, DEAP and AMIGOS written in the real datasets' native file layouts.

Layout contract: `generate(dataset, out_dir, ...)` writes ONLY native files under the native
folder `out_dir/NATIVE_FOLDERS[dataset]` (what config `datasets.X.root` points at) and the
generator's truth outside it, `out_dir/ground_truth.csv` (PMEmo also `out_dir/dynamic_truth.csv`):

    results/synthetic/pmemo/ground_truth.csv   + PMEmo2019/{EDA,annotations,features}/...
    results/synthetic/deap/ground_truth.csv    + data_preprocessed_python/s01.dat ...
    results/synthetic/amigos/ground_truth.csv  + data_preprocessed_matlab/Data_Preprocessed_P01.mat

Each dataset's generator `generate(root, *, seed, ...)` fills the native folder `root` it is
given (and may return extra truth tables in `Generated.extra`, written beside ground_truth.csv).

The generators plant a documented ground truth:

- every trial has a latent valence and arousal (standard normal, correlated per dataset so that
  the V/A rating Spearman is near the paper's Table 2: DEAP 0.15, AMIGOS 0.56, PMEmo 0.52);
  stimuli (songs, videos) carry a shared latent part, listeners/viewers add their own part;
- latent arousal raises the SCR rate, SCR amplitude and tonic level (see `eda.py`); valence is
  only weakly visible in EDA (SCR rate) but strongly in PMEmo's music features;
- each subject rates with an own offset and scale, so per-subject thresholds matter;
- EDA is positive µS with tonic drift, Bateman SCRs (tau0 2 s, tau1 0.7 s), noise, artefacts.

Everything is deterministic from `seed`; subject k's data do not depend on how many subjects are
generated (each subject has its own random stream).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic

DATASET_CODES = {"pmemo": 1, "deap": 2, "amigos": 3}
NATIVE_FOLDERS = {
    "pmemo": "PMEmo2019", "deap": "data_preprocessed_python", "amigos": "data_preprocessed_matlab",
}
GROUND_TRUTH = "ground_truth.csv"
# Native files an older version wrote directly beside ground_truth.csv; removed on regeneration.
LEGACY_PATHS = {"pmemo": ["EDA", "annotations", "features"], "deap": [],
                "amigos": ["Data_Preprocessed_P*.mat"]}

GROUND_TRUTH_COLUMNS = [
    "dataset", "subject", "trial", "trial_id", "stimulus", "file", "fs", "n_samples",
    "latent_valence", "latent_arousal", "stimulus_valence", "stimulus_arousal",
    "rating_valence", "rating_arousal", "rating_missing",
    "rater_offset_valence", "rater_offset_arousal", "rater_scale",
    "tonic_level_us", "scr_rate_per_min", "scr_amplitude_us", "n_scr", "artefact", "nan_samples",
]


@dataclass
class Generated:
    """What a generator wrote: the planted per-trial truth and (optionally) the traces written."""

    ground_truth: pd.DataFrame
    signals: dict[str, np.ndarray] = field(default_factory=dict)  # trial_id -> as written
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)  # file name -> more truth
    root: Path | None = None  # the native folder written


def stream(seed: int, dataset: str, *parts: int) -> np.random.Generator:
    """An independent random stream for one part (stimuli, one subject, ...) of one dataset."""
    return np.random.default_rng([seed, DATASET_CODES[dataset], *parts])


def ground_truth_frame(rows: list[dict]) -> pd.DataFrame:
    """The common columns first, then any dataset-specific ones (e.g. AMIGOS heart and EEG)."""
    extra = [k for k in (rows[0] if rows else {}) if k not in GROUND_TRUTH_COLUMNS]
    frame = pd.DataFrame(rows, columns=GROUND_TRUTH_COLUMNS + extra)
    return frame.sort_values(["subject", "trial"], kind="stable").reset_index(drop=True)


def clear_paths(root: Path, relative: list[str]) -> None:
    """Remove what a previous generation wrote (so a smaller config leaves no stale files)."""
    for rel in relative:
        for path in root.glob(rel):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


def native_root(dataset: str, out_dir: str | Path) -> Path:
    """The native folder a synthetic `dataset` is written to under `out_dir` (config's root)."""
    return Path(out_dir) / NATIVE_FOLDERS[dataset]


def generate(dataset: str, out_dir: str | Path, params: dict, seed: int) -> Generated:
    """Write synthetic `dataset`: native files under `native_root(dataset, out_dir)`, the truth
    (ground_truth.csv and any extra tables) in `out_dir` itself; returns what was written."""
    from edaffect.synthetic import amigos, deap, pmemo

    generators = {"pmemo": pmemo.generate, "deap": deap.generate, "amigos": amigos.generate}
    if dataset not in generators:
        raise ValueError(f"unknown dataset {dataset!r}; known: {sorted(generators)}")
    out_dir = Path(out_dir)
    root = native_root(dataset, out_dir)
    clear_paths(out_dir, LEGACY_PATHS[dataset])
    root.mkdir(parents=True, exist_ok=True)
    result = generators[dataset](root, seed=seed, **params)
    result.root = root
    for name, frame in {GROUND_TRUTH: result.ground_truth, **result.extra}.items():
        atomic.to_csv(frame, out_dir / name, index=False)
    return result
