"""Our cvxEDA solve vs the PyPI reference (`cvxeda`) on real EDA: time ratio and max |Δ|.

Signals (all from the real NeuroKit2 recording in tests/data, z-scored):
1,750 samples (35 s at 50 Hz, a PMEmo trial), 7,680 (60 s at 128 Hz, DEAP), 11,520 (90 s at
128 Hz, AMIGOS-length) and a 20-minute recording (the 150-s recording mirrored to 1,200 s at
100 Hz, 120,000 samples).  One BLAS thread, best of --repeats runs each, CPU time
(load-robust) and wall time.

    .venv/bin/python benchmarks/cvxeda_speed.py [--repeats 5] [--skip-long]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402
from tabulate import tabulate  # noqa: E402

from edaffect.signal.decomposition import cvxeda  # noqa: E402

TEST_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def zscore(y: np.ndarray) -> np.ndarray:
    return (y - y.mean()) / y.std()


def signals() -> list[tuple[str, np.ndarray, float]]:
    eda = pd.read_csv(TEST_DATA / "real-eda-neurokit/bio_eventrelated_100hz.csv")["EDA"]
    eda = eda.to_numpy(dtype=float)
    return [
        ("PMEmo trial (35 s @ 50 Hz)", zscore(resample_poly(eda[2000:5500], 1, 2)), 50.0),
        ("DEAP trial (60 s @ 128 Hz)", zscore(resample_poly(eda[1000:7000], 32, 25)), 128.0),
        ("AMIGOS-length (90 s @ 128 Hz)", zscore(resample_poly(eda[3000:12000], 32, 25)), 128.0),
        ("20-min recording (@ 100 Hz)", zscore(np.concatenate([eda, eda[::-1]] * 4)), 100.0),
    ]


def best_time(fn, repeats: int):
    """(best wall seconds, best CPU seconds, result) over `repeats` calls."""
    wall = cpu = np.inf
    out = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, out


def reference(y: np.ndarray, fs: float):
    import cvxeda as ref

    with contextlib.redirect_stdout(io.StringIO()):
        return ref.cvxEDA(y, 1.0 / fs, options={"show_progress": False})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-long", action="store_true", help="leave out the 20-min recording")
    args = parser.parse_args()
    rows = []
    for name, y, fs in signals():
        if args.skip_long and y.size > 50_000:
            continue
        reps = 1 if y.size > 50_000 else args.repeats
        w_ours, c_ours, ours = best_time(lambda y=y, fs=fs: cvxeda(y, fs), reps)
        w_ref, c_ref, (r, p, t, *_rest) = best_time(
            lambda y=y, fs=fs: list(reference(y, fs)), reps)
        rows.append({
            "signal": name, "samples": y.size,
            "ours CPU (s)": round(c_ours, 4), "reference CPU (s)": round(c_ref, 4),
            "speed-up (CPU)": round(c_ref / c_ours, 2),
            "speed-up (wall)": round(w_ref / w_ours, 2),
            "max|Δ| phasic": f"{np.abs(ours.phasic - r).max():.1e}",
            "max|Δ| tonic": f"{np.abs(ours.tonic - t).max():.1e}",
            "max|Δ| driver / max p": f"{np.abs(ours.driver - p).max() / np.abs(p).max():.1e}",
            "status": ours.status,
        })
        print(f"done: {name}", flush=True)
    load = os.getloadavg()
    print(tabulate(rows, headers="keys", tablefmt="github"))
    print(f"load average during the run: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
          f"on {os.cpu_count()} cores; best of {args.repeats} (1 run for the 20-min recording)")


if __name__ == "__main__":
    main()
