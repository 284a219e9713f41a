# Leakage study (docs/leakage.md): the same networks and SVM baselines under the original code's
# protocol (class-balanced (subject, stimulus) pair folds, no validation fold, the test fold
# scored every epoch) and arms that separate its subject leak, its epoch selection on the test
# fold and its training size, repeated over fold draws.  Arms and contrasts are config entries
# (`leakage:`).  Package code: edaffect.studies.leakage (arms, runs, table).

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
        labels="results/{dataset}/labels.csv",
    output:
        splits="results/{dataset}/leakage/arm_splits.csv",
        summary="results/{dataset}/leakage/arm_splits_summary.csv",
    params:
        arms=leakage_split_arms,
        dimensions=DIMENSIONS,
        n_folds=int(LEAKAGE["n_folds"]),
        draws=int(LEAKAGE["draws"]),
        seed=int(config["seed"]),
    log:
        "results/logs/leakage_splits/{dataset}.log",
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/leakage_splits.py"


rule leakage_runs:
    input:
        unpack(leakage_run_inputs),
    output:
        folds=LEAKAGE_RUN,
    wildcard_constraints:
        experiment=LEAKAGE_EXPERIMENT_REGEX,
    params:
        experiment=leakage_experiment,
        arms=leakage_run_arms,
        training=PROVENANCE_CONFIG["training"],
        seed=int(config["seed"]),
        c=float(config["baselines"]["svm_c"]),
        dimensions=DIMENSIONS,
        n_folds=int(LEAKAGE["n_folds"]),
        draws=int(LEAKAGE["draws"]),
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    log:
        "results/logs/leakage_runs/{experiment}/{dataset}.log",
    benchmark:
        "results/benchmarks/leakage_runs/{experiment}/{dataset}.tsv"
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/leakage_runs.py"


rule leakage_table:
    input:
        runs=leakage_all_runs,
    output:
        csv="results/tables/leakage.csv",
        md="results/tables/leakage.md",
        png="results/figures/leakage.png",
        pdf="results/figures/leakage.pdf",
    params:
        arms=list(LEAKAGE_ARMS.items()),
        contrasts=list(LEAKAGE["contrasts"]),
        n_folds=int(LEAKAGE["n_folds"]),
        epochs=int(LEAKAGE["epochs"]),
        draws=int(LEAKAGE["draws"]),
        datasets=LEAKAGE_DATASETS,
        config=config,
    log:
        "results/logs/leakage_table/leakage.log",
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/leakage_table.py"
