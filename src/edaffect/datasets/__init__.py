"""Readers for PMEmo2019, DEAP and AMIGOS in their native layouts, and the trial table writer.

`read_dataset(name, root)` returns every usable trial as a `TrialRecord` plus the trials it
dropped (with the reason). Unreadable files, wrong array shapes or a missing GSR channel raise
`DatasetError` naming the file (and the trial); a bad trial (all-NaN or flat signal, missing or
out-of-range rating, empty recording) is excluded with a reason. Stray files are ignored with a
logged warning.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

TRIAL_COLUMNS = [
    "trial_id", "dataset", "subject", "trial", "stimulus", "fs", "n_samples",
    "valence", "arousal", "source",
]
EXCLUDED_COLUMNS = ["dataset", "subject", "trial", "file", "stage", "reason"]
GENERATOR_FILES = {"ground_truth.csv"}  # written beside synthetic data; not a stray file
FLAT_RANGE = 1e-9  # a trial whose finite samples span less than this (native unit) is flat


class DatasetError(ValueError):
    """A dataset file that cannot be used at all (unreadable, wrong shape, missing GSR)."""


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


def _readers() -> dict[str, Callable[[str | Path], tuple[list[TrialRecord], list[dict]]]]:
    from edaffect.datasets import amigos, deap, pmemo

    return {"pmemo": pmemo.read, "deap": deap.read, "amigos": amigos.read}


def read_dataset(name: str, root: str | Path) -> tuple[list[TrialRecord], list[dict]]:
    """Read dataset `name` from its native layout under `root`, trials sorted by subject, trial."""
    readers = _readers()
    if name not in readers:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(readers)}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder for {name!r} does not exist")
    trials, excluded = readers[name](root)
    trials.sort(key=lambda t: (t.subject, t.trial))
    ids = Counter(t.trial_id for t in trials)
    dupes = [tid for tid, n in ids.items() if n > 1]
    if dupes:
        raise DatasetError(f"{root}: duplicate trials {dupes[:5]} (same subject and trial twice)")
    return trials, excluded


def write_trial_table(
    name: str, root: str | Path, trials_csv: str | Path, raw_npz: str | Path,
    excluded_csv: str | Path,
) -> pd.DataFrame:
    """Read a dataset and write trials.csv, raw_eda.npz (key = trial_id) and trials_excluded.csv."""
    trials, excluded = read_dataset(name, root)
    if not trials:
        raise DatasetError(f"{root}: no usable trial found for dataset {name!r}")
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
    for path in (trials_csv, raw_npz, excluded_csv):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(trials_csv, index=False)
    np.savez(raw_npz, **{t.trial_id: np.asarray(t.eda, dtype=np.float64) for t in trials})
    pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS).to_csv(excluded_csv, index=False)
    reasons = Counter(row["reason"].split(" (")[0] for row in excluded)
    log.info(
        "%s: %d trials of %d subjects read from %s; %d excluded%s",
        name, len(table), table["subject"].nunique(), root, len(excluded),
        "".join(f"; {n} x {r}" for r, n in sorted(reasons.items())),
    )
    return table
