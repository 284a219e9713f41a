# Res-SIN (Yin et al., ICIP 2019), the predecessor study, on the same spine (readers, labels,
# folds): 15 s cropped cvxEDA components -> signal images -> ResNet-18-style 2-D network (+ music),
# per (experiment, dataset, dimension, fold) by the fold runner (rules/training.smk, family
# `ressin`); its regression pre-experiment (Table 1) and its component / feature comparison
# (Table 2).  Package code: edaffect.studies.ressin.components (components, images, regression),
# edaffect.studies.ressin.training, edaffect.models.ressin, edaffect.studies.ressin.tables.


if RESSIN_DATASET in DATASETS and RESSIN:
    ALL_TARGETS.extend(
        path
        for name in RESSIN_EXPERIMENTS
        for dataset in experiment_config(name)["datasets"]
        if dataset in DATASETS
        for path in fold_metrics(name, dataset)
    )
    ALL_TARGETS.extend(expand("results/tables/ressin_table{n}.{ext}", n=[1, 2], ext=["csv", "md"]))


rule ressin_components:
    input:
        raw="results/{dataset}/raw_eda.npz",
        trials="results/{dataset}/trials.csv",
    output:
        components="results/{dataset}/ressin/components.npz",
        index="results/{dataset}/ressin/components_index.csv",
        excluded="results/{dataset}/ressin/components_excluded.csv",
    params:
        ressin=ressin_json("crop_s", "min_duration_s"),
        preprocessing=config_json("preprocessing"),
        cache_dir="results/{dataset}/ressin/cache",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/ressin_components/{dataset}.log",
    benchmark:
        "results/benchmarks/ressin_components/{dataset}.tsv"
    script:
        "../workflow_scripts/ressin_components.py"


rule ressin_images:
    input:
        components="results/{dataset}/ressin/components.npz",
        index="results/{dataset}/ressin/components_index.csv",
    output:
        images="results/{dataset}/ressin/images.npy",
        index="results/{dataset}/ressin/images_index.csv",
        excluded="results/{dataset}/ressin/images_excluded.csv",
    params:
        image_size=ressin_image_size,
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/ressin_images/{dataset}.log",
    benchmark:
        "results/benchmarks/ressin_images/{dataset}.tsv"
    script:
        "../workflow_scripts/ressin_images.py"


rule ressin_regression:
    input:
        components="results/{dataset}/ressin/components.npz",
        index="results/{dataset}/ressin/components_index.csv",
        labels="results/{dataset}/labels.csv",
        splits="results/{dataset}/splits.csv",
    output:
        regression="results/{dataset}/ressin/regression.csv",
    params:
        ressin=ressin_json("regression"),
        dimensions=DIMENSIONS,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/ressin_regression/{dataset}.log",
    benchmark:
        "results/benchmarks/ressin_regression/{dataset}.tsv"
    script:
        "../workflow_scripts/ressin_regression.py"


rule ressin_table1:
    input:
        regression=f"results/{RESSIN_DATASET}/ressin/regression.csv",
    output:
        csv="results/tables/ressin_table1.csv",
        md="results/tables/ressin_table1.md",
    params:
        config=PROVENANCE_CONFIG,
        dataset=RESSIN_DATASET,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/ressin_table1/ressin_table1.log",
    script:
        "../workflow_scripts/ressin_table1.py"


rule ressin_table2:
    input:
        metrics=ressin_table2_metrics,
        predictions=ressin_table2_predictions,
    output:
        csv="results/tables/ressin_table2.csv",
        md="results/tables/ressin_table2.md",
    params:
        config=PROVENANCE_CONFIG,
        dataset=RESSIN_DATASET,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/ressin_table2/ressin_table2.log",
    script:
        "../workflow_scripts/ressin_table2.py"
