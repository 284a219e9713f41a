"""One GPU, many folds: R_f training throughput, one fold vs 10 folds sequential vs vectorised.

For R_f at the paper's input lengths (PMEmo 2,000 with 6,373 music features; DEAP and AMIGOS
7,680, EDA only) and batch 256, prints samples/s of: one fold, 10 folds one after the other
(the packed path), 10 folds vectorised (edaffect.training.fold_stack.FoldStack, the trainer's own
step), each with bfloat16 autocast off and on, the peak GPU memory, and the projected wall time of
every network training of the paper-scale study (config.yaml + config/paper-scale.yaml) on this
device.  On a GPU it also checks that vectorised and sequential training agree there and that the
device pool hands this process one GPU.  On CPU it runs reduced sizes (shorter inputs, small
batches, fewer folds) and prints the same ratios.

    PYTHONPATH=src python3 benchmarks/gpu_study.py --quick --json results.json   # < 4 min on GPU
    .venv/bin/python benchmarks/gpu_study.py --quick                             # CPU, ~2 min

Projection model: per (experiment, dataset, dimension, fold) the work is n_train x epochs
training samples plus (n_val x epochs + n_test) forward-only samples (counted as 1/3 of a
training sample), scaled from R_f by the experiment's forward FLOPs at the dataset's length;
Res-SIN is timed directly (its own network, sequential only); job start-up (interpreter, torch,
CUDA context) is measured once and paid per job.  Preprocessing (cvxEDA, CPU) is not included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from edaffect.models import build_model, init_normal  # noqa: E402
from edaffect.training.fold_stack import FoldStack  # noqa: E402
from edaffect.training.trainer import TrainingSettings  # noqa: E402

R_F = {"name": "r_f", "model": "rtcan1d", "modules": ["sca_res", "sca", "rnta"], "music": True,
       "depth": 1, "channels": [64, 64, 64, 64]}
# dataset -> (paper length, music features fused by music experiments); AMIGOS has DEAP's shape
PAPER = {"pmemo": (2000, 6373), "deap": (7680, 0), "amigos": (7680, 0)}
DATASET_FS = {"pmemo": 50.0, "deap": 128.0, "amigos": 128.0}
NETWORKS = ("rtcan1d", "cnn3")
EVAL_COST = 1 / 3  # a forward-only sample costs about a third of a training sample


def settings(**kw) -> TrainingSettings:
    values = {"epochs": 1, "batch_size": 256, "lr": 1e-3, "lr_decay": 0.9, "lr_step_epochs": 15,
              "momentum": 0.9, "weight_decay": 5e-4, "init": "normal", "init_std": 0.1,
              "patience": 0, "device": "auto", "amp": False, "threads": 1, "checkpoint_every": 1,
              "seed": 0}
    values.update(kw)
    return TrainingSettings(**values)


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def models_for(experiment, k, length, music_dim, device):
    out = []
    for f in range(k):
        torch.manual_seed(f)
        m = build_model(experiment, 3, length, music_dim)
        init_normal(m, 0.1)
        out.append(m.to(device).train())
    return out


def batch(k, b, length, music_dim, device):
    x = torch.randn(k, b, 3, length, device=device)
    y = torch.randint(0, 2, (k, b), device=device)
    music = torch.randn(k, b, music_dim, device=device) if music_dim else None
    return x, y, music


def rate_single(models, data, steps, amp, device) -> float:
    """Samples/s of forward + backward + SGD, each model `steps` steps after one warm-up (the
    packed path trains the folds one after the other: len(models) > 1 is '10 folds sequential')."""
    x, y, music = data
    opts = [torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
            for m in models]
    done, elapsed = 0, 0.0
    for m, opt in zip(models, opts, strict=True):
        for i in range(steps + 1):
            if i == 1:
                sync(device)
                started = time.perf_counter()
            with torch.autocast(device.type, torch.bfloat16, enabled=amp):
                logits = m(x[0], None if music is None else music[0])
            loss = torch.nn.functional.cross_entropy(logits.float(), y[0])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync(device)
        elapsed += time.perf_counter() - started
        done += steps * x.shape[1]
    return done / elapsed


def rate_vectorised(models, data, steps, amp, device) -> float:
    """Samples/s (all folds together) of FoldStack.train_step, the vectorised trainer's step."""
    stack = FoldStack(models, device)
    rows = list(range(len(models)))
    s = settings(device=device.type)
    for i in range(steps + 1):
        if i == 1:
            sync(device)
            started = time.perf_counter()
        stack.train_step(rows, *data, s, 1e-3, amp)
    sync(device)
    return steps * data[0].shape[0] * data[0].shape[1] / (time.perf_counter() - started)


def peak_reset(device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def measure(name, length, music_dim, args, device) -> dict:
    """All rates of one input shape; the vectorised fold count halves until it fits memory."""
    out = {"dataset": name, "length": length, "music_dim": music_dim, "batch": args.batch}
    print(f"\n{name}: R_f, L = {length}, music {music_dim}, batch {args.batch}", flush=True)
    for amp in (False, True) if device.type == "cuda" else (False,):
        tag = "bf16" if amp else "fp32"
        try:
            peak_reset(device)
            models = models_for(R_F, args.folds, length, music_dim, device)
            data = batch(1, args.batch, length, music_dim, device)
            out[f"one_fold_{tag}"] = rate_single(models[:1], data, args.steps, amp, device)
            out[f"peak_one_fold_{tag}_gib"] = peak_gib(device)
            out[f"sequential_{tag}"] = rate_single(models, data, max(1, args.steps // 2), amp,
                                                   device)
            del data
        except RuntimeError as exc:
            if not is_oom(exc):
                raise
            print(f"  {tag}: one fold does not fit in memory at batch {args.batch}")
            continue
        k = args.folds
        while k >= 1:
            try:
                peak_reset(device)
                data = batch(k, args.batch, length, music_dim, device)
                out[f"vectorised_{tag}"] = rate_vectorised(models[:k], data, args.steps, amp,
                                                           device)
                out[f"vectorised_{tag}_folds"] = k
                out[f"peak_vectorised_{tag}_gib"] = peak_gib(device)
                break
            except RuntimeError as exc:
                if not is_oom(exc):
                    raise
                print(f"  {tag}: {k} folds at once do not fit in memory; trying {k // 2}",
                      flush=True)
                data = None
                k //= 2
        del models
        peak_reset(device)
        print(f"  {tag}: one fold {out.get(f'one_fold_{tag}', float('nan')):8.0f} samples/s | "
              f"{args.folds} folds sequential {out.get(f'sequential_{tag}', float('nan')):8.0f} | "
              f"{out.get(f'vectorised_{tag}_folds', 0)} folds vectorised "
              f"{out.get(f'vectorised_{tag}', float('nan')):8.0f} -> x"
              f"{out.get(f'vectorised_{tag}', float('nan')) / out[f'sequential_{tag}']:.2f}; "
              f"peak {out.get(f'peak_one_fold_{tag}_gib', float('nan')):.1f} GiB (one fold), "
              f"{out.get(f'peak_vectorised_{tag}_gib', float('nan')):.1f} GiB (vectorised)",
              flush=True)
    return out


def ressin_rate(args, device, amp) -> float:
    """Samples/s of one Res-SIN model (paper size: 224 images, 196 crops, ResNet-18 widths)."""
    side = 224 if device.type == "cuda" else 112
    exp = {"model": "ressin", "music": True, "channels": [64, 128, 256, 512],
           "crop_size": side * 7 // 8}
    model = build_model(exp, 1, side, 6373).to(device).train()
    b = 100 if device.type == "cuda" else 8
    x = torch.randn(1, b, 1, side, side, device=device)
    data = (x, torch.randint(0, 2, (1, b), device=device), torch.randn(1, b, 6373, device=device))
    rate = rate_single([model], data, max(2, args.steps), amp, device)
    return rate * (side / 224) ** 2 if side != 224 else rate  # CPU: scaled to 224 by pixels


# ---------------------------------------------------------------------------- projection


def merged_config() -> dict:
    def merge(a, b):
        for key, value in b.items():
            if isinstance(value, dict) and isinstance(a.get(key), dict):
                merge(a[key], value)
            else:
                a[key] = value
        return a

    base = yaml.safe_load((ROOT / "config.yaml").read_text())
    return merge(base, yaml.safe_load((ROOT / "config" / "paper-scale.yaml").read_text()))


def n_trials(config: dict, dataset: str) -> int:
    synth = config["datasets"][dataset]["synthetic"]
    if dataset == "pmemo":
        return int(synth.get("n_trials") or synth["n_songs"] * synth["listeners_per_song"])
    return int(synth["n_subjects"]) * (40 if dataset == "deap" else 16)


def forward_flops(experiment: dict, dataset: str, music_dim: int) -> float:
    """Forward FLOPs of one sample at the dataset's paper length (meta tensors: no compute)."""
    length = PAPER[dataset][0]
    if experiment["model"] == "cnn3":
        length, channels = 128, 1
    else:
        channels = 3
    model = build_model(experiment, channels, length, music_dim).to("meta").eval()
    x = torch.empty(1, channels, length, device="meta")
    music = torch.empty(1, music_dim, device="meta") if music_dim else None
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, music)
    return float(counter.get_total_flops())


def projection(results: dict, ressin: float | None, startup_s: float, args) -> dict:
    """Projected wall time of every trained network of the paper-scale study on this device,
    for each measured precision: folds one after the other vs vectorised."""
    config = merged_config()
    n_folds = int(config["split"]["n_folds"])
    dims = len(config["dimensions"])
    training = config["training"]
    tags = [t for t in ("fp32", "bf16") if f"sequential_{t}" in results["pmemo"]]
    rows = []
    total = {f"{m}_{t}": 0.0 for t in tags for m in ("sequential", "vectorised")}
    total.update(per_fold_jobs=0, packed_jobs=0)
    flops_rf = {d: forward_flops(R_F, d, PAPER[d][1]) for d in PAPER}
    for name, exp in sorted(config["experiments"].items()):
        exp = {"name": name, **exp}
        model = exp["model"]
        if model not in (*NETWORKS, "ressin"):
            continue
        for dataset in exp["datasets"]:
            n = n_trials(config, dataset) * float(exp.get("fraction", 1.0))
            n_train, n_val = n * (n_folds - 2) / n_folds, n / n_folds
            row = {"experiment": name, "dataset": dataset}
            if model == "ressin":
                epochs = int(config["ressin"]["epochs"])
                units = (n_train * epochs + EVAL_COST * (n_val * epochs + n_val)) * n_folds * dims
                for t in tags:  # Res-SIN: timed in fp32, folds one after the other
                    row[f"sequential_{t}"] = row[f"vectorised_{t}"] = (
                        units / ressin if ressin else float("nan"))
            else:
                epochs = int(exp.get("epochs", training["epochs"]))
                music = PAPER[dataset][1] if exp.get("music") else 0
                scale = forward_flops(exp, dataset, music) / flops_rf[dataset]
                units = (n_train * epochs + EVAL_COST * (n_val * epochs + n_val)) * scale
                units *= n_folds * dims
                r = results[dataset]
                for t in tags:  # a shape that did not fit in memory: nan
                    seq = r.get(f"sequential_{t}", float("nan"))
                    row[f"sequential_{t}"] = units / seq
                    row[f"vectorised_{t}"] = units / r.get(f"vectorised_{t}", seq)
            rows.append(row)
            for key in total:
                if key in row:
                    total[key] += row[key]
            total["per_fold_jobs"] += n_folds * dims
            total["packed_jobs"] += dims
    total["startup_per_fold_s"] = total["per_fold_jobs"] * startup_s
    total["startup_packed_s"] = total["packed_jobs"] * startup_s
    print(f"\nProjected training wall time (hours) of the paper-scale study on this device "
          f"({len(rows)} (experiment, dataset) pairs x {dims} dimensions x {n_folds} folds; "
          f"config precision: {'bf16' if training.get('amp') else 'fp32'}):")
    cols = [f"{m}_{t}" for t in tags for m in ("sequential", "vectorised")]
    print(f"{'experiment':<16}{'dataset':<9}" + "".join(f"{c:>18}" for c in cols))
    for row in rows:
        print(f"{row['experiment']:<16}{row['dataset']:<9}"
              + "".join(f"{row[c] / 3600:>18.2f}" for c in cols))
    print(f"{'total':<25}" + "".join(f"{total[c] / 3600:>18.2f}" for c in cols))
    print(f"start-up on top: {total['per_fold_jobs']} per-fold jobs "
          f"{total['startup_per_fold_s'] / 3600:.2f} h, {total['packed_jobs']} packed/vectorised "
          f"jobs {total['startup_packed_s'] / 3600:.2f} h ({startup_s:.1f} s per job)")
    best = float(np.nanmin([total[c] for c in cols])) + total["startup_packed_s"]
    print(f"best: {best / 3600:.2f} h for the whole study on one device (goal: <= 2 h on one "
          f"H100-class GPU) -> {'met' if best <= 7200 else 'NOT met'}")
    total["best_s"] = best
    total["rows"] = rows
    return total


def model_bytes(experiment: dict, dataset: str, config: dict) -> int:
    """Bytes of one fold's model.pt state (float32 parameters and buffers) under `config`."""
    music = 6373 if experiment.get("music") and dataset == "pmemo" else 0
    if experiment["model"] == "ressin":
        r = config["ressin"]
        exp = {**experiment, "channels": r["channels"], "crop_size": r["crop_size"],
               "batch_norm": r["batch_norm"]}
        model = build_model(exp, 1, int(r["image_size"]), music)
    elif experiment["model"] == "cnn3":
        model = build_model(experiment, 1, 128)
    else:
        length = config["preprocessing"]["length"][dataset]
        model = build_model(experiment, 3, int(length), music)
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def storage_report(config: dict, label: str) -> dict:
    """model.pt bytes of every trained network fold under `config` (all kept vs only the
    folds that Figs. 5-8 read: figures.gradcam_experiments on gradcam_dataset, last fold)."""
    n_folds, dims = int(config["split"]["n_folds"]), len(config["dimensions"])
    figures = config.get("figures", {})
    read = set(figures.get("gradcam_experiments", []))
    all_bytes = kept = 0
    for name, exp in config["experiments"].items():
        if exp["model"] not in (*NETWORKS, "ressin"):
            continue
        for dataset in exp["datasets"]:
            size = model_bytes(exp, dataset, config)
            all_bytes += size * n_folds * dims
            if name in read and dataset == figures.get("gradcam_dataset"):
                kept += size * dims
    print(f"model.pt files ({label}): all folds {all_bytes / 2**30:.2f} GiB; only those an output "
          f"reads (Grad-CAM figures) {kept / 2**20:.1f} MiB")
    return {"all_bytes": all_bytes, "read_bytes": kept}


def default_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def startup_seconds(device) -> float:
    """Wall time for a fresh job to import torch + edaffect.training.trainer and touch the
    device."""
    code = ("import torch, edaffect.training.trainer, edaffect.training.vectorised; "
            f"torch.zeros(1, device='{device.type}').sum().item()")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=300)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- CUDA checks


def check_agreement(device, amp: bool = False) -> dict:
    """Three small folds trained sequentially and vectorised on this device: chosen epochs,
    test predictions and the largest weight difference (CUDA: TF32 and atomics apply)."""
    from edaffect.training.trainer import FoldData, train_and_test
    from edaffect.training.vectorised import train_and_test_folds

    exp = dict(R_F, channels=[8, 8, 8, 8], name="tiny")
    rng = np.random.default_rng(0)

    def fold(n, prefix):
        y = rng.permutation(np.arange(n) % 2)
        x = rng.normal(0, 0.7, (n, 3, 48)).astype(np.float32)
        x[:, 1, 10:20] += y[:, None]
        m = rng.normal(0, 1, (n, 4)).astype(np.float32) + 0.5 * y[:, None]
        return FoldData(x, y, [f"{prefix}{i}" for i in range(n)], ["s"] * n, m)

    data = [tuple(fold(n, f"{f}{r}") for r, n in enumerate(sizes))
            for f, sizes in enumerate([(70, 30, 30), (49, 25, 31), (81, 20, 26)])]
    cfg = [settings(epochs=5, batch_size=16, lr=0.01, seed=s, device=device.type, amp=amp)
           for s in (11, 22, 33)]

    def factory():
        return build_model(exp, 3, 48, 4)

    seq = [train_and_test(factory, *d, s, None) for d, s in zip(data, cfg, strict=True)]
    vec = train_and_test_folds(factory, data, cfg, [None] * 3)
    epochs_same = all(a.metrics["chosen_epoch"] == b.metrics["chosen_epoch"]
                      for a, b in zip(seq, vec, strict=True))
    preds_same = all((a.predictions["y_pred"] == b.predictions["y_pred"]).all()
                     for a, b in zip(seq, vec, strict=True))
    diff = max(float((a.state_dict[k].float() - b.state_dict[k].float()).abs().max())
               for a, b in zip(seq, vec, strict=True) for k in a.state_dict)
    p_diff = max(float(np.abs(a.predictions["p_high"] - b.predictions["p_high"]).max())
                 for a, b in zip(seq, vec, strict=True))
    ok = epochs_same and preds_same
    print(f"\nAgreement on {device.type}{' with bf16' if amp else ''} (3 folds, 5 epochs): "
          "chosen epochs "
          f"{'same' if epochs_same else 'DIFFER'}, test predictions "
          f"{'same' if preds_same else 'DIFFER'}, max |weight diff| {diff:.2e}, max |p diff| "
          f"{p_diff:.2e} -> {'PASS' if ok else 'FAIL'}")
    return {"chosen_epochs_same": epochs_same, "predictions_same": preds_same,
            "max_weight_diff": diff, "max_p_diff": p_diff}


def check_device_pool() -> dict:
    """In a fresh process: the pool claims one GPU of this node before CUDA starts."""
    code = ("import os, json, torch; from edaffect.training.device_pool import acquire_device, "
            "node_devices; pool = node_devices(); c = acquire_device(timeout_s=30); "
            "print(json.dumps({'pool': pool, 'claimed': c.device, 'visible': "
            "os.environ.get('CUDA_VISIBLE_DEVICES'), 'torch_devices': torch.cuda.device_count(),"
            " 'name': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {
        "error": out.stderr[-2000:]}
    ok = result.get("torch_devices") == 1 and result.get("claimed") is not None
    print(f"\nDevice pool: {result} -> {'PASS' if ok else 'FAIL'}"
          " (one GPU here: the pool is not needed, but must hand out that GPU)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed steps (< 4 min GPU)")
    parser.add_argument("--device", default="auto", help="auto | cuda | cpu")
    parser.add_argument("--folds", type=int, default=None, help="default 10 (CPU: 4)")
    parser.add_argument("--batch", type=int, default=None, help="default 256 (CPU: 16)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per measurement")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads")
    parser.add_argument("--json", type=Path, default=None, help="also write all figures here")
    parser.add_argument("--storage", action="store_true",
                        help="only print the model.pt storage of the default and paper studies")
    args = parser.parse_args()
    if args.storage:
        storage_report(default_config(), "config.yaml")
        storage_report(merged_config(), "config.yaml + config/paper-scale.yaml")
        return
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else "cpu" if args.device == "auto" else args.device)
    gpu = device.type == "cuda"
    args.folds = args.folds or (10 if gpu else 4)
    args.batch = args.batch or (256 if gpu else (8 if args.quick else 16))
    args.steps = args.steps or ((5 if args.quick else 20) if gpu else (1 if args.quick else 2))
    torch.set_num_threads(args.threads)
    # CPU runs a reduced size: inputs 1/8 of the paper's length (quick: 1/16)
    shrink = 1 if gpu else (16 if args.quick else 8)
    name = torch.cuda.get_device_name(0) if gpu else "CPU"
    started = time.perf_counter()
    print(f"device {name}, torch {torch.__version__}, folds {args.folds}, batch {args.batch}, "
          f"steps {args.steps}, lengths 1/{shrink} of the paper's"
          f"{', TF32 ' + str(torch.backends.cuda.matmul.allow_tf32) if gpu else ''}", flush=True)
    report = {"device": name, "torch": torch.__version__, "folds": args.folds,
              "batch": args.batch, "steps": args.steps, "length_divisor": shrink, "shapes": {}}
    if gpu:
        report["agreement"] = check_agreement(device)
        report["agreement_bf16"] = check_agreement(device, amp=True)  # casts differ: loose
        report["device_pool"] = check_device_pool()
    shapes = {}
    for dataset in ("pmemo", "deap"):
        length, music = PAPER[dataset]
        shapes[dataset] = measure(dataset, length // shrink, music, args, device)
    shapes["amigos"] = {**shapes["deap"], "dataset": "amigos"}  # same shape as DEAP
    print("\namigos: same input shape as DEAP (7,680 samples, no music): DEAP's figures apply")
    report["shapes"] = shapes
    print("\nRatios (vectorised / sequential, samples/s; bf16 / fp32):")
    for dataset, r in shapes.items():
        for tag in ("fp32", "bf16"):
            if f"vectorised_{tag}" in r:
                ratio = r[f"vectorised_{tag}"] / r[f"sequential_{tag}"]
                print(f"  {dataset:<7}{tag}: vectorised x{ratio:.2f}"
                      f" ({r[f'vectorised_{tag}_folds']} folds at once)")
        if "one_fold_bf16" in r:
            ratio = r["one_fold_bf16"] / r["one_fold_fp32"]
            print(f"  {dataset:<7}bf16/fp32: one fold x{ratio:.2f}"
                  + (f", vectorised x{r['vectorised_bf16'] / r['vectorised_fp32']:.2f}"
                     if "vectorised_bf16" in r and "vectorised_fp32" in r else ""))
    try:
        report["ressin_samples_per_s"] = ressin_rate(args, device, amp=False)
        print(f"\nRes-SIN (224 images, batch {100 if gpu else 8}): "
              f"{report['ressin_samples_per_s']:.3g} samples/s"
              f"{'' if gpu else ' (CPU: timed at 112 px, scaled to 224 by pixels)'}")
    except (RuntimeError, ValueError) as exc:
        print(f"\nRes-SIN timing skipped: {exc}")
        report["ressin_samples_per_s"] = None
    report["startup_s"] = startup_seconds(device)
    if shrink != 1:
        print(f"\n(CPU: rates measured at 1/{shrink} of the paper's lengths are scaled by "
              f"1/{shrink} for the projection: optimistic, the attention is quadratic in L)")
        for r in shapes.values():
            for key in list(r):
                if key.startswith(("one_fold_", "sequential_", "vectorised_")) and \
                        not key.endswith("_folds"):
                    r[key] = r[key] / shrink
    report["projection"] = projection(shapes, report["ressin_samples_per_s"],
                                      report["startup_s"], args)
    report["seconds"] = time.perf_counter() - started
    print(f"\nbenchmark wall time {report['seconds']:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
