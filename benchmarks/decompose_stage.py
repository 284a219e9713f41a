"""The whole decomposition stage through Snakemake on a full-size synthetic PMEmo, vs the ideal.

Ideal = (sum of the project's own cvxEDA solve CPU times over all trials) / cores, each trial
prepared exactly as the stage prepares it (cleaned, resampled to the config's
`preprocessing.resample_hz`, z-scored): the cost of the solves alone with perfect parallelism
and no workflow overhead.  P1: stage wall <= 1.1 x ideal at full PMEmo scale (7,962 trials);
printed as the measured ratio.
Steps: (1) write a config with only PMEmo (paper-scale generator settings, 7,962 trials, or
--trials N; config.yaml's preprocessing, so its resample_hz) into --workdir and build its trial
table (not timed); (2) time `snakemake results/pmemo/inputs.npy --cores C` (decompose_batch
jobs + merge, cold cache); (3) time our solves in-process on a random sample of trials
(--ideal-sample) at the stage's rate and scale the mean to all trials; the same solves in C
worker processes by the wall clock give the ideal under the machine's load at that moment.

    nice -n 10 .venv/bin/python benchmarks/decompose_stage.py [--trials 7962] [--cores 2]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from tabulate import tabulate  # noqa: E402

from edaffect.signal.decomposition import cvxeda  # noqa: E402
from edaffect.signal.decomposition_batches import read_trials  # noqa: E402
from edaffect.signal.preprocessing import (  # noqa: E402
    clean_signal,
    resample,
    settings_from_config,
)

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def write_config(workdir: Path, n_trials: int, batch_size: int | None) -> dict:
    """config.yaml with only PMEmo, sized like the paper (7,962 trials) or to n_trials."""
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    paper = yaml.safe_load((REPO / "config/paper-scale.yaml").read_text())
    synth = dict(cfg["datasets"]["pmemo"]["synthetic"])
    synth.update(paper["datasets"]["pmemo"]["synthetic"])
    if n_trials != synth.get("n_trials"):
        scale = n_trials / 7962
        synth["n_songs"] = max(2, math.floor(n_trials / synth["listeners_per_song"]))
        synth["n_subjects"] = max(synth["listeners_per_song"] + 1, round(457 * scale))
        synth["n_trials"] = n_trials
    cfg["datasets"] = {"pmemo": {"root": "results/synthetic/pmemo", "synthetic": synth}}
    cfg["preprocessing"]["length"] = {"pmemo": paper["preprocessing"]["length"]["pmemo"]}
    if batch_size:
        cfg["decomposition"]["batch_size"] = batch_size
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return cfg


def children_cpu() -> float:
    """CPU seconds (user + sys) of every finished child process and its descendants so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def snakemake(workdir: Path, target: str, cores: int) -> tuple[float, float]:
    """Run Snakemake for `target`; return (wall seconds, CPU seconds of it and its jobs)."""
    cmd = [SNAKEMAKE, target, "--snakefile", str(REPO / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", str(cores)]
    t0, c0 = time.perf_counter(), children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - t0, children_cpu() - c0
    if proc.returncode != 0:
        sys.exit(f"snakemake failed for {target}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, cpu


def stage_signal(y: np.ndarray, fs: float, settings) -> tuple[np.ndarray, float]:
    """A raw trial as the stage hands it to cvxEDA (edaffect.signal.preprocessing.decompose_trial):
    cleaned, resampled to `settings.resample_hz` when that is below fs, z-scored."""
    clean, _ = clean_signal(y, fs, settings)
    if settings.resample_hz is not None and settings.resample_hz < fs:
        clean, fs = resample(clean, fs, settings.resample_hz)
    return (clean - clean.mean()) / clean.std(), fs


def own_chunk(items: list[tuple[np.ndarray, float, dict]]) -> None:
    for z, fs, options in items:
        cvxeda(z, fs, **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=7962, help="PMEmo trials (paper: 7,962)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="override decomposition.batch_size")
    parser.add_argument("--ideal-sample", type=int, default=600,
                        help="trials whose in-process solve times estimate the ideal (0: all)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/edaffect_stage_bench"))
    parser.add_argument("--keep", action="store_true", help="reuse an existing trial table")
    args = parser.parse_args()

    work = args.workdir.resolve()
    if work.exists() and not args.keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    cfg = write_config(work, args.trials, args.batch_size)
    t_setup, _ = snakemake(work, "results/pmemo/trials.csv", args.cores)
    for stale in ("results/pmemo/cache", "results/pmemo/decomposed"):
        shutil.rmtree(work / stale, ignore_errors=True)
    (work / "results/pmemo/inputs.npy").unlink(missing_ok=True)
    trials = read_trials(work / "results/pmemo/trials.csv")
    n = len(trials)
    print(f"trial table: {n} trials (built in {t_setup:.0f} s, not timed)", flush=True)

    load_before = os.getloadavg()[0]
    t_stage, cpu_stage = snakemake(work, "results/pmemo/inputs.npy", args.cores)
    load_after_stage = os.getloadavg()[0]
    n_inputs = np.load(work / "results/pmemo/inputs.npy", mmap_mode="r").shape[0]
    print(f"stage: {t_stage:.1f} s for {n_inputs} model inputs", flush=True)

    settings = settings_from_config(cfg["preprocessing"], "pmemo")
    rng = np.random.default_rng(0)
    k = n if args.ideal_sample <= 0 else min(n, args.ideal_sample)
    sample = trials.iloc[np.sort(rng.choice(n, size=k, replace=False))]
    t_ours = 0.0
    used = 0
    rates: set[float] = set()
    solved: list[tuple[np.ndarray, float, dict]] = []
    with np.load(work / "results/pmemo/raw_eda.npz") as raw:
        for row in sample.itertuples(index=False):
            try:
                z, fs = stage_signal(raw[row.trial_id], float(row.fs), settings)
            except Exception:  # noqa: BLE001 - excluded trials cost no solve
                continue
            t0 = time.process_time()
            cvxeda(z, fs, **settings.cvxeda)
            t_ours += time.process_time() - t0
            used += 1
            rates.add(round(fs, 3))
            solved.append((z, fs, settings.cvxeda))
    # The same solves in `cores` worker processes, timed by the wall clock: the ideal under the
    # machine's load at this moment (the stage's wall time shares that load).
    from multiprocessing import Pool

    chunks = [solved[i :: args.cores] for i in range(args.cores)]
    t0 = time.perf_counter()
    with Pool(args.cores) as pool:
        pool.map(own_chunk, chunks)
    scale = n / used
    ideal_wall_now = (time.perf_counter() - t0) * scale
    ideal = t_ours * scale / args.cores
    load = os.getloadavg()
    n_batches = len(list((work / "results/pmemo/decomposed").glob("batch*.npz")))
    p1 = t_stage / ideal
    rows = [
        {"quantity": "trials", "value": n},
        {"quantity": "batch jobs (batch_size)",
         "value": f"{n_batches} ({cfg['decomposition']['batch_size']})"},
        {"quantity": "solve rate (Hz): preprocessing.resample_hz",
         "value": f"{sorted(rates)} ({settings.resample_hz})"},
        {"quantity": "stage wall time via Snakemake (s)", "value": round(t_stage, 1)},
        {"quantity": "stage CPU time, Snakemake + all jobs (s)", "value": round(cpu_stage, 1)},
        {"quantity": f"ideal = sum of our solves (CPU s) / {args.cores} cores",
         "value": round(ideal, 1)},
        {"quantity": f"ideal under current load: our solves in {args.cores} processes, "
                     "wall (s)", "value": round(ideal_wall_now, 1)},
        {"quantity": "P1: stage wall / ideal (goal <= 1.1)", "value": round(p1, 2)},
        {"quantity": "stage wall / ideal under current load",
         "value": round(t_stage / ideal_wall_now, 2)},
        {"quantity": f"stage CPU / {args.cores} / ideal (load-independent)",
         "value": round(cpu_stage / args.cores / ideal, 2)},
    ]
    print(tabulate(rows, headers="keys", tablefmt="github"))
    print(f"P1 (stage wall <= 1.1 x own solve CPU / cores, {n} trials): measured ratio "
          f"{p1:.2f}: {'met' if p1 <= 1.1 else 'NOT met'}")
    print(f"ideal estimated from {used} of {n} trials ({k} sampled, excluded ones skipped); "
          f"1-min load average {load_before:.2f} before the stage, {load_after_stage:.2f} after "
          f"it, {load[0]:.2f} at the end, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
