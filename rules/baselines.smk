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


def baselines_inputs(wildcards):
    """Stage files one SVM fold reads: folds, labels, the networks' trial list, its features."""
    exp = experiment_config(wildcards.experiment)
    kind = exp["input"]
    inputs = {
        "splits": f"results/{wildcards.dataset}/splits.csv",
        "labels": f"results/{wildcards.dataset}/labels.csv",
        "inputs_index": f"results/{wildcards.dataset}/inputs_index.csv",
    }
    if "eda_features" in kind:
        inputs["eda_features"] = f"results/{wildcards.dataset}/eda_features.csv"
    if "music_features" in kind:
        if wildcards.dataset != MUSIC_DATASET:
            raise ValueError(
                f"experiment {wildcards.experiment}: input {kind!r} needs music, which only "
                f"{MUSIC_DATASET} has (asked for {wildcards.dataset})"
            )
        inputs["music_features"] = f"results/{MUSIC_DATASET}/music_features.csv"
    if kind not in ("eda_features", "music_features", "eda_features+music_features"):
        raise ValueError(f"experiment {wildcards.experiment}: the SVM cannot take input {kind!r}")
    return inputs


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
