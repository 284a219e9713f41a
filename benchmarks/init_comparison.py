"""Training-setting comparison (initialisation, budget) on the stage files of a finished run.

Trains experiments through the workflow's own functions
(`edaffect.model_selection.fold_data.load_fold_data` +
`edaffect.training.trainer.train_and_test`: same folds, seeds and data as the workflow) once per
variant of
config `training` and prints, per (experiment, dataset, dimension, variant): test accuracy and F1
(mean ± std over folds), single-class test folds (all predictions one class), mean epochs run and
chosen, CPU-seconds of training, and each variant's paired difference from the first one
(corrected resampled t-test).  docs/initialisation.md and docs/training-budget.md:

    nice .venv/bin/python benchmarks/init_comparison.py --workdir . --config config.yaml \\
        --runs r_f:pmemo rtcag:pmemo r_e:deap r_e:amigos \\
        --variant code:init=code --variant std0.01:init=normal,init_std=0.01 \\
        --variant std0.1:init=normal,init_std=0.1 --jobs 2
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
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


def _value(text: str):
    """A YAML scalar (numbers, booleans, strings)."""
    return yaml.safe_load(text)


def _pairs(text: str) -> dict:
    return {k: _value(v) for k, v in (p.split("=", 1) for p in text.split(",") if p)}


def _schema_training() -> dict:
    from edaffect.io.config_schema import schema_defaults

    return schema_defaults("training")


def _one(task: tuple) -> dict:
    """Train and test one fold under one variant; metrics plus the CPU-seconds it took."""
    (workdir, config, name, dataset, dimension, fold, variant, training) = task
    tune_malloc()
    experiment = {**DEFAULTS, **config["experiments"][name], "name": name}
    inputs = {k: str(Path(workdir) / v)
              for k, v in network_fold_inputs(experiment, dataset).items()}
    train, val, test, info = load_fold_data(experiment, dimension, fold, **inputs)
    spec = {"experiment": experiment, "in_channels": info["in_channels"],
            "input_length": info["input_length"], "music_dim": info["music_dim"]}
    settings = TrainingSettings.from_config(
        {**training, "device": "cpu"}, experiment,
        seed=fold_seed(config["seed"], name, dataset, dimension, fold), threads=1)
    started = time.process_time()
    result = train_and_test(lambda: build_model(**spec), train, val, test, settings, None)
    m = result.metrics
    pred = result.predictions["y_pred"].to_numpy()
    return {"run": f"{name}:{dataset}", "dimension": dimension, "fold": fold,
            "variant": variant, "accuracy": m["accuracy"], "f1": m["f1"],
            "single_class": int(len(set(pred.tolist())) == 1), "epochs_run": m["epochs_run"],
            "chosen_epoch": m["chosen_epoch"], "cpu_s": time.process_time() - started,
            "loss0": m["train_loss_curve"][0], "loss1": m["train_loss_curve"][-1],
            "test_fraction": len(test) / len(train)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=".", help="folder holding results/ of a run")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--runs", nargs="+", default=["r_f:pmemo"], help="experiment:dataset")
    parser.add_argument("--dimensions", nargs="+", default=["valence", "arousal"])
    parser.add_argument("--variant", action="append", default=[],
                        help="name:key=value,... over config training (repeatable)")
    parser.add_argument("--set", default="", help="key=value,... over config training for all")
    parser.add_argument("--folds", type=int, default=0, help="0: config split.n_folds")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    config = yaml.safe_load(Path(args.config).read_text())
    training = {**_schema_training(), **config["training"], **_pairs(args.set)}
    variants = [v.split(":", 1) for v in (args.variant or ["config:"])]
    variants = [(name, {**training, **_pairs(rest)}) for name, rest in variants]
    n_folds = args.folds or int(config["split"]["n_folds"])
    print(f"runs {args.runs}, {n_folds} folds, seed {config['seed']}, base training "
          f"{ {k: training[k] for k in sorted(training) if k not in ('gpu', 'device')} }")
    for name, t in variants:
        print(f"  variant {name}: "
              f"{ {k: v for k, v in t.items() if training.get(k) != v} or 'base'}")
    print("\nrun | dimension | variant | accuracy % | F1 % | single-class folds | epochs run "
          "(chosen) | train loss first -> last | CPU-s | vs first variant", flush=True)
    first = variants[0][0]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for run in args.runs:  # one run at a time, printed as soon as it is done
            tasks = [(args.workdir, config, *run.split(":"), dim, fold, vname, t)
                     for dim in args.dimensions for fold in range(n_folds)
                     for vname, t in variants]
            rows = list(pool.map(_one, tasks))
            for dim in args.dimensions:
                _summarise(rows, run, dim, [v for v, _ in variants], first)


def _summarise(rows: list[dict], run: str, dim: str, names: list[str], first: str) -> None:
    """One line per variant of (run, dimension)."""
    base = [r for r in rows if r["dimension"] == dim and r["variant"] == first]
    for vname in names:
        sub = [r for r in rows if r["dimension"] == dim and r["variant"] == vname]
        acc = np.array([r["accuracy"] for r in sub]) * 100
        f1 = np.array([r["f1"] for r in sub]) * 100
        cmp = ""
        if vname != first:
            diff = acc - np.array([r["accuracy"] for r in base]) * 100
            ratio = float(np.mean([r["test_fraction"] for r in sub]))
            cmp = format_comparison(corrected_resampled_ttest(diff / 100, ratio))
        print(f"{run} | {dim} | {vname} | {acc.mean():.1f} ± {acc.std(ddof=1):.1f} | "
              f"{f1.mean():.1f} | {sum(r['single_class'] for r in sub)}/{len(sub)} | "
              f"{np.mean([r['epochs_run'] for r in sub]):.1f} "
              f"({np.mean([r['chosen_epoch'] for r in sub]):.1f}) | "
              f"{np.mean([r['loss0'] for r in sub]):.3f} -> "
              f"{np.mean([r['loss1'] for r in sub]):.3f} | "
              f"{sum(r['cpu_s'] for r in sub):.1f} | {cmp}", flush=True)


if __name__ == "__main__":
    main()
