# SVM baselines of Table 3: linear SVM (C = baselines.svm_c) on the 128 hand-crafted EDA features
# or on the songs' openSMILE features, per (experiment, dataset, dimension, fold), on the same
# folds, labels and trials as the networks.  They are trained by the fold runner
# (rules/training.smk, family `svm` of edaffect.training.fold_runner); this stage asks for every fold.
# Package code: edaffect.training.baselines.  (The 3-layer CNN on the features is a network.)


ALL_TARGETS.extend(
    path
    for name in SVM_EXPERIMENTS
    for dataset in experiment_config(name)["datasets"]
    if dataset in DATASETS
    for path in fold_metrics(name, dataset)
)


# The planted ceiling of Tables 3 and 5 and the MAAN table (config planted_ceiling,
# docs/ceiling.md): a logistic regression on the synthetic generator's realised per-trial
# quantities (ground truth no model sees), on the same folds and labels as the models.
# Package code: edaffect.training.planted_ceiling.
ALL_TARGETS.extend(
    dict.fromkeys(
        path
        for table in ("table3", "table4", "table5", "table6", "maan")
        for path in table_ceilings(table)
    )
)


rule planted_ceiling:
    input:
        unpack(ceiling_inputs),
    output:
        csv="results/{dataset}/planted_ceiling.csv",
    params:
        dimensions=DIMENSIONS,
        features=CEILING["features"],
        c=CEILING["c"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "results/logs/planted_ceiling/{dataset}.log",
    benchmark:
        "results/benchmarks/planted_ceiling/{dataset}.tsv"
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/planted_ceiling.py"
