"""Decomposition in batches: trials dealt to batch jobs by a stable hash, each batch solved
through the per-trial cache (`preprocessing.cached_decompose`), the batches merged into the
model inputs (inputs.npy, inputs_index.csv, excluded.csv)."""


from __future__ import annotations

import json
import logging
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from edaffect.io import atomic
from edaffect.signal.preprocessing import (
    EXCLUDED_COLUMNS,
    PreprocessSettings,
    TrialComponents,
    TrialExcluded,
    cached_decompose,
    model_input,
    write_npz,
)

log = logging.getLogger(__name__)

def n_batches(n_trials: int, batch_size: int) -> int:
    """How many decomposition jobs a dataset of `n_trials` gets."""
    return max(1, -(-int(n_trials) // int(batch_size)))


def batch_of(trial_id: str, n: int) -> int:
    """Stable trial -> batch mapping (CRC32 of the id): independent of the other trials."""
    return zlib.crc32(str(trial_id).encode()) % int(n)


def read_trials(trials_csv: str | Path) -> pd.DataFrame:
    """trials.csv with ids kept as strings (PMEmo ids look numeric)."""
    return pd.read_csv(
        trials_csv, dtype={"trial_id": str, "subject": str, "trial": str, "dataset": str}
    )


@dataclass
class BatchReport:
    """What one batch job did: logged to the rule's log, never stored in the batch file (its
    timing and cache counts differ between identical runs)."""

    n_trials: int = 0
    n_solved: int = 0
    n_cached: int = 0
    n_excluded: int = 0
    solve_seconds: float = 0.0


def _exclusion_row(row, file: str, stage: str, reason: str) -> dict:
    return {"dataset": row.dataset, "subject": row.subject, "trial": row.trial, "file": file,
            "stage": stage, "reason": reason}


def _one_trial(args) -> tuple[str, object, bool, float]:
    """Worker: (trial_id, outcome, solved_now, seconds) for one trial; never raises."""
    trial_id, y, fs, settings, cache_dir = args
    t0 = time.perf_counter()
    try:
        outcome, solved = cached_decompose(trial_id, y, fs, settings, cache_dir)
    except Exception as exc:  # noqa: BLE001 - one bad trial must not kill the batch
        outcome = TrialExcluded("preprocess", f"unexpected error: {type(exc).__name__}: {exc}")
        solved = True
    if isinstance(outcome, TrialComponents):
        outcome = model_input(outcome, settings.length)
    return trial_id, outcome, solved, time.perf_counter() - t0


def run_batch(
    raw_eda: str | Path,
    trials_csv: str | Path,
    batch: int,
    batch_size: int,
    settings: PreprocessSettings,
    cache_dir: str | Path,
    out_path: str | Path,
    threads: int = 1,
) -> BatchReport:
    """Preprocess every trial of one batch (through the cache) into `out_path` (.npz).

    The file holds `inputs` (k, 3, L) float32, `trial_id` (k,) and `excluded` (JSON rows).
    A trial that cannot be read, is unusable or whose solve fails becomes an exclusion row.
    """
    trials = read_trials(trials_csv)
    nb = n_batches(len(trials), batch_size)
    if not 0 <= batch < nb:
        raise ValueError(f"{trials_csv}: batch {batch} does not exist ({nb} batches)")
    mine = trials[[batch_of(t, nb) == batch for t in trials["trial_id"]]]
    report = BatchReport(n_trials=len(mine))
    excluded: list[dict] = []
    jobs = []
    rows = {}
    with np.load(raw_eda, allow_pickle=False) as raw:
        keys = set(raw.files)
        for row in mine.itertuples(index=False):
            rows[row.trial_id] = row
            try:
                if row.trial_id not in keys:
                    raise ValueError("trial missing from the raw EDA file")
                y = np.asarray(raw[row.trial_id], dtype=np.float64)
                if y.ndim != 1:
                    raise ValueError(f"raw EDA has shape {y.shape}, expected one dimension")
                fs = float(row.fs)
            except (ValueError, KeyError, OSError) as exc:
                log.warning("trial %s: %s", row.trial_id, exc)
                excluded.append(_exclusion_row(row, f"{raw_eda}:{row.trial_id}", "read",
                                               str(exc)))
                continue
            jobs.append((row.trial_id, y, fs, settings, str(cache_dir)))
    results: dict[str, np.ndarray] = {}
    # One BLAS thread per solve: the KKT blocks are small, and threaded BLAS spins on a
    # loaded machine (measured: 10x slower solves with 2 OpenBLAS threads under load).
    with threadpool_limits(limits=1, user_api="blas"):
        if threads > 1 and len(jobs) > 1:
            from concurrent.futures import ProcessPoolExecutor

            chunk = max(1, len(jobs) // (4 * threads))
            with ProcessPoolExecutor(max_workers=threads) as pool:
                outcomes = list(pool.map(_one_trial, jobs, chunksize=chunk))
        else:
            outcomes = [_one_trial(job) for job in jobs]
    for trial_id, outcome, solved, seconds in outcomes:
        report.n_solved += int(solved)
        report.n_cached += int(not solved)
        if solved:
            report.solve_seconds += seconds
        if isinstance(outcome, TrialExcluded):
            log.info("trial %s excluded (%s): %s", trial_id, outcome.stage, outcome.reason)
            excluded.append(_exclusion_row(rows[trial_id], f"{raw_eda}:{trial_id}",
                                           outcome.stage, outcome.reason))
        else:
            results[trial_id] = outcome
    report.n_excluded = len(excluded)
    ids = [t for t in mine["trial_id"] if t in results]
    inputs = (np.stack([results[t] for t in ids]) if ids
              else np.zeros((0, 3, settings.length), dtype=np.float32))
    write_npz(Path(out_path), inputs=inputs, trial_id=np.array(ids, dtype=str),
               excluded=json.dumps(excluded))
    log.info("batch %d: %s", batch, report)
    return report


def merge_batches(
    batch_files: list[str | Path],
    trials_csv: str | Path,
    trials_excluded_csv: str | Path,
    out_inputs: str | Path,
    out_index: str | Path,
    out_excluded: str | Path,
) -> int:
    """Join the batch files into inputs.npy (trial-table order) + index + excluded.csv."""
    trials = read_trials(trials_csv)
    parts: dict[str, np.ndarray] = {}
    excluded: list[dict] = []
    length = None
    for path in batch_files:
        with np.load(path, allow_pickle=False) as f:
            inputs, ids = f["inputs"], [str(t) for t in f["trial_id"]]
            excluded.extend(json.loads(str(f["excluded"])))
        if length is not None and inputs.shape[2] != length:
            raise ValueError(f"{path}: input length {inputs.shape[2]}, other batches {length}")
        length = inputs.shape[2]
        for t, x in zip(ids, inputs, strict=True):
            if t in parts:
                raise ValueError(f"{path}: trial {t} appears in more than one batch")
            parts[t] = x
    unknown = set(parts) - set(trials["trial_id"])
    if unknown:
        raise ValueError(f"batch files hold trials not in {trials_csv}: {sorted(unknown)[:5]}")
    order = [t for t in trials["trial_id"] if t in parts]
    accounted = set(parts) | {f"{r['subject']}_{r['trial']}" for r in excluded}
    missing = [t for t in trials["trial_id"] if t not in accounted]
    if missing:
        raise ValueError(f"trials of {trials_csv} missing from every batch: {missing[:5]}")
    read_excl = pd.read_csv(trials_excluded_csv, dtype=str)
    pre = pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS).astype(str)
    all_excluded = pd.concat([read_excl.reindex(columns=EXCLUDED_COLUMNS), pre],
                             ignore_index=True)
    if not order:  # a dataset with no model input must stop the run, with its reasons kept
        from edaffect.datasets import failure_copy, top_reasons, write_excluded

        rows = all_excluded.to_dict("records")
        write_excluded(rows, out_excluded, failed=True)
        raise ValueError(
            f"{trials_csv}: no trial reached the model inputs: {len(rows)} trial(s) excluded, "
            f"most often: {top_reasons(rows)} (all reasons in {failure_copy(out_excluded)})"
        )
    arr = np.stack([parts[t] for t in order]).astype(np.float32)
    atomic.save_npy(out_inputs, arr)  # a full disk or a kill never leaves a fragment
    atomic.to_csv(pd.DataFrame({"row": range(len(order)), "trial_id": order}), out_index,
                  index=False)
    from edaffect.datasets import write_excluded

    write_excluded(all_excluded.to_dict("records"), out_excluded)
    return len(order)


def batch_paths(trials_csv: str | Path, dataset: str, batch_size: int) -> list[str]:
    """Paths of a dataset's decomposition batch files (DAG-time helper for the workflow)."""
    with open(trials_csv) as handle:
        n_trials = max(0, sum(1 for _ in handle) - 1)
    return [f"results/{dataset}/decomposed/batch{b}.npz"
            for b in range(n_batches(n_trials, batch_size))]
