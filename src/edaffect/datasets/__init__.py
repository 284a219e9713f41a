"""Readers for PMEmo2019, DEAP and AMIGOS in their native layouts, and the trial table writer.

`read_dataset(name, root, options)` returns every usable trial as a `TrialRecord` plus the
trials it dropped (with the reason). Unreadable files, wrong array shapes or a missing GSR channel
raise `DatasetError` naming the file (and the trial); a bad trial (all-NaN or flat signal, missing
or out-of-range rating, empty recording) is excluded with a reason. Stray files are ignored with a
logged warning. Every reader starts with the same header, `native_files` (folder checks, file
pattern, stray files, nothing found), and judges a trial with `trial_problem`.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic

log = logging.getLogger(__name__)

TRIAL_COLUMNS = [
    "trial_id", "dataset", "subject", "trial", "stimulus", "fs", "n_samples",
    "valence", "arousal", "source",
]
EXCLUDED_COLUMNS = ["dataset", "subject", "trial", "file", "stage", "reason"]
GENERATOR_FILES = {"ground_truth.csv"}  # written beside synthetic data; not a stray file
NAMES = {"pmemo": "PMEmo", "deap": "DEAP", "amigos": "AMIGOS"}  # as the datasets spell them
FLAT_RANGE = 1e-9  # a trial whose finite samples span less than this (native unit) is flat


class DatasetError(ValueError):
    """A dataset file that cannot be used at all (unreadable, wrong shape, missing GSR)."""


def read_native_csv(path: str | Path, required: list[str] | tuple[str, ...] = (),
                    **read_csv: object) -> pd.DataFrame:
    """A dataset's own CSV (column names stripped of spaces); DatasetError naming the file when
    it cannot be read or lacks a `required` column."""
    try:
        table = pd.read_csv(path, **read_csv)
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable CSV ({type(exc).__name__}: {exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DatasetError(f"{path}: columns {missing} missing (has {list(table.columns)})")
    return table


@dataclass
class TrialRecord:
    """One trial: who, which stimulus, the raw EDA at its native rate and the two ratings."""

    dataset: str
    subject: str
    trial: int
    stimulus: int
    fs: float
    eda: np.ndarray  # float64; µS (DEAP converted from Ohm); NaN runs kept
    valence: float
    arousal: float
    source: str
    video_type: str = ""  # AMIGOS: short | long (written to trials.csv when any trial has one)

    @property
    def trial_id(self) -> str:
        return f"{self.subject}_{self.trial}"

    @property
    def n_samples(self) -> int:
        return int(self.eda.shape[0])


def exclusion(dataset: str, subject: str, trial: int | str, file: str | Path, reason: str) -> dict:
    """One row of trials_excluded.csv (stage `read`)."""
    return {
        "dataset": dataset, "subject": subject, "trial": trial, "file": str(file),
        "stage": "read", "reason": reason,
    }


def warn_stray(dataset: str, folder: Path, stray: list[Path], expected: str) -> None:
    """One logged warning listing the files a reader ignores (count + the first few names)."""
    if stray:
        names = ", ".join(str(p) for p in stray[:5]) + (" ..." if len(stray) > 5 else "")
        log.warning(
            "%s: ignoring %d stray file(s) in %s (not %s): %s",
            dataset, len(stray), folder, expected, names,
        )


def signal_problem(x: np.ndarray) -> str | None:
    """Why a trace is unusable as a whole (empty, all-NaN, flat), or None when it is usable."""
    if x.size == 0:
        return "empty recording (0 samples)"
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return "all-NaN signal"
    if float(finite.max() - finite.min()) < FLAT_RANGE:
        return f"flat signal (constant {float(finite[0]):.6g})"
    return None


def rating_problem(valence: float, arousal: float, low: float, high: float) -> str | None:
    """Why a (valence, arousal) rating pair is unusable, or None."""
    for name, value in (("valence", valence), ("arousal", arousal)):
        if value is None or not np.isfinite(value):
            return f"missing {name} rating"
        if not low <= value <= high:
            return f"{name} rating {value:g} outside the scale {low:g}-{high:g}"
    return None


def native_files(dataset: str, folder: Path, pattern: re.Pattern, expected: str) -> list[Path]:
    """The readers' shared validation header: the files of `folder` whose name matches `pattern`
    (sorted), one warning for stray files; DatasetError when the folder is missing, is a file, or
    holds no matching file."""
    label = NAMES.get(dataset, dataset)
    if folder.is_file():
        raise DatasetError(f"{folder}: is a file; the {label} reader expects a folder")
    if not folder.is_dir():
        raise DatasetError(f"{folder}: {label} folder missing (expected {expected} files)")
    paths = sorted(folder.iterdir())
    files = [p for p in paths if pattern.match(p.name) and p.is_file()]
    stray = [p for p in paths if p not in files and p.name not in GENERATOR_FILES]
    warn_stray(dataset, folder, stray, expected)
    if not files:
        raise DatasetError(f"{folder}: no {label} {expected} file found")
    return files


def trial_problem(
    signal: np.ndarray, valence: float | None, arousal: float | None, scale: tuple[float, float]
) -> str | None:
    """Why one trial is unusable (signal first, then its ratings), or None."""
    reason = signal_problem(signal)
    if reason is None:
        reason = rating_problem(valence, arousal, *scale)
    return reason


def top_reasons(excluded: list[dict], n: int = 5) -> str:
    """'12 x too short ...; 3 x flat signal' for the n most frequent exclusion reasons."""
    counts = Counter(str(row["reason"]).split(" (")[0] for row in excluded)
    return "; ".join(f"{k} x {r}" for r, k in counts.most_common(n)) or "no trial at all"


def _readers() -> dict[str, Callable[[str | Path], tuple[list[TrialRecord], list[dict]]]]:
    from edaffect.datasets import amigos, deap, pmemo

    return {"pmemo": pmemo.read, "deap": deap.read, "amigos": amigos.read}


def read_dataset(
    name: str, root: str | Path, options: dict | None = None
) -> tuple[list[TrialRecord], list[dict]]:
    """Read dataset `name` from its native layout under `root`, trials sorted by subject, trial.

    Parameters
    ----------
    name
        "pmemo", "deap" or "amigos".
    root
        The dataset's native folder (PMEmo2019, data_preprocessed_python, data_preprocessed_matlab).
    options
        The reader's keyword settings from config `datasets.{name}` (other than root and
        synthetic), e.g. PMEmo's `rating_scale`; unknown keys are logged and ignored.

    Returns
    -------
    trials : list of TrialRecord
        Every usable trial: ids, stimulus, ratings on the native scale, raw EDA in µS, rate.
    excluded : list of dict
        One row per dropped trial (dataset, subject, trial, file, stage, reason).

    Raises
    ------
    DatasetError
        A missing or unreadable file, a wrong shape or column, naming the file and trial.
    """
    readers = _readers()
    if name not in readers:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(readers)}")
    root = Path(root)
    if root.is_file():
        raise DatasetError(
            f"{root}: dataset root for {name!r} is a file; datasets.{name}.root must be the "
            "folder holding the dataset in its native layout"
        )
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder for {name!r} does not exist")
    reader = readers[name]
    accepted = inspect.signature(reader).parameters
    options = dict(options or {})
    ignored = sorted(k for k in options if k not in accepted)
    if ignored:
        log.warning("%s: reader takes no setting(s) %s; ignored", name, ignored)
    trials, excluded = reader(root, **{k: v for k, v in options.items() if k in accepted})
    trials.sort(key=lambda t: (t.subject, t.trial))
    ids = Counter(t.trial_id for t in trials)
    dupes = [tid for tid, n in ids.items() if n > 1]
    if dupes:
        raise DatasetError(f"{root}: duplicate trials {dupes[:5]} (same subject and trial twice)")
    return trials, excluded


def failure_copy(path: str | Path) -> Path:
    """Where an exclusion table is also kept when its rule fails (Snakemake removes a failed job's
    outputs): `X.csv` -> `X.failed.csv` beside it; removed again by the next successful run."""
    path = Path(path)
    return path.with_name(f"{path.stem}.failed{path.suffix}")


def write_excluded(rows: list[dict], path: str | Path, columns: list[str] = EXCLUDED_COLUMNS,
                   failed: bool = False) -> None:
    """Write an exclusion table (atomically); with failed=True also its `.failed.csv` copy."""
    frame = pd.DataFrame(rows, columns=columns)
    targets = [Path(path), failure_copy(path)] if failed else [Path(path)]
    for target in targets:
        atomic.to_csv(frame, target, index=False)
    if not failed:
        failure_copy(path).unlink(missing_ok=True)


def write_trial_table(
    name: str, root: str | Path, trials_csv: str | Path, raw_npz: str | Path,
    excluded_csv: str | Path, options: dict | None = None,
) -> pd.DataFrame:
    """Read a dataset and write trials.csv, raw_eda.npz (key = trial_id) and trials_excluded.csv.

    No usable trial: trials_excluded.csv (and its `.failed.csv` copy) is written, then a
    DatasetError names the most frequent exclusion reasons with their counts."""
    trials, excluded = read_dataset(name, root, options)
    if not trials:
        write_excluded(excluded, excluded_csv, failed=True)
        raise DatasetError(
            f"{root}: no usable trial found for dataset {name!r}: {len(excluded)} trial(s) "
            f"excluded, most often: {top_reasons(excluded)} (all reasons in "
            f"{failure_copy(excluded_csv)})"
        )
    table = pd.DataFrame(
        [
            {
                "trial_id": t.trial_id, "dataset": t.dataset, "subject": t.subject,
                "trial": t.trial, "stimulus": t.stimulus, "fs": t.fs, "n_samples": t.n_samples,
                "valence": t.valence, "arousal": t.arousal, "source": t.source,
            }
            for t in trials
        ],
        columns=TRIAL_COLUMNS,
    )
    if any(t.video_type for t in trials):
        table["video_type"] = [t.video_type for t in trials]
    atomic.to_csv(table, trials_csv, index=False)
    atomic.save_npz(raw_npz, **{t.trial_id: np.asarray(t.eda, dtype=np.float64) for t in trials})
    write_excluded(excluded, excluded_csv)
    rates = sorted({round(t.fs, 3) for t in trials})
    log.info(
        "%s: %d trials of %d subjects read from %s (sampling rates %s Hz); %d excluded%s",
        name, len(table), table["subject"].nunique(), root, rates, len(excluded),
        f": {top_reasons(excluded, 20)}" if excluded else "",
    )
    return table
