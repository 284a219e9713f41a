# Leakage-inflation table (docs/leakage.md): the same networks and SVM baselines under the
# original code's protocol (a: (subject, stimulus) pairs shuffled into folds, epoch chosen on the
# test fold), ours (b: subject-independent, validation fold) and ours + song-disjoint on PMEmo
# (c).  Protocols and models are config entries (`leakage:`); each protocol's folds are a split
# variant of edaffect.model_selection.splits.make_protocol_splits.  Package code: edaffect.studies.leakage.study.

# Constants and input functions: rules/common.smk ("input functions of rules/leakage.smk").

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
        training=PROVENANCE_CONFIG["training"],
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
        predictions=leakage_all_predictions,
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
