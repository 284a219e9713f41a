"""Training throughput of the RTCAN-1D variants (Table 5) and RFE configs (Table 4).

Prints, per network: parameters, forward FLOPs per sample, and samples/s of a full training step
(forward + backward + SGD) at the given input length.  With --fold, also times one whole fold
(train_and_test on random data of the given size), which is what a workflow job spends.

    nice -n 10 .venv/bin/python benchmarks/training_throughput.py              # CPU, L = 2000
    python benchmarks/training_throughput.py --device cuda --batch 256 --fold  # on a GPU
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from edaffect.models import build_model, count_parameters, init_normal
from edaffect.models.rtcan1d import RNTA_POOL
from edaffect.training.trainer import FoldData, TrainingSettings, train_and_test, tune_malloc

TABLE5 = {
    "base": [], "r_a": ["sca_res"], "r_b": ["sca"], "r_c": ["sca_res", "sca"], "r_d": ["rnta"],
    "r_e": ["sca", "rnta"], "r_f": ["sca_res", "sca", "rnta"],
}
TABLE4 = {
    "d1 [64,64,64,64]": (1, [64, 64, 64, 64]), "d1 [64,128,256,512]": (1, [64, 128, 256, 512]),
    "d2 [64,64,64,64]": (2, [64, 64, 64, 64]), "d2 [64,128,256,512]": (2, [64, 128, 256, 512]),
}


def experiment(modules, depth=1, channels=(64, 64, 64, 64), rnta_pool=RNTA_POOL):
    return {"model": "rtcan1d", "modules": list(modules), "music": True, "depth": depth,
            "channels": list(channels), "rnta_pool": rnta_pool}


def rnta_pool_cost(args, device, amp) -> None:
    """RNTA pooling kernel 1 (paper Eq. 10, default) vs 2 (subsampled φ, g) for the RNTA models:
    forward FLOPs and training-step rate at the benchmark's L."""
    print(f"\nRNTA pooling kernel (paper Eq. 10: 1) at L = {args.length}")
    print(f"{'variant':<10}{'kernel':>8}{'MFLOP/sample':>14}{'samples/s':>12}{'per CPU-s':>12}")
    for name in ("r_d", "r_f"):
        for pool in (1, 2):
            model = build_model(experiment(TABLE5[name], rnta_pool=pool), 3, args.length,
                                args.music_dim)
            flops = forward_flops(model, args.length, args.music_dim)
            rate, cpu = step_rate(model, args.length, args.music_dim, args.batch, args.steps,
                                  device, amp)
            print(f"{name:<10}{pool:>8}{flops / 1e6:>14.1f}{rate:>12.0f}{cpu:>12.0f}")


def forward_flops(model, length: int, music_dim: int) -> int:
    model.eval()
    x = torch.randn(1, 3, length)
    music = torch.randn(1, music_dim) if music_dim else None
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, music)
    return int(counter.get_total_flops())


def step_rate(model, length, music_dim, batch, steps, device, amp) -> tuple[float, float]:
    """Samples per wall second and per CPU second (robust on a shared machine) of forward +
    backward + SGD step, after one warm-up step."""
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(batch, 3, length, device=device)
    music = torch.randn(batch, music_dim, device=device) if music_dim else None
    y = torch.randint(0, 2, (batch,), device=device)
    for i in range(steps + 1):
        if i == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            started, cpu = time.perf_counter(), time.process_time()
        with torch.autocast(device.type, torch.bfloat16, enabled=amp):
            loss = torch.nn.functional.cross_entropy(model(x, music).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return batch * steps / wall, batch * steps / cpu


def time_fold(args, device) -> None:
    rng = np.random.default_rng(0)

    def data(n, prefix):
        y = np.arange(n) % 2
        x = rng.normal(size=(n, 3, args.length)).astype(np.float32)
        music = rng.normal(size=(n, args.music_dim)).astype(np.float32) if args.music_dim else None
        return FoldData(x, y, [f"{prefix}{i}" for i in range(n)], ["s"] * n, music)

    train, val, test = data(args.n_train, "t"), data(args.n_val, "v"), data(args.n_val, "e")
    settings = TrainingSettings(epochs=args.epochs, batch_size=args.fold_batch,
                                device=device.type, amp=args.amp, threads=args.threads, seed=1)
    exp = experiment(TABLE5["r_f"])
    started, cpu = time.perf_counter(), time.process_time()
    result = train_and_test(lambda: build_model(exp, 3, args.length, args.music_dim), train, val,
                            test, settings, None)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    m = result.metrics
    print(f"\nOne r_f fold on {device.type}: {args.n_train} train / {args.n_val} val trials, "
          f"L = {args.length}, music {args.music_dim}, {args.epochs} epochs, batch "
          f"{args.fold_batch}: {wall:.2f} s wall, {cpu:.2f} CPU-s in train_and_test "
          f"({m['seconds_per_epoch']:.3f} s per epoch)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=2000, help="input length (paper PMEmo)")
    parser.add_argument("--music-dim", type=int, default=6373)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast (CUDA)")
    parser.add_argument("--table4-rates", action="store_true", help="also time Table 4 configs")
    parser.add_argument("--fold", action="store_true", help="also time one whole r_f fold")
    parser.add_argument("--n-train", type=int, default=400)
    parser.add_argument("--n-val", type=int, default=45)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--fold-batch", type=int, default=256)
    args = parser.parse_args()
    tune_malloc()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    amp = args.amp and device.type == "cuda"
    torch.manual_seed(0)
    print(f"device {device}, threads {args.threads}, L = {args.length}, music "
          f"{args.music_dim}, batch {args.batch}, amp {amp}, torch {torch.__version__}")

    print("\nTable 5 variants (d = 1, c = [64,64,64,64])")
    print(f"{'variant':<10}{'modules':<24}{'params':>12}{'MFLOP/sample':>14}{'samples/s':>12}"
          f"{'per CPU-s':>12}")
    for name, modules in TABLE5.items():
        model = build_model(experiment(modules), 3, args.length, args.music_dim)
        init_normal(model, 0.01)
        flops = forward_flops(model, args.length, args.music_dim)
        rate, cpu = step_rate(model, args.length, args.music_dim, args.batch, args.steps, device,
                              amp)
        print(f"{name:<10}{'+'.join(modules) or '-':<24}{count_parameters(model):>12,}"
              f"{flops / 1e6:>14.1f}{rate:>12.0f}{cpu:>12.0f}")

    print("\nTable 4 RFE configs (all attention modules on)")
    print(f"{'config':<24}{'params':>12}{'MFLOP/sample':>14}{'samples/s':>12}{'per CPU-s':>12}")
    for name, (depth, channels) in TABLE4.items():
        model = build_model(experiment(TABLE5["r_f"], depth, channels), 3, args.length,
                            args.music_dim)
        flops = forward_flops(model, args.length, args.music_dim)
        rate = f"{'-':>12}{'-':>12}"
        if args.table4_rates:
            wall, cpu = step_rate(model, args.length, args.music_dim, args.batch, args.steps,
                                  device, amp)
            rate = f"{wall:>12.0f}{cpu:>12.0f}"
        print(f"{name:<24}{count_parameters(model):>12,}{flops / 1e6:>14.1f}{rate}")

    rnta_pool_cost(args, device, amp)

    cnn = build_model({"model": "cnn3"}, 1, 128)
    print(f"\ncnn3 on 128 features: {count_parameters(cnn):,} parameters")
    if args.fold:
        time_fold(args, device)


if __name__ == "__main__":
    main()
