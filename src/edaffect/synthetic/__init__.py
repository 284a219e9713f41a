"""Synthetic PMEmo2019, DEAP and AMIGOS written in the real datasets' native file layouts.

The generators plant a documented ground truth (written to `ground_truth.csv` beside the data):

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

DATASET_CODES = {"pmemo": 1, "deap": 2, "amigos": 3}

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


def stream(seed: int, dataset: str, *parts: int) -> np.random.Generator:
    """An independent random stream for one part (stimuli, one subject, ...) of one dataset."""
    return np.random.default_rng([seed, DATASET_CODES[dataset], *parts])


def ground_truth_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=GROUND_TRUTH_COLUMNS)
    return frame.sort_values(["subject", "trial"], kind="stable").reset_index(drop=True)


def clear_paths(root: Path, relative: list[str]) -> None:
    """Remove what a previous generation wrote (so a smaller config leaves no stale files)."""
    for rel in relative:
        for path in root.glob(rel):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


def generate(dataset: str, root: str | Path, params: dict, seed: int) -> Generated:
    """Write synthetic `dataset` under `root` in its native layout plus ground_truth.csv."""
    from edaffect.synthetic import amigos, deap, pmemo

    generators = {"pmemo": pmemo.generate, "deap": deap.generate, "amigos": amigos.generate}
    if dataset not in generators:
        raise ValueError(f"unknown dataset {dataset!r}; known: {sorted(generators)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    result = generators[dataset](root, seed=seed, **params)
    result.ground_truth.to_csv(root / "ground_truth.csv", index=False)
    return result
