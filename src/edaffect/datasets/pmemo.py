"""PMEmo2019 reader: `EDA/{musicId}_EDA.csv` plus the per-listener static annotations.

Native files used (root = the `PMEmo2019` folder; its parent is accepted too):
- `EDA/{musicId}_EDA.csv`: first column the sample time, then one column per listener id;
  listeners of one song may have different lengths, so shorter columns end in empty cells
  (trailing NaNs are padding and are stripped; interior NaNs are kept). Each file's sampling
  rate is read from its time column (PMEmo2019 records at 50 Hz; the public demo's traces are
  resampled to 10-13 Hz): seconds, or milliseconds when the header says `ms`; a first column
  holding the sample index 0, 1, 2, ... (or 1, 2, ...) means PMEmo's documented 50 Hz. A time
  column that is not regular (steps off a uniform grid by more than half a sample, not
  increasing, empty cells) is refused, naming the file and the lines.
- `annotations/static_annotations_per_listener.csv` with columns `musicId, subjectId, Arousal,
  Valence` (each listener's own static ratings) on PMEmo's 0-1 scale or on the 1-9 scale the
  ratings were collected on (`rating_scale`: `unit`, `nine`, or `auto` = decided from the
  values and logged; 1-9 is mapped to 0-1 as (x - 1) / 8). The per-listener k-means labels
  need each listener's own ratings; the public release has only the song means, so this is the
  one file a real-data user may have to supply.
- `annotations/static_annotations.csv` (`musicId, Arousal(mean), Valence(mean)`) and
  `features/static_features.csv` (`musicId` + 6,373 ComParE_2016 functionals) are read by
  `read_static_means` / `read_static_features` for the label and music-feature stages.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.datasets import (
    DatasetError,
    TrialRecord,
    exclusion,
    native_files,
    read_native_csv,
    trial_problem,
)

log = logging.getLogger(__name__)

FS = 50.0  # PMEmo2019's documented EDA rate (used when the first column is a sample index)
NATIVE_FOLDER = "PMEmo2019"
EDA_FOLDER = "EDA"
FILE_PATTERN = re.compile(r"^(\d+)_EDA\.csv$")
PER_LISTENER = "annotations/static_annotations_per_listener.csv"
PER_LISTENER_COLUMNS = ["musicId", "subjectId", "Arousal", "Valence"]
STATIC_MEANS = "annotations/static_annotations.csv"
STATIC_MEANS_COLUMNS = ["musicId", "Arousal(mean)", "Valence(mean)"]
STATIC_FEATURES = "features/static_features.csv"
SCALE = (0.0, 1.0)  # every rating is returned on PMEmo's 0-1 scale
RATING_SCALES = ("auto", "unit", "nine")
MAX_GRID_DEVIATION = 0.5  # samples: a time stamp further than this from the uniform grid


def dataset_folder(root: str | Path) -> Path:
    """The PMEmo2019 folder: `root` itself, or `root/PMEmo2019` when only that holds `EDA/`."""
    root = Path(root)
    nested = root / NATIVE_FOLDER
    if not (root / EDA_FOLDER).exists() and (nested / EDA_FOLDER).is_dir():
        return nested
    return root


def detect_rating_scale(values: np.ndarray, path: Path, rating_scale: str) -> str:
    """'unit' (0-1) or 'nine' (1-9) for the finite ratings `values`; auto decides and logs."""
    if rating_scale not in RATING_SCALES:
        raise DatasetError(
            f"datasets.pmemo.rating_scale {rating_scale!r} unknown; use one of {RATING_SCALES}"
        )
    if rating_scale != "auto":
        return rating_scale
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "unit"
    low, high = float(finite.min()), float(finite.max())
    if high <= 1.0:
        decided = "unit"
    elif low >= 1.0:
        decided = "nine"
    else:  # values on both sides of 1: the scale most ratings fit; the others get excluded
        decided = "unit" if np.sum(finite < 1.0) >= np.sum(finite > 1.0) else "nine"
        log.warning(
            "pmemo: %s: ratings span %g-%g, neither all on 0-1 nor all on 1-9; most fit the %s "
            "scale, the others will be excluded as out of range (set datasets.pmemo."
            "rating_scale to decide)", path, low, high, "0-1" if decided == "unit" else "1-9",
        )
    log.info(
        "pmemo: %s: ratings span %g-%g, read as the %s scale (rating_scale: auto)%s",
        path, low, high, "0-1" if decided == "unit" else "1-9",
        "; mapped to 0-1 as (x - 1) / 8" if decided == "nine" else "",
    )
    return decided


def read_listener_ratings(
    root: Path, rating_scale: str = "auto"
) -> dict[tuple[int, str], tuple[float, float]]:
    """{(musicId, subjectId): (valence, arousal)} on 0-1 from the per-listener annotation table."""
    path = root / PER_LISTENER
    if not path.is_file():
        raise DatasetError(
            f"{path}: per-listener static annotations missing. PMEmo's public release has only "
            f"song means; supply a CSV with columns {', '.join(PER_LISTENER_COLUMNS)} "
            "(each listener's own ratings on 0-1 or 1-9) at this path"
        )
    table = read_native_csv(path, PER_LISTENER_COLUMNS, dtype={"subjectId": str})
    for col in ("musicId", "Arousal", "Valence"):
        if not pd.api.types.is_numeric_dtype(table[col]):
            raise DatasetError(f"{path}: column {col!r} is not numeric")
    if table["musicId"].isna().any() or table["subjectId"].isna().any():
        raise DatasetError(f"{path}: rows without musicId or subjectId")
    table["subjectId"] = table["subjectId"].str.strip()
    dup = table.duplicated(["musicId", "subjectId"])
    if dup.any():
        row = table[dup].iloc[0]
        raise DatasetError(
            f"{path}: listener {row['subjectId']} rated song {int(row['musicId'])} twice"
        )
    values = table[["Valence", "Arousal"]].to_numpy(dtype=float)
    if detect_rating_scale(values.ravel(), path, rating_scale) == "nine":
        values = (values - 1.0) / 8.0
    return {
        (int(m), s): (float(v), float(a))
        for m, s, (v, a) in zip(table["musicId"], table["subjectId"], values, strict=True)
    }


@dataclass
class EdaFile:
    """One `{musicId}_EDA.csv`: the listeners' traces and the rate read from its time column."""

    traces: dict[str, np.ndarray]  # listener id -> float64 trace, trailing padding stripped
    fs: float
    time_unit: str  # "s", "ms" or "index" (sample index, PMEmo's documented 50 Hz)


def _lines(rows: np.ndarray) -> str:
    """File line numbers (header = line 1) of data rows, at most 5 shown."""
    shown = ", ".join(str(int(r) + 2) for r in rows[:5])
    return shown + (f" ... ({len(rows)} lines)" if len(rows) > 5 else "")


def sampling_rate(path: Path, name: str, column: pd.Series) -> tuple[float, str]:
    """(fs in Hz, unit) from the first column; DatasetError naming the lines if irregular."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DatasetError(
            f"{path}: irregular time column {name!r}: empty or non-numeric time at line(s) "
            f"{_lines(bad)}"
        )
    if values.size < 2:
        raise DatasetError(f"{path}: {values.size} row(s); the sampling rate needs at least 2")
    steps = np.diff(values)
    back = np.flatnonzero(steps <= 0)
    if back.size:
        raise DatasetError(
            f"{path}: irregular time column {name!r}: time does not increase at line(s) "
            f"{_lines(back + 1)}"
        )
    index_like = np.all(steps == 1.0) and values[0] in (0.0, 1.0) and "time" not in name.lower()
    if index_like:
        return FS, "index"
    unit = "ms" if re.search(r"\bms\b|msec|millisec", name.lower()) else "s"
    seconds = values / 1000.0 if unit == "ms" else values
    step = np.diff(seconds)
    typical = float(np.median(step))
    jumps = np.flatnonzero(np.abs(step / typical - 1.0) > MAX_GRID_DEVIATION)
    if jumps.size:
        first = jumps[0]
        raise DatasetError(
            f"{path}: irregular time column {name!r}: step(s) at line(s) {_lines(jumps + 1)} "
            f"(e.g. {step[first]:.4g} s before line {first + 3}) differ from the typical "
            f"{typical:.4g} s by more than half a sample (gaps, jumps or mixed rates); "
            "resample the file to one rate"
        )
    n = seconds.size
    fs = (n - 1) / (seconds[-1] - seconds[0])
    deviation = np.abs(seconds - (seconds[0] + np.arange(n) / fs)) * fs  # in samples
    off = np.flatnonzero(deviation > MAX_GRID_DEVIATION)
    if off.size:
        raise DatasetError(
            f"{path}: irregular time column {name!r}: line(s) {_lines(off)} are up to "
            f"{deviation.max():.2f} samples off a uniform {fs:.4g} Hz grid (gaps, jumps or "
            "mixed rates); resample the file to one rate"
        )
    return float(np.round(fs, 4)), unit


def read_eda_file(path: Path) -> EdaFile:
    """The listeners' traces and the sampling rate of one {musicId}_EDA.csv."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable file ({type(exc).__name__}: {exc})") from exc
    lines = text.splitlines()
    if not lines:
        raise DatasetError(f"{path}: empty file")
    header = next(csv.reader([lines[0]]))
    if len(header) < 2:
        raise DatasetError(f"{path}: no listener column (header {header})")
    listeners = [h.strip() for h in header[1:]]
    if "" in listeners:
        raise DatasetError(f"{path}: empty listener id in header {header}")
    repeated = sorted({x for x in listeners if listeners.count(x) > 1})
    if repeated:
        raise DatasetError(
            f"{path}: listener column(s) {repeated} appear more than once in the header; "
            "which recording belongs to the listener is ambiguous"
        )
    n_fields = len(header)
    for number, line in enumerate(lines[1:], start=2):
        if line.count(",") + 1 != n_fields:
            raise DatasetError(
                f"{path}: truncated or malformed: line {number} has {line.count(',') + 1} "
                f"fields, the header has {n_fields}"
            )
    try:
        frame = pd.read_csv(
            io.StringIO(text), header=0, names=["time", *listeners], dtype=str,
            keep_default_na=False,
        )
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable CSV ({type(exc).__name__}: {exc})") from exc
    fs, unit = sampling_rate(path, header[0].strip(), frame["time"])
    traces = {}
    for listener in listeners:
        cells = frame[listener].str.strip()
        x = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
        wrong = np.flatnonzero(np.isnan(x) & (cells != "").to_numpy() & ~cells.str.lower().isin(
            ["nan", "na", "null"]).to_numpy())
        if wrong.size:
            raise DatasetError(
                f"{path}: listener {listener}: non-numeric EDA value "
                f"{cells.iloc[wrong[0]]!r} at line {_lines(wrong)}"
            )
        finite = np.flatnonzero(np.isfinite(x))
        traces[listener] = x[: finite[-1] + 1] if finite.size else x[:0]
    return EdaFile(traces=traces, fs=fs, time_unit=unit)


def read(root: Path, rating_scale: str = "auto") -> tuple[list[TrialRecord], list[dict]]:
    """One trial per (listener, song) with an EDA column; ratings from the per-listener table.

    Parameters
    ----------
    root
        The PMEmo2019 folder (EDA/, annotations/, features/, optionally chorus/).
    rating_scale
        "auto", "unit" (0-1) or "nine" (1-9) for the per-listener ratings; auto decides and logs.

    Returns
    -------
    trials : list of TrialRecord
        The usable trials with raw EDA in µS, ratings mapped to 0-1.
    excluded : list of dict
        Rows for trials dropped while reading (file, trial, reason).
        Ratings without any EDA recording are exclusions too (a listener absent from every EDA
        file is also named in one warning).
    """
    root = dataset_folder(root)
    folder = root / EDA_FOLDER
    files = native_files("pmemo", folder, FILE_PATTERN, "{musicId}_EDA.csv")
    ratings = read_listener_ratings(root, rating_scale)
    trials: list[TrialRecord] = []
    excluded: list[dict] = []
    recorded: set[tuple[int, str]] = set()
    rates: dict[float, int] = {}
    for path in files:
        music_id = int(FILE_PATTERN.match(path.name).group(1))
        eda_file = read_eda_file(path)
        rates[eda_file.fs] = rates.get(eda_file.fs, 0) + 1
        for listener, eda in eda_file.traces.items():
            recorded.add((music_id, listener))
            rating = ratings.get((music_id, listener))
            reason = trial_problem(eda, *(rating or (None, None)), SCALE)
            if reason is not None and rating is None and reason.startswith("missing"):
                reason = f"no rating of this listener in {PER_LISTENER}"
            if reason is not None:
                excluded.append(exclusion("pmemo", listener, music_id, path, reason))
                continue
            trials.append(
                TrialRecord(
                    dataset="pmemo", subject=listener, trial=music_id, stimulus=music_id,
                    fs=eda_file.fs, eda=eda, valence=rating[0], arousal=rating[1],
                    source=str(path),
                )
            )
    log.info("pmemo: EDA sampling rates read from the time columns: %s",
             ", ".join(f"{fs:g} Hz ({k} file(s))" for fs, k in sorted(rates.items())))
    unrecorded = sorted(set(ratings) - recorded)
    listeners_with_eda = {s for _, s in recorded}
    absent = sorted({s for _, s in unrecorded if s not in listeners_with_eda})
    if absent:
        log.warning(
            "pmemo: %d listener(s) of %s have no EDA in any %s/{musicId}_EDA.csv file; their "
            "ratings are not used: %s", len(absent), root / PER_LISTENER, EDA_FOLDER,
            ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else ""),
        )
    for music_id, listener in unrecorded:
        where = "any EDA file" if listener in absent else f"{EDA_FOLDER}/{music_id}_EDA.csv"
        excluded.append(exclusion(
            "pmemo", listener, music_id, root / PER_LISTENER,
            f"rated, but no EDA recording of this listener in {where}",
        ))
    return trials, excluded


def read_static_means(root: str | Path) -> pd.DataFrame:
    """`annotations/static_annotations.csv` as (musicId, arousal_mean, valence_mean) on 0-1."""
    path = dataset_folder(root) / STATIC_MEANS
    table = read_native_csv(path, STATIC_MEANS_COLUMNS)
    out = table[STATIC_MEANS_COLUMNS].rename(
        columns={"Arousal(mean)": "arousal_mean", "Valence(mean)": "valence_mean"}
    )
    out["musicId"] = out["musicId"].astype(int)
    return out


def read_static_features(root: str | Path) -> pd.DataFrame:
    """`features/static_features.csv`: musicId + the ComParE_2016 functionals, one row a song."""
    path = dataset_folder(root) / STATIC_FEATURES
    table = read_native_csv(path, ["musicId"])
    table["musicId"] = table["musicId"].astype(int)
    return table
