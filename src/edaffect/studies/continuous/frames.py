"""Continuous emotion on PMEmo (thesis ch. 3-4, adapted to EDA + music): metrics, labels, frames.

- `ccc` is the one concordance correlation coefficient (Lin 1989):
  2 cov(y, ŷ) / (var y + var ŷ + (mean y − mean ŷ)²), population (1/N) moments. The thesis prints
  its eq. 2.3 with a minus before the squared mean difference; that is a typo (the standard CCC,
  and the one the AVEC contests use, adds it), so we use the plus.
- `refine_labels` is eq. 4.2 (shift a class-0 trace down and a class-2 trace up by s) followed by
  eq. 4.1 (three classes at ±τ), on a trace on the thesis's [−1, 1] scale: `thesis_trace` maps
  PMEmo's 0-1 traces to 2 (y − 0.5), so s and τ mean what they mean in the thesis
  (`refined_frame_labels` = both).
- Frames: one row per annotated 0.5-s frame of a listener's trial (results/pmemo/dynamic.csv),
  with the EDA channels averaged over the frame (the TCN's input at the label rate) and window
  features around it (ridge and LSTM input); `build_frames` writes them once for every model.
- Windows: `window_starts` cuts a trial's frames into overlapping windows; `restore` averages the
  windows' predictions back onto the trial's frames (N-to-N with the labels), as thesis §3.5.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.model_selection.splits import song_blocks, song_groups

log = logging.getLogger(__name__)

CENTRE = 0.5  # PMEmo traces are on 0-1; the thesis's are on [-1, 1]: 2 (y - CENTRE)
THESIS_SCALE = 2.0
SEQ_CHANNELS = ("eda", "phasic", "tonic", "driver")  # frame means: the TCN's input channels
FEATURE_CHANNELS = ("eda", "phasic", "tonic")


# ----------------------------------------------------------------------------------- metrics


def ccc(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (standard plus sign; see the module doc)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    y_hat = np.asarray(y_hat, dtype=np.float64).ravel()
    if y.shape != y_hat.shape or y.size == 0:
        raise ValueError(f"ccc needs two equal-length non-empty arrays ({y.size}, {y_hat.size})")
    my, mp = y.mean(), y_hat.mean()
    cov = np.mean((y - my) * (y_hat - mp))
    denom = y.var() + y_hat.var() + (my - mp) ** 2
    return float(2.0 * cov / denom) if denom > 0 else float("nan")


def pcc(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant (e.g. the constant baseline)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    y_hat = np.asarray(y_hat, dtype=np.float64).ravel()
    if np.ptp(y) == 0 or np.ptp(y_hat) == 0:
        return float("nan")
    return float(np.corrcoef(y, y_hat)[0, 1])


def rmse(y: np.ndarray, y_hat: np.ndarray) -> float:
    diff = np.asarray(y, dtype=np.float64) - np.asarray(y_hat, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2)))


def regression_metrics(y: np.ndarray, y_hat: np.ndarray) -> dict[str, float]:
    """RMSE, PCC and CCC over concatenated predictions (thesis §2.7, §3.5)."""
    return {"rmse": rmse(y, y_hat), "pcc": pcc(y, y_hat), "ccc": ccc(y, y_hat)}


# ------------------------------------------------------------------------- refined labels (ch. 4)


def refine_labels(trace: np.ndarray, trial_class: int, s: float, tau: float) -> np.ndarray:
    """Thesis eq. 4.2 then 4.1: shift the centred `trace` by −s (class 0), 0 (1) or +s (2), then
    0 if y < −τ, 1 if −τ ≤ y < τ, 2 otherwise. Returns int64 labels of len(trace)."""
    if trial_class not in (0, 1, 2):
        raise ValueError(f"trial_class must be 0, 1 or 2, got {trial_class!r}")
    if tau < 0:
        raise ValueError(f"tau must be >= 0, got {tau}")
    y = np.asarray(trace, dtype=np.float64) + (trial_class - 1) * float(s)
    return np.where(y < -tau, 0, np.where(y < tau, 1, 2)).astype(np.int64)


def thesis_trace(trace: np.ndarray) -> np.ndarray:
    """A PMEmo 0-1 trace on the thesis's [-1, 1] scale: 2 (y - 0.5)."""
    return THESIS_SCALE * (np.asarray(trace, dtype=np.float64) - CENTRE)


def refined_frame_labels(trace: np.ndarray, trial_class: int, s: float, tau: float) -> np.ndarray:
    """Eq. 4.2 then 4.1 on a PMEmo 0-1 trace, s and τ on the thesis's [-1, 1] scale."""
    return refine_labels(thesis_trace(trace), trial_class, s, tau)


def tau_grid(s: float, step: float) -> np.ndarray:
    """Thesis §4.4.2: τ from 0.01 to 0.9 s in steps of `step` (s = 0.20 -> 0.01 … 0.18)."""
    n = int(np.floor((0.9 * s - 0.01) / step + 1e-9)) + 1
    return np.round(0.01 + step * np.arange(max(n, 1)), 6)


def three_class(ratings: pd.Series, subjects: pd.Series) -> pd.Series:
    """Fixed 3-class trial label from the listener's own static rating: the listener's lower,
    middle and upper third by rank (ties share the lower class), i.e. per-listener terciles."""

    def terciles(x: pd.Series) -> pd.Series:
        rank = x.rank(method="min") - 1  # 0-based, ties to the lowest rank
        return np.minimum((3 * rank // len(x)).astype(int), 2)

    return ratings.groupby(subjects.to_numpy()).transform(terciles).astype(int)


# ------------------------------------------------------------------------------------ windows


def window_starts(n: int, length: int, hop: int) -> list[int]:
    """Starts of overlapping windows covering all n frames: 0, hop, …, plus one ending at n.
    A trial shorter than `length` gets one (padded) window at 0."""
    if length < 1 or hop < 1:
        raise ValueError(f"window length and hop must be >= 1 (got {length}, {hop})")
    if n <= length:
        return [0]
    starts = list(range(0, n - length + 1, hop))
    if starts[-1] + length < n:
        starts.append(n - length)
    return starts


def cut_windows(x: np.ndarray, length: int, hop: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(windows (k, length, ...), mask (k, length), starts) of one trial's frames `x` (n, ...);
    frames past the trial's end are edge-padded and masked out."""
    n = x.shape[0]
    starts = window_starts(n, length, hop)
    idx = np.minimum(np.add.outer(starts, np.arange(length)), n - 1)
    mask = np.add.outer(starts, np.arange(length)) < n
    return x[idx], mask, starts


def restore(window_preds: np.ndarray, starts: list[int], n: int) -> np.ndarray:
    """Average overlapping windows' predictions (k, length) back onto the trial's n frames."""
    total = np.zeros(n)
    count = np.zeros(n)
    length = window_preds.shape[1]
    for pred, start in zip(window_preds, starts, strict=True):
        stop = min(n, start + length)
        total[start:stop] += pred[: stop - start]
        count[start:stop] += 1
    if (count == 0).any():
        raise ValueError("windows do not cover every frame")
    return total / count


# ------------------------------------------------------------------------------------- frames


@dataclass
class Frames:
    """Every annotated frame of every trial, trials contiguous; `offsets[i]:offsets[i+1]` is
    trial i. `seq` (N, C) frame means of SEQ_CHANNELS; `feat` (N, F) window features."""

    trial_id: list[str]
    subject: list[str]
    stimulus: list[int]
    offsets: np.ndarray
    frame_time: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    seq: np.ndarray
    feat: np.ndarray
    feature_names: list[str]

    def rows(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.trial_id)}


def _box_means(x: np.ndarray, fs: float, centres: np.ndarray, half: float) -> np.ndarray:
    """Mean of x over [c − half, c + half) seconds for each centre (x's time 0 = its sample 0),
    clipped to the signal; empty windows take the nearest sample."""
    csum = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    lo = np.clip(np.rint((centres - half) * fs).astype(int), 0, x.size - 1)
    hi = np.clip(np.rint((centres + half) * fs).astype(int), lo + 1, x.size)
    return (csum[hi] - csum[lo]) / (hi - lo)


def window_features(comp, centres: np.ndarray, window_s: float) -> tuple[np.ndarray, list[str]]:
    """Per frame: mean, SD and slope of EDA, phasic and tonic, and mean and max of the cvxEDA
    driver (SCR activity), over a `window_s` window centred on the frame (clipped to the trial)."""
    fs = comp.fs
    n = comp.eda.size
    half = window_s / 2.0
    lo = np.clip(np.rint((centres - half) * fs).astype(int), 0, n - 1)
    hi = np.clip(np.rint((centres + half) * fs).astype(int), lo + 2, n)
    out, names = [], []
    for name in FEATURE_CHANNELS:
        x = getattr(comp, name)
        rows = []
        for a, b in zip(lo, hi, strict=True):
            seg = x[a:b]
            t = np.arange(seg.size) / fs
            slope = np.polyfit(t, seg, 1)[0] if seg.size > 1 else 0.0
            rows.append((seg.mean(), seg.std(), slope))
        out.append(np.asarray(rows))
        names += [f"{name}_mean", f"{name}_sd", f"{name}_slope"]
    drv = comp.driver
    out.append(np.array([[drv[a:b].mean(), drv[a:b].max()] for a, b in zip(lo, hi, strict=True)]))
    names += ["driver_mean", "driver_max"]
    return np.hstack(out), names


def trial_frames(comp, eda_time_s: np.ndarray, crop_s: float, window_s: float):
    """(seq (T, C), feat (T, F), names) of one trial at its annotated frame times.

    `eda_time_s` is on the raw EDA's time base (dynamic.csv); the cache starts `crop_s` later."""
    centres = np.asarray(eda_time_s, dtype=np.float64) - crop_s
    seq = np.column_stack(
        [_box_means(np.asarray(getattr(comp, c), dtype=np.float64), comp.fs, centres, 0.25)
         for c in SEQ_CHANNELS]
    )
    feat, names = window_features(comp, centres, window_s)
    return seq, feat, names


def build_frames(
    dynamic_csv: str | Path, inputs_index_csv: str | Path, trials_csv: str | Path,
    cache_dir: str | Path, *, crop_s: float, window_s: float, min_frames: int = 4,
) -> tuple[Frames, list[dict]]:
    """Frames of every trial that has model inputs (decomposition cache) and dynamic labels.

    Frames before the cache's first sample (inside the cropped seconds) are dropped; trials with
    fewer than `min_frames` frames are excluded (returned with the reason)."""
    from edaffect.signal.preprocessing import load_components

    dynamic = pd.read_csv(dynamic_csv, dtype={"trial_id": str, "subject": str})
    usable = set(pd.read_csv(inputs_index_csv, dtype={"trial_id": str})["trial_id"])
    trials = pd.read_csv(trials_csv, dtype={"trial_id": str, "subject": str}).set_index("trial_id")
    parts: dict[str, list] = {k: [] for k in ("tid", "subj", "stim", "n", "t", "v", "a", "s", "f")}
    excluded, names = [], []
    for trial_id, rows in dynamic.groupby("trial_id", sort=True):
        if trial_id not in usable:
            excluded.append({"trial_id": trial_id, "reason": "no model inputs (preprocessing)"})
            continue
        rows = rows[rows["eda_time_s"] >= crop_s].sort_values("frameTime")
        if len(rows) < min_frames:
            excluded.append({"trial_id": trial_id, "reason": f"{len(rows)} frames < {min_frames}"})
            continue
        comp = load_components(cache_dir, trial_id)
        end_s = crop_s + comp.eda.size / comp.fs
        rows = rows[rows["eda_time_s"] < end_s]
        seq, feat, names = trial_frames(comp, rows["eda_time_s"].to_numpy(), crop_s, window_s)
        parts["tid"].append(trial_id)
        parts["subj"].append(str(trials.loc[trial_id, "subject"]))
        parts["stim"].append(int(trials.loc[trial_id, "stimulus"]))
        parts["n"].append(len(rows))
        parts["t"].append(rows["frameTime"].to_numpy())
        parts["v"].append(rows["valence"].to_numpy())
        parts["a"].append(rows["arousal"].to_numpy())
        parts["s"].append(seq)
        parts["f"].append(feat)
    if not parts["tid"]:
        raise ValueError(f"{dynamic_csv}: no trial has both dynamic annotations and model inputs")
    frames = Frames(
        trial_id=parts["tid"], subject=parts["subj"], stimulus=parts["stim"],
        offsets=np.concatenate(([0], np.cumsum(parts["n"]))),
        frame_time=np.concatenate(parts["t"]), valence=np.concatenate(parts["v"]),
        arousal=np.concatenate(parts["a"]), seq=np.vstack(parts["s"]).astype(np.float32),
        feat=np.vstack(parts["f"]).astype(np.float32), feature_names=names,
    )
    return frames, excluded


def save_frames(frames: Frames, path: str | Path) -> None:
    """Kill-safe npz of a Frames object."""
    atomic.save_npz(
        path, trial_id=np.array(frames.trial_id), subject=np.array(frames.subject),
        stimulus=np.array(frames.stimulus), offsets=frames.offsets, frame_time=frames.frame_time,
        valence=frames.valence, arousal=frames.arousal, seq=frames.seq, feat=frames.feat,
        feature_names=np.array(frames.feature_names),
    )


def load_frames(path: str | Path) -> Frames:
    with np.load(path, allow_pickle=False) as f:
        return Frames(
            trial_id=[str(x) for x in f["trial_id"]], subject=[str(x) for x in f["subject"]],
            stimulus=[int(x) for x in f["stimulus"]], offsets=f["offsets"],
            frame_time=f["frame_time"], valence=f["valence"], arousal=f["arousal"],
            seq=f["seq"], feat=f["feat"], feature_names=[str(x) for x in f["feature_names"]],
        )


# ------------------------------------------------------------------------------ fold inputs


@functools.lru_cache(maxsize=2)
def _music_table(path: str, mtime_ns: int) -> pd.DataFrame:
    """music_features.csv indexed by stimulus, read once per process (6,373 columns: ~1 s)."""
    table = pd.read_csv(path).set_index("stimulus")
    table.index = table.index.astype(int)
    return table


def music_components(
    music_csv: str | Path | None, stimuli: list[int], train_stimuli: set[int], k: int
) -> np.ndarray | None:
    """(len(stimuli), k) song descriptors: the first k principal components of the songs'
    openSMILE functionals, z-scored and PCA-fitted on the training fold's songs only."""
    if music_csv is None or k <= 0:
        return None
    table = _music_table(str(music_csv), Path(music_csv).stat().st_mtime_ns)
    x = table.to_numpy(dtype=np.float64)
    train_rows = [table.index.get_loc(s) for s in sorted(train_stimuli) if s in table.index]
    if len(train_rows) < 2:
        raise ValueError(f"{music_csv}: fewer than 2 training songs with music features")
    mean = x[train_rows].mean(0)
    std = x[train_rows].std(0)
    std[std == 0] = 1.0
    z = np.nan_to_num((x - mean) / std)
    _, _, vt = np.linalg.svd(z[train_rows] - z[train_rows].mean(0), full_matrices=False)
    k = min(k, vt.shape[0])
    scores = z @ vt[:k].T
    scores /= scores[train_rows].std(0) + 1e-12
    missing = [s for s in stimuli if s not in table.index]
    if missing:
        raise ValueError(f"{music_csv}: no music features for song(s) {missing[:5]}")
    return scores[[table.index.get_loc(s) for s in stimuli]]


@dataclass
class FoldFrames:
    """One role of one fold: per-trial arrays (lists) after training-fold normalisation."""

    trial_id: list[str]
    subject: list[str]
    frame_time: list[np.ndarray]
    seq: list[np.ndarray]  # (T, C [+ k music])
    feat: list[np.ndarray]  # (T, F [+ k music])
    y: list[np.ndarray]  # (T,) dynamic annotation of the dimension, 0-1

    def concat_y(self) -> np.ndarray:
        return np.concatenate(self.y)

    @property
    def n_frames(self) -> int:
        return int(sum(len(y) for y in self.y))


def fold_frames(
    frames: Frames, fold: dict[str, list[str]], dimension: str,
    music_csv: str | Path | None = None, music_k: int = 0,
) -> dict[str, FoldFrames]:
    """train/val/test FoldFrames of one fold; channel and feature z-scoring (and the music PCA)
    use the training role's frames only."""
    index = frames.index()
    roles = {r: [t for t in fold[r] if t in index] for r in ("train", "val", "test")}
    for role, ids in roles.items():
        if not ids:
            raise ValueError(f"fold has no {role} trial with dynamic annotations and EDA")
    train_rows = np.concatenate([np.arange(frames.offsets[index[t]], frames.offsets[index[t] + 1])
                                 for t in roles["train"]])
    stats = {}
    for key in ("seq", "feat"):
        x = getattr(frames, key)[train_rows].astype(np.float64)
        std = x.std(0)
        std[std == 0] = 1.0
        stats[key] = (x.mean(0), std)
    stim_of = {t: frames.stimulus[index[t]] for ids in roles.values() for t in ids}
    music = None
    if music_csv is not None and music_k > 0:
        all_ids = [t for ids in roles.values() for t in ids]
        comps = music_components(
            music_csv, [stim_of[t] for t in all_ids], {stim_of[t] for t in roles["train"]}, music_k
        )
        music = dict(zip(all_ids, comps, strict=True))
    y_all = getattr(frames, dimension)
    out = {}
    for role, ids in roles.items():
        parts = {"seq": [], "feat": [], "y": [], "t": []}
        for t in ids:
            rows = frames.rows(index[t])
            for key in ("seq", "feat"):
                mean, std = stats[key]
                x = ((getattr(frames, key)[rows] - mean) / std).astype(np.float32)
                if music is not None:
                    x = np.hstack([x, np.tile(music[t].astype(np.float32), (x.shape[0], 1))])
                parts[key].append(x)
            parts["y"].append(y_all[rows].astype(np.float32))
            parts["t"].append(frames.frame_time[rows])
        out[role] = FoldFrames(
            trial_id=ids, subject=[frames.subject[index[t]] for t in ids], frame_time=parts["t"],
            seq=parts["seq"], feat=parts["feat"], y=parts["y"],
        )
    return out


# ------------------------------------------------------------------------- song-disjoint folds


def song_disjoint_splits(splits: pd.DataFrame, n_groups: int, seed: int
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subject- and song-disjoint folds from the study's subject folds (fraction 1).

    Songs are dealt into `n_groups` (>= 3) seeded groups balanced by trial count. In fold k the
    study's test listeners keep only their songs of group k mod n, the validation listeners
    their songs of group (k + 1) mod n, the training listeners their songs of the other groups;
    every other trial is `dropped`. So no listener and no song has two roles in a fold (the
    study's fold-to-fold subject rotation is kept); each trial is tested at most once, about a
    1/n share of them in all (`model_selection.splits.song_blocks`, the project's one
    song-disjoint rule). Returns (splits rows, per-fold summary)."""
    part = splits[np.isclose(splits["fraction"].astype(float), 1.0)].copy()
    part["stimulus"] = part["stimulus"].astype(str)
    first = part[part["fold"] == part["fold"].min()]
    group = song_groups(first["stimulus"], n_groups, seed)
    g_of = part["stimulus"].map(group).to_numpy()
    part["role"] = song_blocks(part["role"].to_numpy(), g_of, part["fold"].to_numpy(), n_groups)
    kept = part[part["role"] != "dropped"]
    for k, rows in kept.groupby("fold"):
        if (rows.groupby("stimulus")["role"].nunique() > 1).any():
            raise AssertionError(f"song-disjoint fold {k}: a song has two roles")
        if (rows.groupby("subject")["role"].nunique() > 1).any():
            raise AssertionError(f"song-disjoint fold {k}: a subject has two roles")
        missing = {"train", "val", "test"} - set(rows["role"])
        if missing:
            raise ValueError(f"song-disjoint fold {k}: no {sorted(missing)} trials left")
    summary = part.groupby("fold")["role"].value_counts().unstack(fill_value=0).reset_index()
    summary.insert(1, "song_groups", n_groups)
    return part, summary
