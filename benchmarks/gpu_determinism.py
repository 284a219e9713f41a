"""Which training results repeat bit for bit on a GPU, and what switches make them (issue 18.5;
docs/robustness.md, Determinism).

Trains one RTCAN-1D fold (edaffect.training.trainer.train_and_test, seeded, synthetic data with a
planted
effect) twice in fresh processes per mode and compares the test probabilities and the final
weights of the two runs:
  cpu            - CPU (deterministic algorithms on, as training.py sets them there)
  cuda           - CUDA with PyTorch's defaults (what training.py does on a GPU)
  cuda-det       - CUDA with CUBLAS_WORKSPACE_CONFIG=:4096:8, torch.use_deterministic_algorithms
                   (True), cudnn.deterministic = True, cudnn.benchmark = False
  cuda-amp       - CUDA with bfloat16 autocast (training.amp), deterministic switches on
and, across modes, how far CPU and GPU results are apart.

    PYTHONPATH=src python3 benchmarks/gpu_determinism.py [--epochs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODES = ("cpu", "cuda", "cuda-det", "cuda-amp")


def child(mode: str, out: Path, epochs: int, n: int, length: int) -> None:
    """One training in this process; probabilities and flattened weights to `out` (.npz)."""
    if mode in ("cuda-det", "cuda-amp"):
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"  # before CUDA initialises cuBLAS
    import torch

    from edaffect.models import build_model
    from edaffect.training.trainer import FoldData, TrainingSettings, train_and_test

    if mode in ("cuda-det", "cuda-amp"):
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    t = np.linspace(0, 1, length, dtype=np.float32)
    x = rng.normal(size=(n, 3, length)).astype(np.float32)
    x[:, 1] += (y[:, None] * 0.8) * np.sin(6 * np.pi * t)  # planted effect in the phasic channel
    music = rng.normal(size=(n, 32)).astype(np.float32)
    roles = np.array_split(np.arange(n), [int(0.6 * n), int(0.8 * n)])
    data = [FoldData(x[r], y[r], [f"t{i}" for i in r], [f"s{i % 20}" for i in r], music[r])
            for r in roles]
    settings = TrainingSettings(
        epochs=epochs, batch_size=64, lr=0.01, lr_decay=0.9, lr_step_epochs=15, momentum=0.9,
        weight_decay=5e-4, init="normal", init_std=0.1, patience=0,
        device="cpu" if mode == "cpu" else "cuda",
        amp=(mode == "cuda-amp"), threads=4, checkpoint_every=1000, seed=7,
    )
    experiment = {"model": "rtcan1d", "modules": ["sca_res", "sca", "rnta"], "music": True}
    start = time.perf_counter()
    result = train_and_test(lambda: build_model(experiment, 3, length, 32), *data, settings, None)
    seconds = time.perf_counter() - start
    weights = np.concatenate([v.detach().cpu().double().ravel().numpy()
                              for v in result.state_dict.values() if v.is_floating_point()])
    np.savez(out, prob=result.predictions["p_high"].to_numpy(np.float64), weights=weights,
             seconds=seconds,
             device=str(torch.cuda.get_device_name() if mode != "cpu" else "cpu"),
             torch=torch.__version__)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--out")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.out), args.epochs, args.n, args.length)
        return 0
    tmp = Path(tempfile.mkdtemp())
    runs: dict[str, list[dict]] = {}
    for mode in MODES:
        for k in range(2):
            out = tmp / f"{mode}-{k}.npz"
            proc = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--out", str(out), "--epochs",
                 str(args.epochs), "--n", str(args.n), "--length", str(args.length)],
                capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{mode} run {k} failed:\n{proc.stderr[-3000:]}")
                runs.setdefault(mode, [])
                break
            runs.setdefault(mode, []).append(dict(np.load(out)))
    report = {}
    for mode, pair in runs.items():
        if len(pair) < 2:
            report[mode] = {"failed": True}
            continue
        a, b = pair
        report[mode] = {
            "device": str(a["device"]), "torch": str(a["torch"]),
            "seconds": [float(a["seconds"]), float(b["seconds"])],
            "predictions_identical": bool(np.array_equal(a["prob"], b["prob"])),
            "weights_identical": bool(np.array_equal(a["weights"], b["weights"])),
            "max_prob_diff": float(np.max(np.abs(a["prob"] - b["prob"]))),
            "max_weight_diff": float(np.max(np.abs(a["weights"] - b["weights"]))),
        }
    if runs.get("cpu") and runs.get("cuda-det"):
        cpu, gpu = runs["cpu"][0], runs["cuda-det"][0]
        report["cpu_vs_cuda_det"] = {
            "max_prob_diff": float(np.max(np.abs(cpu["prob"] - gpu["prob"]))),
            "max_weight_diff": float(np.max(np.abs(cpu["weights"] - gpu["weights"]))),
            "same_decisions": float(np.mean((cpu["prob"] > 0.5) == (gpu["prob"] > 0.5))),
        }
    print(json.dumps(report, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
