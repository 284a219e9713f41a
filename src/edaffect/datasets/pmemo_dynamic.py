"""PMEmo2019 dynamic (continuous) valence/arousal annotations, aligned to each listener's EDA.

Native files (folder `datasets.pmemo.root`):
- `annotations/dynamic_annotations.csv`: `musicId, frameTime, Arousal(mean), Valence(mean)`, one
  row per song and 0.5-s frame (2 Hz), frameTime in seconds from the start of the chorus clip,
  starting at 15.5 s (PMEmo drops the first 15 s, while annotators settle), values on 0-1.
- `annotations/dynamic_annotations_std.csv` (optional): `musicId, frameTime, Arousal(std),
  Valence(std)`, the annotators' spread per frame.

Alignment (documented in docs/continuous.md): PMEmo records EDA while the same chorus clip plays,
so `frameTime` and the first (time) column of `EDA/{musicId}_EDA.csv` share one origin, the clip
start. The EDA time column is read per song: its first value `t0` and its step (seconds = 1/fs,
milliseconds = 1000/fs, or a sample index = 1) give `eda_time_s = frameTime` and
`eda_sample = round((frameTime - t0) / (1/fs))`, the row of the raw (uncropped) EDA at that time.
Frames after the end of a listener's own recording (listeners' recordings of one song differ in
length) are dropped and counted in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.datasets import DatasetError, read_native_csv

log = logging.getLogger(__name__)

DYNAMIC = "annotations/dynamic_annotations.csv"
DYNAMIC_COLUMNS = ["musicId", "frameTime", "Arousal(mean)", "Valence(mean)"]
DYNAMIC_STD = "annotations/dynamic_annotations_std.csv"
DYNAMIC_STD_COLUMNS = ["musicId", "frameTime", "Arousal(std)", "Valence(std)"]
FRAME_S = 0.5  # PMEmo's dynamic annotations are at 2 Hz
OUTPUT_COLUMNS = [
    "trial_id", "subject", "musicId", "frameTime", "eda_time_s", "eda_sample",
    "arousal", "valence", "arousal_std", "valence_std",
]


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """A native annotation CSV with its columns checked (numeric, no duplicates, no gaps)."""
    table = read_native_csv(path, columns)[columns]
    for column in columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            raise DatasetError(f"{path}: column {column!r} is not numeric")
    bad = table[table.isna().any(axis=1)]
    if len(bad):
        row = bad.iloc[0]
        raise DatasetError(
            f"{path}: empty cell in song {row['musicId']} at frameTime {row['frameTime']}"
        )
    dup = table.duplicated(["musicId", "frameTime"])
    if dup.any():
        row = table[dup].iloc[0]
        raise DatasetError(
            f"{path}: song {int(row['musicId'])} has frameTime {row['frameTime']} twice"
        )
    table["musicId"] = table["musicId"].astype(int)
    return table.sort_values(["musicId", "frameTime"], ignore_index=True)


def read_dynamic_annotations(root: str | Path) -> pd.DataFrame:
    """`musicId, frameTime, arousal, valence, arousal_std, valence_std` of every annotated song
    (std columns NaN when `dynamic_annotations_std.csv` is absent)."""
    root = Path(root)
    path = root / DYNAMIC
    if not path.is_file():
        raise DatasetError(
            f"{path}: PMEmo dynamic annotations missing (expected columns "
            f"{', '.join(DYNAMIC_COLUMNS)} at 2 Hz)"
        )
    table = _read_table(path, DYNAMIC_COLUMNS).rename(
        columns={"Arousal(mean)": "arousal", "Valence(mean)": "valence"}
    )
    for column in ("arousal", "valence"):
        out = table[(table[column] < 0) | (table[column] > 1)]
        if len(out):
            row = out.iloc[0]
            raise DatasetError(
                f"{path}: song {row['musicId']} frameTime {row['frameTime']}: {column} "
                f"{row[column]} outside PMEmo's 0-1 scale"
            )
    for music_id, frames in table.groupby("musicId"):
        steps = np.diff(frames["frameTime"].to_numpy())
        if steps.size and not np.allclose(steps, FRAME_S, atol=1e-3):
            raise DatasetError(
                f"{path}: song {music_id}: frameTime steps {sorted(set(np.round(steps, 3)))} "
                f"are not the 2-Hz grid ({FRAME_S} s)"
            )
    table["arousal_std"] = np.nan
    table["valence_std"] = np.nan
    std_path = root / DYNAMIC_STD
    if std_path.is_file():
        std = _read_table(std_path, DYNAMIC_STD_COLUMNS)
        merged = table.drop(columns=["arousal_std", "valence_std"]).merge(
            std, on=["musicId", "frameTime"], how="left", validate="one_to_one"
        )
        table = merged.rename(
            columns={"Arousal(std)": "arousal_std", "Valence(std)": "valence_std"}
        )
        missing = int(table["arousal_std"].isna().sum())
        if missing:
            log.warning("%s: %d annotated frames have no std row (left empty)", std_path, missing)
    else:
        log.info("%s absent: std columns left empty", std_path)
    return table


def eda_time_axis(path: str | Path, fs: float) -> tuple[float, float]:
    """(t0 in s, unit in s) of the time column of one `{musicId}_EDA.csv`.

    The column's step decides its unit: seconds (step 1/fs), milliseconds (1000/fs) or a sample
    index (1); anything else raises, because then frameTime cannot be placed on the EDA."""
    path = Path(path)
    try:
        column = pd.read_csv(path, usecols=[0]).iloc[:, 0].to_numpy(dtype=np.float64)
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable time column ({type(exc).__name__}: {exc})") from exc
    column = column[np.isfinite(column)]
    if column.size < 2:
        return 0.0, 1.0 / fs
    step = float(np.median(np.diff(column)))
    for unit in (1.0, 1e-3, 1.0 / fs):  # seconds, milliseconds, sample index
        if np.isclose(step * unit, 1.0 / fs, rtol=0.02):
            return float(column[0]) * unit, unit
    raise DatasetError(
        f"{path}: time column step {step:g} is neither seconds (1/fs = {1 / fs:g}), "
        f"milliseconds nor a sample index at fs = {fs:g} Hz; cannot align frameTime to the EDA"
    )


def align_dynamic(
    dynamic: pd.DataFrame, trials: pd.DataFrame, time_axes: dict[int, tuple[float, float]]
) -> pd.DataFrame:
    """One row per (trial, annotated frame inside the listener's recording); OUTPUT_COLUMNS.

    `trials`: trials.csv rows (trial_id, subject, stimulus, fs, n_samples); `time_axes`:
    musicId -> (t0, unit) of its EDA file's time column (missing: t0 = 0, seconds)."""
    by_song = {int(m): frames for m, frames in dynamic.groupby("musicId")}
    parts, n_after_end, unannotated = [], 0, []
    for row in trials.itertuples(index=False):
        music_id = int(row.stimulus)
        frames = by_song.get(music_id)
        if frames is None:
            unannotated.append(str(row.trial_id))
            continue
        t0 = time_axes.get(music_id, (0.0, 1.0))[0]
        sample = np.rint((frames["frameTime"].to_numpy() - t0) * float(row.fs)).astype(np.int64)
        inside = (sample >= 0) & (sample < int(row.n_samples))
        n_after_end += int((~inside).sum())
        part = frames[inside].assign(
            trial_id=str(row.trial_id), subject=str(row.subject), eda_sample=sample[inside],
        )
        part["eda_time_s"] = part["frameTime"]
        parts.append(part)
    if unannotated:
        log.warning(
            "%d trial(s) of songs without dynamic annotations are left out, e.g. %s",
            len(unannotated), unannotated[:5],
        )
    if n_after_end:
        log.info("%d annotated frame(s) fall outside a listener's recording: dropped", n_after_end)
    if not parts:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[OUTPUT_COLUMNS]


def write_dynamic(root: str | Path, trials_csv: str | Path, out_csv: str | Path) -> pd.DataFrame:
    """Rule `continuous_dynamic`: native dynamic annotations -> results/pmemo/dynamic.csv."""
    root = Path(root)
    trials = pd.read_csv(trials_csv, dtype={"trial_id": str, "subject": str})
    dynamic = read_dynamic_annotations(root)
    time_axes = {}
    for music_id, fs in trials.groupby("stimulus")["fs"].first().items():
        eda = root / "EDA" / f"{int(music_id)}_EDA.csv"
        if eda.is_file():
            time_axes[int(music_id)] = eda_time_axis(eda, float(fs))
    aligned = align_dynamic(dynamic, trials, time_axes)
    log.info(
        "dynamic annotations: %d songs, %d frames; aligned to %d trials (%d rows)",
        dynamic["musicId"].nunique(), len(dynamic), aligned["trial_id"].nunique(), len(aligned),
    )
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.csv")
    aligned.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(out)
    return aligned
