# Leakage-inflation table (docs/leakage.md): the same networks and SVM baselines under the
# original code's protocol (a: (subject, stimulus) pairs shuffled into folds, epoch chosen on the
# test fold), ours (b: subject-independent, validation fold) and ours + song-disjoint on PMEmo
# (c).  Protocols and models are config entries (`leakage:`); each protocol's folds are a split
# variant of edaffect.splits.make_protocol_splits.  Package code: edaffect.leakage.

import re

from edaffect.training_paths import network_fold_inputs, svm_fold_inputs


LEAKAGE = config["leakage"]
LEAKAGE_PROTOCOLS = LEAKAGE["protocols"]
LEAKAGE_FOLDS = list(range(int(LEAKAGE["n_folds"])))
LEAKAGE_EXPERIMENTS = list(LEAKAGE["experiments"])
LEAKAGE_DATASETS = [d for d in LEAKAGE["datasets"] if d in DATASETS]
LEAKAGE_EXPERIMENT_REGEX = "|".join(re.escape(n) for n in LEAKAGE_EXPERIMENTS) or "(?!)"
LEAKAGE_PROTOCOL_REGEX = "|".join(re.escape(n) for n in LEAKAGE_PROTOCOLS) or "(?!)"
LEAKAGE_RUN = "results/leakage/runs/{protocol}/{experiment}/{dataset}"


def leakage_combinations():
    """(protocol, experiment, dataset) of every leakage run the config asks for."""
    unknown = sorted(set(LEAKAGE_EXPERIMENTS) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"config leakage.experiments names unknown experiment(s) {unknown}")
    return [
        (protocol, experiment, dataset)
        for protocol, entry in LEAKAGE_PROTOCOLS.items()
        for experiment in LEAKAGE_EXPERIMENTS
        for dataset in LEAKAGE_DATASETS
        if dataset in entry["datasets"]
    ]


def leakage_run_files(name):
    """One file `name` of every (dimension, fold) of a leakage run, (dimension, fold) order."""
    return [
        f"{LEAKAGE_RUN}/{dimension}/fold{fold}/{name}"
        for dimension in DIMENSIONS
        for fold in LEAKAGE_FOLDS
    ]


def leakage_all_metrics(wildcards):
    """Every leakage run's metrics.json (what the table aggregates)."""
    return [
        path.format(protocol=p, experiment=e, dataset=d)
        for p, e, d in leakage_combinations()
        for path in leakage_run_files("metrics.json")
    ]


def leakage_experiment(wildcards):
    """The experiment's settings with the leakage table's epoch count."""
    return {**experiment_config(wildcards.experiment), "epochs": int(LEAKAGE["epochs"])}


def leakage_protocol(wildcards):
    return LEAKAGE_PROTOCOLS[wildcards.protocol]


def leakage_run_inputs(wildcards):
    """The fold inputs of the experiment's model family, with the protocol's folds."""
    exp = experiment_config(wildcards.experiment)
    if exp["model"] == "svm":
        inputs = svm_fold_inputs(exp, wildcards.dataset)
    elif exp["model"] == "rtcan1d":
        inputs = network_fold_inputs(exp, wildcards.dataset)
    else:
        raise ValueError(f"leakage: experiment {exp['name']} has model {exp['model']!r}; "
                         "the leakage table runs rtcan1d networks and SVM baselines")
    split = LEAKAGE_PROTOCOLS[wildcards.protocol]["split"]
    inputs["splits_csv"] = f"results/{wildcards.dataset}/leakage/splits_{split}.csv"
    return inputs


if LEAKAGE_DATASETS and LEAKAGE_EXPERIMENTS:
    ALL_TARGETS.extend(
        [
            "results/tables/leakage.csv",
            "results/tables/leakage.md",
            "results/figures/leakage.png",
            "results/figures/leakage.pdf",
        ]
    )


rule leakage_splits:
    input:
        trials="results/{dataset}/trials.csv",
    output:
        splits="results/{dataset}/leakage/splits_{split}.csv",
        summary="results/{dataset}/leakage/splits_{split}_summary.csv",
    wildcard_constraints:
        split="subject|song|pairs",
    params:
        n_folds=len(LEAKAGE_FOLDS),
        seed=int(config["seed"]),
    log:
        "results/logs/leakage_splits/{dataset}/{split}.log",
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/leakage_splits.py"


rule leakage_runs:
    input:
        unpack(leakage_run_inputs),
    output:
        metrics=leakage_run_files("metrics.json"),
        predictions=leakage_run_files("predictions.csv"),
    wildcard_constraints:
        protocol=LEAKAGE_PROTOCOL_REGEX,
        experiment=LEAKAGE_EXPERIMENT_REGEX,
    params:
        experiment=leakage_experiment,
        protocol=leakage_protocol,
        training=config["training"],
        seed=int(config["seed"]),
        c=float(config["baselines"]["svm_c"]),
        dimensions=DIMENSIONS,
        folds=LEAKAGE_FOLDS,
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    log:
        "results/logs/leakage_runs/{protocol}/{experiment}/{dataset}.log",
    benchmark:
        "results/benchmarks/leakage_runs/{protocol}/{experiment}/{dataset}.tsv"
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/leakage_runs.py"


rule leakage_table:
    input:
        metrics=leakage_all_metrics,
    output:
        csv="results/tables/leakage.csv",
        md="results/tables/leakage.md",
        png="results/figures/leakage.png",
        pdf="results/figures/leakage.pdf",
    params:
        protocols=list(LEAKAGE_PROTOCOLS.items()),
        n_folds=len(LEAKAGE_FOLDS),
        epochs=int(LEAKAGE["epochs"]),
        datasets=LEAKAGE_DATASETS,
        config=config,
    log:
        "results/logs/leakage_table/leakage.log",
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/leakage_table.py"
