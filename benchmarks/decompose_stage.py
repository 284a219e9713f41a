"""The whole decomposition stage through Snakemake on a full-size synthetic PMEmo, vs the ideal.

Ideal = (sum of in-process reference cvxEDA solve times over all trials) / cores, the cost of
the solves alone with perfect parallelism and no workflow overhead.  Goal: stage <= 1.2x ideal.
Steps: (1) write a config with only PMEmo (paper-scale generator settings, 7,962 trials, or
--trials N) into --workdir and build its trial table (not timed); (2) time
`snakemake results/pmemo/inputs.npy --cores C` (decompose_batch jobs + merge, cold cache);
(3) time reference and our solves in-process on a random sample of trials (--ideal-sample) and
scale the mean to all trials.

    nice -n 10 .venv/bin/python benchmarks/decompose_stage.py [--trials 7962] [--cores 2]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
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
from edaffect.signal.preprocessing import clean_signal, read_trials, settings_from_config  # noqa: E402

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


def reference_solve(y: np.ndarray, fs: float) -> None:
    import cvxeda as ref

    with contextlib.redirect_stdout(io.StringIO()):
        ref.cvxEDA(y, 1.0 / fs, options={"show_progress": False})


def reference_chunk(items: list[tuple[np.ndarray, float]]) -> None:
    for z, fs in items:
        reference_solve(z, fs)


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
    t_ref = t_ours = 0.0
    used = 0
    solved: list[tuple[np.ndarray, float]] = []
    with np.load(work / "results/pmemo/raw_eda.npz") as raw:
        for row in sample.itertuples(index=False):
            try:
                y, _ = clean_signal(raw[row.trial_id], float(row.fs), settings)
            except Exception:  # noqa: BLE001 - excluded trials cost no solve
                continue
            z = (y - y.mean()) / y.std()
            t0 = time.process_time()
            reference_solve(z, float(row.fs))
            t1 = time.process_time()
            cvxeda(z, float(row.fs), **settings.cvxeda)
            t2 = time.process_time()
            t_ref += t1 - t0
            t_ours += t2 - t1
            used += 1
            solved.append((z, float(row.fs)))
    # The same reference solves in `cores` worker processes, timed by the wall clock: the ideal
    # under the machine's load at this moment (the stage's wall time shares that load).
    from multiprocessing import Pool

    chunks = [solved[i :: args.cores] for i in range(args.cores)]
    t0 = time.perf_counter()
    with Pool(args.cores) as pool:
        pool.map(reference_chunk, chunks)
    ideal_wall_now = (time.perf_counter() - t0) * n / k
    scale = n / k
    ideal_ref = t_ref * scale / args.cores
    ideal_ours = t_ours * scale / args.cores
    load = os.getloadavg()
    n_batches = len(list((work / "results/pmemo/decomposed").glob("batch*.npz")))
    rows = [
        {"quantity": "trials", "value": n},
        {"quantity": "batch jobs (batch_size)",
         "value": f"{n_batches} ({cfg['decomposition']['batch_size']})"},
        {"quantity": "stage wall time via Snakemake (s)", "value": round(t_stage, 1)},
        {"quantity": "stage CPU time, Snakemake + all jobs (s)", "value": round(cpu_stage, 1)},
        {"quantity": f"ideal = sum of reference solves (CPU s) / {args.cores} cores",
         "value": round(ideal_ref, 1)},
        {"quantity": f"sum of our solves (CPU s) / {args.cores} cores",
         "value": round(ideal_ours, 1)},
        {"quantity": f"ideal under current load: reference solves in {args.cores} processes, "
                     "wall (s)", "value": round(ideal_wall_now, 1)},
        {"quantity": "stage wall / ideal (goal <= 1.2)", "value": round(t_stage / ideal_ref, 2)},
        {"quantity": "stage wall / ideal under current load",
         "value": round(t_stage / ideal_wall_now, 2)},
        {"quantity": f"stage CPU / {args.cores} / ideal (load-independent)",
         "value": round(cpu_stage / args.cores / ideal_ref, 2)},
        {"quantity": "stage CPU / sum of our solves (workflow overhead)",
         "value": round(cpu_stage / (t_ours * scale), 2)},
        {"quantity": "reference / our solve CPU time", "value": round(t_ref / t_ours, 2)},
    ]
    print(tabulate(rows, headers="keys", tablefmt="github"))
    print(f"ideal estimated from {used} of {n} trials ({k} sampled, excluded ones skipped); "
          f"1-min load average {load_before:.2f} before the stage, {load_after_stage:.2f} after "
          f"it, {load[0]:.2f} at the end, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
