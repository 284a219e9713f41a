# SVM baselines of Table 3: linear SVM (C = baselines.svm_c) on the 128 hand-crafted EDA features
# or on the songs' openSMILE features, per (experiment, dataset, dimension, fold), on the same
# folds, labels and trials as the networks.  Package code: edaffect.baselines.
# (The 3-layer CNN on the features is a network: rules/training.smk.)

import re


SVM_EXPERIMENTS = sorted(n for n in EXPERIMENTS if experiment_config(n)["model"] == "svm")
# Only the svm experiments' names match here, so this rule never competes with training.smk.
SVM_EXPERIMENT_REGEX = "|".join(re.escape(n) for n in SVM_EXPERIMENTS) or "(?!)"

ALL_TARGETS.extend(
    path
    for name in SVM_EXPERIMENTS
    for dataset in experiment_config(name)["datasets"]
    if dataset in DATASETS
    for path in fold_metrics(name, dataset)
)


# Local runs: all folds of an (experiment, dataset, dimension) in one job (training.pack_folds),
# since a job's start-up (~1.5 CPU-s) exceeds an SVM fold's fit on the demo data.
if PACK_FOLDS:

    rule svm_folds:
        input:
            unpack(baselines_inputs),
        output:
            metrics=packed_fold_outputs("metrics.json"),
            predictions=packed_fold_outputs("predictions.csv"),
        wildcard_constraints:
            experiment=SVM_EXPERIMENT_REGEX,
        params:
            fraction=lambda wildcards: float(experiment_config(wildcards.experiment)["fraction"]),
            kind=lambda wildcards: experiment_config(wildcards.experiment)["input"],
            c=float(config.get("baselines", {}).get("svm_c", 0.25)),
            folds=FOLDS,
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30 * max(1, len(FOLDS) // 2),
        log:
            "results/logs/svm_folds/{experiment}/{dataset}/{dimension}.log",
        benchmark:
            "results/benchmarks/svm_folds/{experiment}/{dataset}/{dimension}.tsv"
        conda:
            "../envs/edaffect.yaml"
        script:
            "../workflow_scripts/svm_fold.py"

else:

    rule svm_fold:
        input:
            unpack(baselines_inputs),
        output:
            metrics="results/runs/{experiment}/{dataset}/{dimension}/fold{fold}/metrics.json",
            predictions="results/runs/{experiment}/{dataset}/{dimension}/fold{fold}/predictions.csv",
        wildcard_constraints:
            experiment=SVM_EXPERIMENT_REGEX,
        params:
            fraction=lambda wildcards: float(experiment_config(wildcards.experiment)["fraction"]),
            kind=lambda wildcards: experiment_config(wildcards.experiment)["input"],
            c=float(config.get("baselines", {}).get("svm_c", 0.25)),
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        log:
            "results/logs/svm_fold/{experiment}/{dataset}/{dimension}/fold{fold}.log",
        benchmark:
            "results/benchmarks/svm_fold/{experiment}/{dataset}/{dimension}/fold{fold}.tsv"
        conda:
            "../envs/edaffect.yaml"
        script:
            "../workflow_scripts/svm_fold.py"
