"""Res-SIN data stages (Yin et al., ICIP 2019) on the shared spine: its settings, the per-trial
components (origin/phasic/tonic after Res-SIN's 15 s crop), the signal images and the
regression pre-experiment's numbers (Res-SIN Table 1).  Rules ressin_components,
ressin_images, ressin_regression; training: edaffect.studies.ressin.training; tables:
edaffect.studies.ressin.tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.model_selection.labels import read_labels, read_trials
from edaffect.model_selection.splits import read_splits
from edaffect.studies.ressin.regression import RegressionSettings, run_regression
from edaffect.studies.ressin.signal_images import build_images

log = logging.getLogger(__name__)

EXCLUDED_COLUMNS = ["dataset", "subject", "trial", "file", "stage", "reason"]

RESSIN_WEIGHT_DECAY = 5e-4  # Res-SIN names none; the usual ResNet value it has always trained with


@dataclass
class ResSINSettings:
    """config.yaml `ressin` (preprocessing, network and training settings of the Res-SIN study);
    defaults in config/schema.yaml only."""

    crop_s: float
    min_duration_s: float
    image_size: int
    crop_size: int | None
    channels: list[int]
    batch_norm: bool
    batch_size: int
    lr: float
    lr_decay: float
    lr_step_iterations: int
    epochs: int
    regression: dict
    table2: dict

    @classmethod
    def from_config(cls, section: dict) -> ResSINSettings:
        known = set(cls.__dataclass_fields__)
        unknown, missing = set(section) - known, known - set(section)
        if unknown or missing:
            raise ValueError(
                f"config key ressin: unknown setting(s) {sorted(unknown)}, "
                f"missing {sorted(missing)}"
            )
        return cls(**section)

    def model_keys(self) -> dict:
        """Architecture keys merged into the experiment dict given to `build_model`."""
        return {
            "channels": list(self.channels),
            "crop_size": self.crop_size,
            "batch_norm": self.batch_norm,
        }



def _load_npz(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def component_settings(preprocessing: dict, dataset: str, settings: ResSINSettings):
    """The study's preprocessing settings (NaN repair, cvxEDA parameters, optional resampling)
    with Res-SIN's own crop (15 s) and minimum duration."""
    from dataclasses import replace

    from edaffect.signal.preprocessing import settings_from_config

    return replace(
        settings_from_config(preprocessing, dataset),
        crop_s=float(settings.crop_s),
        min_duration_s=float(settings.min_duration_s),
    )


def write_components(
    raw_npz: str | Path,
    trials_csv: str | Path,
    out_npz: str | Path,
    out_index: str | Path,
    out_excluded: str | Path,
    settings: ResSINSettings,
    preprocessing: dict,
    cache_dir: str | Path,
) -> pd.DataFrame:
    """Rule `ressin_components`: raw EDA -> (3, N) origin/phasic/tonic per trial.

    The decomposition is the study's (`preprocessing.cached_decompose`: crop, NaN repair,
    z-score, cvxEDA, exclusions with reasons, per-trial cache) with Res-SIN's 15 s crop; its
    cache lives in `cache_dir`, apart from the RTCAN-1D (3 s) cache.  origin = the z-scored
    cropped EDA (the min-max normalisation of the images removes the scale anyway).
    """
    from edaffect.signal.preprocessing import TrialExcluded, cached_decompose

    trials = read_trials(trials_csv)
    dataset = str(trials["dataset"].iloc[0]) if len(trials) else ""
    prep = component_settings(preprocessing, dataset, settings)
    components: dict[str, np.ndarray] = {}
    rates: dict[str, float] = {}
    excluded: list[dict] = []
    solved = 0
    with np.load(raw_npz, allow_pickle=False) as raw:
        for row in trials.itertuples(index=False):
            trial_id = str(row.trial_id)
            if trial_id not in raw.files:
                outcome = TrialExcluded("ressin_components", f"no raw EDA in {raw_npz}")
            else:
                outcome, now = cached_decompose(trial_id, raw[trial_id], float(row.fs), prep,
                                                cache_dir)
                solved += int(now)
            if isinstance(outcome, TrialExcluded):
                excluded.append({"dataset": row.dataset, "subject": row.subject,
                                 "trial": row.trial, "file": str(row.source),
                                 "stage": outcome.stage, "reason": outcome.reason})
                continue
            components[trial_id] = np.stack(
                [outcome.eda, outcome.phasic, outcome.tonic]
            ).astype(np.float32)
            rates[trial_id] = float(outcome.fs)
    Path(out_npz).parent.mkdir(parents=True, exist_ok=True)
    atomic.save_npz(out_npz, **components)
    index = pd.DataFrame(
        {
            "trial_id": list(components),
            "fs": [rates[t] for t in components],
            "n_samples": [comp.shape[1] for comp in components.values()],
        }
    )
    atomic.to_csv(index, out_index, index=False)
    atomic.to_csv(pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS), out_excluded, index=False)
    log.info("%d trials decomposed (%d solved now, the rest from %s), %d excluded",
             len(components), solved, cache_dir, len(excluded))
    return index


def read_components(npz: str | Path, index_csv: str | Path) -> tuple[dict, dict[str, float]]:
    """Components per trial_id and the sampling rate of each."""
    index = pd.read_csv(index_csv, dtype={"trial_id": str})
    components = _load_npz(npz)
    missing = set(index["trial_id"]) - set(components)
    if missing:
        raise ValueError(f"{npz}: no components for {sorted(missing)[:5]} listed in {index_csv}")
    return components, dict(zip(index["trial_id"], index["fs"].astype(float), strict=True))


def write_images(
    components_npz: str | Path,
    components_index: str | Path,
    out_npy: str | Path,
    out_index: str | Path,
    out_excluded: str | Path,
    image_size: int,
) -> np.ndarray:
    """Rule `ressin_images`: components -> (n, 3, S, S) float16 signal images + row index."""
    components, fs = read_components(components_npz, components_index)
    images, ids, excluded = build_images(components, fs, image_size)
    atomic.save_npy(out_npy, images)
    atomic.to_csv(pd.DataFrame({"row": range(len(ids)), "trial_id": ids}), out_index,
                  index=False)
    atomic.to_csv(pd.DataFrame(excluded, columns=["trial_id", "stage", "reason"]), out_excluded,
                  index=False)
    log.info("%d signal images of %d x %d, %d excluded", len(ids), image_size, image_size,
             len(excluded))
    return images


def write_regression(
    components_npz: str | Path,
    components_index: str | Path,
    labels_csv: str | Path,
    splits_csv: str | Path,
    out_csv: str | Path,
    dimensions: list[str],
    settings: ResSINSettings,
) -> pd.DataFrame:
    """Rule `ressin_regression`: Res-SIN Table 1 numbers (MLR/SVR, RMSE and r)."""
    components, fs = read_components(components_npz, components_index)
    result = run_regression(
        components, fs, read_labels(labels_csv), read_splits(splits_csv), dimensions,
        RegressionSettings(**settings.regression),
    )
    atomic.to_csv(result, out_csv, index=False)
    return result
