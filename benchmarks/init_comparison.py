"""Initialisation: weights ~ N(0, 0.01) (the paper's text read as a std) vs N(0, 0.1) (read as a
variance, our default), on the demo's synthetic data, same folds, epochs and seeds.

Trains one experiment on one dataset through the workflow's own training functions
(`edaffect.training.trainer.load_fold_data` + `train_and_test`) on the stage files of a finished run
(results/{dataset}/splits.csv, labels.csv, inputs.npy, ...), and prints per-std test accuracy
(mean ± std over folds), the paired difference (corrected resampled t-test), the mean training
loss drop from epoch 1 to the last epoch and how often the validation curve stayed flat.

    nice .venv/bin/python benchmarks/init_comparison.py --workdir /tmp/wd --experiment r_f \\
        --dataset pmemo --dimensions valence arousal        # docs/initialisation.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

from edaffect.models import build_model
from edaffect.reporting.statistics import corrected_resampled_ttest, format_comparison
from edaffect.training.paths import network_fold_inputs
from edaffect.training.trainer import (
    TrainingSettings,
    fold_seed,
    load_fold_data,
    train_and_test,
    tune_malloc,
)

DEFAULTS = {"modules": [], "music": False, "input": "eda", "fraction": 1.0, "depth": 1,
            "channels": [64, 64, 64, 64]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="folder holding results/ of a run")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--experiment", default="r_f")
    parser.add_argument("--dataset", default="pmemo")
    parser.add_argument("--dimensions", nargs="+", default=["valence", "arousal"])
    parser.add_argument("--stds", nargs="+", type=float, default=[0.01, 0.1])
    parser.add_argument("--folds", type=int, default=10)
    args = parser.parse_args()
    tune_malloc()
    config = yaml.safe_load(Path(args.config).read_text())
    experiment = {**DEFAULTS, **config["experiments"][args.experiment], "name": args.experiment}
    root = Path(args.workdir)
    inputs = {k: str(root / v) for k, v in network_fold_inputs(experiment, args.dataset).items()}
    training = config["training"]
    print(f"{args.experiment} on {args.dataset}, {args.folds} folds, epochs "
          f"{training['epochs']}, batch {training['batch_size']}, lr {training['lr']}, "
          f"seed {config['seed']}")
    for dimension in args.dimensions:
        scores: dict[float, list[float]] = {s: [] for s in args.stds}
        drops: dict[float, list[float]] = {s: [] for s in args.stds}
        flat: dict[float, int] = {s: 0 for s in args.stds}
        ratios = []
        for fold in range(args.folds):
            train, val, test, info = load_fold_data(experiment, dimension, fold, **inputs)
            ratios.append(len(test) / len(train))
            spec = {"experiment": experiment, "in_channels": info["in_channels"],
                    "input_length": info["input_length"], "music_dim": info["music_dim"]}
            for std in args.stds:
                settings = TrainingSettings.from_config(
                    {**training, "init_std": std, "device": "cpu"}, experiment,
                    seed=fold_seed(config["seed"], args.experiment, args.dataset, dimension,
                                   fold), threads=1,
                )
                started = time.process_time()
                result = train_and_test(lambda spec=spec: build_model(**spec), train, val, test,
                                        settings, None)
                m = result.metrics
                scores[std].append(m["accuracy"])
                losses = m["train_loss_curve"]
                drops[std].append(losses[0] - losses[-1])
                flat[std] += int(len(set(np.round(m["val_curve"], 6))) == 1)
                print(f"  {dimension} fold {fold} std {std}: acc {m['accuracy']:.3f} train loss "
                      f"{losses[0]:.4f} -> {losses[-1]:.4f} val {m['val_curve']} "
                      f"({time.process_time() - started:.1f} CPU-s)", flush=True)
        print(f"\n{dimension}:")
        for std in args.stds:
            acc = np.array(scores[std]) * 100
            print(f"  std {std}: accuracy {acc.mean():.1f} ± {acc.std(ddof=1):.1f} %, train-loss "
                  f"drop {np.mean(drops[std]):.4f}, flat validation curve in {flat[std]} of "
                  f"{args.folds} folds")
        if len(args.stds) == 2:
            lo, hi = args.stds
            diff = np.array(scores[hi]) - np.array(scores[lo])
            result = corrected_resampled_ttest(diff, float(np.mean(ratios)))
            print(f"  std {hi} − std {lo}: {format_comparison(result)}")


if __name__ == "__main__":
    main()
