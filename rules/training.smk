# Per-fold training of the networks: RTCAN-1D / RTCAG (model rtcan1d, Tables 3-6) and the 3-layer
# CNN on the hand-crafted EDA features (model cnn3, Table 3), one job per (experiment, dataset,
# dimension, fold).  The epoch is chosen on the validation fold, the test fold is scored once.
# A killed job resumes from results/runs/.../fold{fold}/checkpoint/ when rerun.
# Outputs are requested by the reporting stage's tables (nothing is added to ALL_TARGETS here).
# Package code: edaffect.models, edaffect.training.

import re

from edaffect.training_paths import network_fold_inputs


TRAINING = config["training"]
TRAINING_GPU = bool(TRAINING.get("gpu", False))
NETWORK_EXPERIMENTS = sorted(
    n for n in EXPERIMENTS if experiment_config(n)["model"] in ("rtcan1d", "cnn3")
)
# Only these experiments' names match, so svm_fold (baselines.smk) and Res-SIN never compete.
NETWORK_EXPERIMENT_REGEX = "|".join(re.escape(n) for n in NETWORK_EXPERIMENTS) or "(?!)"
# GPU jobs (SLURM): one GPU and a few cores each; CPU jobs: `training.threads` cores.  On one
# local GPU, `--resources gpu=N` runs N small fold trainings side by side on that device.
TRAINING_RESOURCES = (
    {"gpu": 1, "cpus_per_gpu": 4, "mem_mb": 16000, "runtime": 120}
    if TRAINING_GPU
    else {"mem_mb": 3000, "runtime": 60}
)


# Local runs pay ~2.7 CPU-s per job to start Python, import torch and load a fold's data, more
# than a demo fold's training.  With `training.pack_folds: true` one job trains every fold of an
# (experiment, dataset, dimension) in one process (same code, same outputs, same seeds); on a
# cluster (profiles/slurm) set it false to get one GPU job per fold.
PACK_FOLDS = bool(TRAINING.get("pack_folds", False))


if PACK_FOLDS:

    rule train_network_folds:
        input:
            # folds, labels, signals (or cnn3's hand-crafted features), song features if fused
            unpack(
                lambda wildcards: network_fold_inputs(
                    experiment_config(wildcards.experiment), wildcards.dataset
                )
            ),
        output:
            metrics=packed_fold_outputs("metrics.json"),
            predictions=packed_fold_outputs("predictions.csv"),
            model=packed_fold_outputs("model.pt"),
        wildcard_constraints:
            experiment=NETWORK_EXPERIMENT_REGEX,
        params:
            experiment=lambda wildcards: experiment_config(wildcards.experiment),
            training=TRAINING,
            seed=int(config["seed"]),
            folds=FOLDS,
        threads: 1 if TRAINING_GPU else int(TRAINING.get("threads", 1))
        resources:
            **{
                **TRAINING_RESOURCES,
                "runtime": TRAINING_RESOURCES["runtime"] * max(1, len(FOLDS) // 2),
            },
        log:
            "results/logs/train_network_folds/{experiment}/{dataset}/{dimension}.log",
        benchmark:
            "results/benchmarks/train_network_folds/{experiment}/{dataset}/{dimension}.tsv"
        conda:
            "../envs/edaffect.yaml"
        script:
            "../workflow_scripts/train_fold.py"

else:

    rule train_network:
        input:
            # folds, labels, signals (or cnn3's hand-crafted features), song features if fused
            unpack(
                lambda wildcards: network_fold_inputs(
                    experiment_config(wildcards.experiment), wildcards.dataset
                )
            ),
        output:
            metrics="results/runs/{experiment}/{dataset}/{dimension}/fold{fold}/metrics.json",
            predictions="results/runs/{experiment}/{dataset}/{dimension}/fold{fold}/predictions.csv",
            model="results/runs/{experiment}/{dataset}/{dimension}/fold{fold}/model.pt",
        wildcard_constraints:
            experiment=NETWORK_EXPERIMENT_REGEX,
        params:
            experiment=lambda wildcards: experiment_config(wildcards.experiment),
            training=TRAINING,
            seed=int(config["seed"]),
        threads: 1 if TRAINING_GPU else int(TRAINING.get("threads", 1))
        resources:
            **TRAINING_RESOURCES,
        log:
            "results/logs/train_network/{experiment}/{dataset}/{dimension}/fold{fold}.log",
        benchmark:
            "results/benchmarks/train_network/{experiment}/{dataset}/{dimension}/fold{fold}.tsv"
        conda:
            "../envs/edaffect.yaml"
        script:
            "../workflow_scripts/train_fold.py"
