"""MAAN inputs on AMIGOS: 10-s segments aligned across ECG, EEG and EDA, and the two protocols.

`build_segments` (rule maan_segments) reads every trial of the study's AMIGOS label table from
the native files (`datasets.amigos.physio_trials`) and cuts it into non-overlapping `segment_s`
segments (after `crop_s`), the same sample ranges for every modality:
- ecg: the RR intervals (s) closing inside the segment (`physio.hrv_series` on the first usable
  lead, over the whole trial), zero-padded to `hrv_length` (paper §3.2) -> (1, hrv_length);
  `load_maan_fold` z-scores the beats and adds a mask channel (1 = beat, 0 = padding) ->
  (2, hrv_length): a z-scored beat at the training mean would otherwise read as padding;
- eeg: differential entropy of theta, alpha, beta, gamma per electrode per `window_s` window
  (`physio.de_maps`) -> (4 bands, 14 electrodes, segment_s / window_s); a bad electrode is NaN
  (filled with the training mean after normalisation);
- eda: GSR block-averaged to `eda_length` points (NaN runs linearly bridged) -> (1, eda_length).
A segment inherits its trial's labels (results/amigos/labels.csv: the study's per-subject
k-means labels; the paper does not say how it binarised).

Protocols (`load_maan_fold`): `subject` = the study's subject-independent folds (splits.csv,
fraction 1.0: test subset k, validation subset k+1, train the rest); `segment` = the paper's
k-fold over segments (k = split.n_folds, the paper's 10 by default; seeded permutation of the
segments of the index, chunk k test, chunk k+1 validation), in
which segments of one subject and one video fall in train and test. Normalisation statistics come
from the training segments only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.datasets.amigos import EEG_CHANNELS, FS, physio_trials
from edaffect.io import atomic
from edaffect.model_selection.fold_data import FoldData
from edaffect.model_selection.splits import load_fold, read_splits
from edaffect.signal.physio import EEG_BANDS, de_maps, hrv_series, rr_segments, segment_starts

log = logging.getLogger(__name__)

INDEX_COLUMNS = ["segment_id", "trial_id", "subject", "trial", "video_type", "segment",
                 "start_s", "n_beats", "ecg_lead", "bad_channels"]
EXCLUDED_COLUMNS = ["trial_id", "file", "reason"]
PROTOCOLS = ("subject", "segment")


def _bridge_nan(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    if finite.all() or finite.sum() < 2:
        return x
    idx = np.arange(x.size)
    return np.interp(idx, idx[finite], x[finite])


def trial_segments(trial, settings: dict) -> dict[str, np.ndarray] | str:
    """The three modality arrays of one `PhysioTrial`, or the reason it yields none."""
    seg_s, fs = float(settings["segment_s"]), FS
    starts = segment_starts(trial.gsr.size, fs, seg_s, float(settings["crop_s"]))
    if not starts:
        return f"shorter than one {seg_s:g}-s segment after cropping {settings['crop_s']} s"
    limit = settings.get("max_segments_per_trial")  # optional; demo sizes only
    if limit and len(starts) > int(limit):
        keep = np.linspace(0, len(starts) - 1, int(limit)).round().astype(int)
        starts = [starts[k] for k in keep]
    if trial.ecg.shape[0] == 0:
        return f"no usable ECG lead ({trial.bad})"
    times, rr = hrv_series(trial.ecg[0], fs)
    if rr.size < 2:
        return "fewer than 3 R peaks detected in the ECG"
    hrv, counts = rr_segments(times, rr, starts, fs, seg_s, int(settings["hrv_length"]))
    bands = [EEG_BANDS[b] for b in EEG_BANDS]
    n_win = int(round(seg_s / float(settings["window_s"])))
    eeg = np.full((len(starts), len(bands), len(EEG_CHANNELS), n_win), np.nan, np.float32)
    if trial.eeg.shape[0]:
        maps = de_maps(_bridge_nan_rows(trial.eeg), fs, starts, seg_s, float(settings["window_s"]),
                       bands)
        rows = [EEG_CHANNELS.index(n) for n in trial.eeg_names]
        eeg[:, :, rows, :] = maps
    gsr = _bridge_nan(trial.gsr)
    seg_len, eda_len = int(round(seg_s * fs)), int(settings["eda_length"])
    block = seg_len // eda_len
    eda = np.stack([
        gsr[s : s + block * eda_len].reshape(eda_len, block).mean(axis=1) for s in starts
    ]).astype(np.float32)
    return {"ecg": hrv[:, None, :], "eeg": eeg, "eda": eda[:, None, :],
            "starts": np.asarray(starts), "n_beats": counts}


def _bridge_nan_rows(x: np.ndarray) -> np.ndarray:
    return np.stack([_bridge_nan(row) for row in x])


def build_segments(
    root: str | Path, labels_csv: str | Path, settings: dict, *, videos: str,
    segments_npz: str | Path, index_csv: str | Path, excluded_csv: str | Path,
) -> pd.DataFrame:
    """Rule maan_segments: every labelled AMIGOS trial -> segments (npz), index, exclusions."""
    labels = pd.read_csv(labels_csv, dtype={"trial_id": str, "subject": str})
    wanted = set(labels["trial_id"])
    arrays: dict[str, list[np.ndarray]] = {"ecg": [], "eeg": [], "eda": []}
    rows, excluded = [], []
    for trial in physio_trials(Path(root), videos, wanted):
        out = trial_segments(trial, settings)
        if isinstance(out, str):
            excluded.append({"trial_id": trial.trial_id, "file": trial.source, "reason": out})
            continue
        for name in arrays:
            arrays[name].append(out[name])
        bad = "; ".join(f"{k}: {v}" for k, v in trial.bad.items())
        for k, start in enumerate(out["starts"]):
            rows.append({
                "segment_id": f"{trial.trial_id}_s{k}", "trial_id": trial.trial_id,
                "subject": trial.subject, "trial": trial.trial, "video_type": trial.video_type,
                "segment": k, "start_s": start / FS, "n_beats": int(out["n_beats"][k]),
                "ecg_lead": trial.ecg_names[0], "bad_channels": bad,
            })
    if not rows:
        raise ValueError(f"{root}: no AMIGOS trial of {labels_csv} gave a MAAN segment "
                         f"({len(excluded)} excluded: {[e['reason'] for e in excluded[:3]]})")
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    _atomic_npz(segments_npz, {k: np.concatenate(v) for k, v in arrays.items()})
    _atomic_csv(index, index_csv)
    _atomic_csv(pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS), excluded_csv)
    log.info("%d segments of %d trials (%d subjects); %d trials excluded", len(index),
             index["trial_id"].nunique(), index["subject"].nunique(), len(excluded))
    return index


def _atomic_csv(frame: pd.DataFrame, path: str | Path) -> None:
    atomic.to_csv(frame, path, index=False)


def _atomic_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    atomic.save_npz(path, **arrays)


def segment_roles(
    index: pd.DataFrame, protocol: str, fold: int, *, n_folds: int, seed: int,
    splits: pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    """Role -> row positions of `index` (train, val, test) for one fold of one protocol."""
    if protocol == "subject":
        if splits is None:
            raise ValueError("protocol 'subject' needs the study's splits.csv")
        roles = load_fold(splits, 1.0, fold)
        return {r: np.flatnonzero(index["trial_id"].isin(set(roles[r]))) for r in
                ("train", "val", "test")}
    if protocol == "segment":
        if not 0 <= fold < n_folds:
            raise ValueError(f"segment protocol: fold {fold} outside 0..{n_folds - 1}")
        order = np.random.default_rng([seed, 15, 0]).permutation(len(index))
        chunks = np.array_split(order, n_folds)
        test, val = chunks[fold], chunks[(fold + 1) % n_folds]
        train = np.setdiff1d(order, np.concatenate([test, val]))
        return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}
    raise ValueError(f"unknown MAAN protocol {protocol!r}; known: {PROTOCOLS}")


def _normalise(arrays: dict[str, np.ndarray], train: np.ndarray) -> dict[str, np.ndarray]:
    """Training-segment statistics only: EEG per (band, electrode) z-score, NaN -> 0 (= the
    training mean); RR intervals one z-score over the real (non-padded) entries, padding stays
    0, plus a second channel, 1 = beat, 0 = padding; EDA centred per segment, scaled by the
    training SD."""
    out = {}
    eeg = arrays["eeg"]
    mean = np.nanmean(eeg[train], axis=(0, 3), keepdims=True)
    sd = np.nanstd(eeg[train], axis=(0, 3), keepdims=True)
    mean, sd = np.nan_to_num(mean), np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    out["eeg"] = np.nan_to_num((eeg - mean) / sd).astype(np.float32)
    ecg = arrays["ecg"][:, :1]
    real = ecg[train][ecg[train] > 0]
    mu, s = (float(real.mean()), float(real.std()) or 1.0) if real.size else (0.0, 1.0)
    beat = ecg > 0
    # channel 2 = the padding mask: a beat at the training mean (z = 0) differs from padding
    out["ecg"] = np.concatenate([np.where(beat, (ecg - mu) / s, 0.0), beat],
                                axis=1).astype(np.float32)
    eda = arrays["eda"] - arrays["eda"].mean(axis=2, keepdims=True)
    out["eda"] = (eda / (float(eda[train].std()) or 1.0)).astype(np.float32)
    return out


def load_maan_fold(
    segments_npz: str | Path, index_csv: str | Path, labels_csv: str | Path,
    splits_csv: str | Path | None, *, modalities: list[str], protocol: str, dimension: str,
    fold: int, n_folds: int, seed: int,
) -> tuple[FoldData, FoldData, FoldData, dict[str, tuple[int, ...]]]:
    """(train, val, test, layout): flat inputs in MODALITIES order, labels of the segments."""
    from edaffect.models.maan import MODALITIES

    index = pd.read_csv(index_csv, dtype={"segment_id": str, "trial_id": str, "subject": str})
    labels = pd.read_csv(labels_csv, dtype={"trial_id": str, "subject": str})
    y = index["trial_id"].map(labels.set_index("trial_id")[f"{dimension}_label"])
    if y.isna().any():
        missing = index.loc[y.isna(), "trial_id"].unique()[:5].tolist()
        raise ValueError(f"{index_csv}: segments of trials without a {dimension} label in "
                         f"{labels_csv}: {missing}")
    with np.load(segments_npz) as data:
        arrays = {m: data[m] for m in MODALITIES}
    splits = read_splits(splits_csv) if protocol == "subject" else None
    roles = segment_roles(index, protocol, fold, n_folds=n_folds, seed=seed, splits=splits)
    arrays = _normalise(arrays, roles["train"])
    used = [m for m in MODALITIES if m in modalities]
    layout = {m: tuple(arrays[m].shape[1:]) for m in used}
    x = np.concatenate([arrays[m].reshape(len(index), -1) for m in used], axis=1)

    def part(rows: np.ndarray) -> FoldData:
        return FoldData(x[rows], y.to_numpy()[rows], index["segment_id"].to_numpy()[rows],
                        index["subject"].to_numpy()[rows])

    return part(roles["train"]), part(roles["val"]), part(roles["test"]), layout
