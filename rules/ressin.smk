# Res-SIN (Yin et al., ICIP 2019), the predecessor study, on the same spine (readers, labels,
# folds): 15 s cropped cvxEDA components -> signal images -> ResNet-18-style 2-D network (+ music),
# per (experiment, dataset, dimension, fold); its regression pre-experiment (Table 1) and its
# component / feature comparison (Table 2).  Package code: edaffect.signal_images,
# edaffect.models.ressin, edaffect.regression, edaffect.ressin_study.

import re


RESSIN_EXPERIMENTS = sorted(n for n in EXPERIMENTS if experiment_config(n)["model"] == "ressin")
# Only the ressin experiments' names match here, so this rule never competes with training.smk.
RESSIN_EXPERIMENT_REGEX = "|".join(re.escape(n) for n in RESSIN_EXPERIMENTS) or "(?!)"
RESSIN = config.get("ressin", {})
RESSIN_DATASET = "pmemo"  # Res-SIN is a PMEmo study (music fusion)
RESSIN_TABLE2 = RESSIN.get("table2", {})
# The `ressin` keys that change a trained fold (Table 2 rows or regression settings do not).
RESSIN_TRAINING = {
    k: v for k, v in RESSIN.items() if k not in ("table2", "regression")
}
# Training jobs ask for a GPU (SLURM) when training.gpu is set, like rules/training.smk.
RESSIN_GPU = bool(config["training"].get("gpu", False))
RESSIN_GPU_RESOURCES = {"gpu": 1, "cpus_per_gpu": 4} if RESSIN_GPU else {}


if RESSIN_DATASET in DATASETS and RESSIN:
    ALL_TARGETS.extend(
        path
        for name in RESSIN_EXPERIMENTS
        for dataset in experiment_config(name)["datasets"]
        if dataset in DATASETS
        for path in fold_metrics(name, dataset)
    )
    ALL_TARGETS.extend(
        expand("results/tables/ressin_table{n}.{ext}", n=[1, 2], ext=["csv", "md"])
    )


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
        image_size=int(RESSIN.get("image_size", 224)),
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


RESSIN_RUN = "results/runs/{experiment}/{dataset}/{dimension}/fold{fold}"
# the same with every wildcard but {fold} escaped, for expand() over the folds
RESSIN_RUN_FOLDS = "results/runs/{{experiment}}/{{dataset}}/{{dimension}}/fold{fold}"

if not config["training"].get("pack_folds", False):
    # Cluster / GPU layout (training.pack_folds false, as in profiles/slurm): one job per
    # (experiment, dataset, dimension, fold).

    rule ressin_fold:
        input:
            unpack(ressin_fold_inputs),
        output:
            metrics=f"{RESSIN_RUN}/metrics.json",
            predictions=f"{RESSIN_RUN}/predictions.csv",
            model=f"{RESSIN_RUN}/model.pt",
        wildcard_constraints:
            experiment=RESSIN_EXPERIMENT_REGEX,
        params:
            experiment=lambda wildcards: experiment_config(wildcards.experiment),
            folds=lambda wildcards: [int(wildcards.fold)],
            run_dirs=lambda wildcards: [RESSIN_RUN.format(**wildcards)],
            ressin=RESSIN_TRAINING,
            training=config["training"],
            seed=config["seed"],
        threads: int(config["training"].get("threads", 1))
        resources:
            mem_mb=16000 if RESSIN_GPU else 8000,
            runtime=240,
            **RESSIN_GPU_RESOURCES,
        conda:
            "../envs/edaffect.yaml"
        log:
            "results/logs/ressin_fold/{experiment}/{dataset}/{dimension}/fold{fold}.log",
        benchmark:
            "results/benchmarks/ressin_fold/{experiment}/{dataset}/{dimension}/fold{fold}.tsv"
        script:
            "../workflow_scripts/ressin_fold.py"

else:
    # Local layout (training.pack_folds true, the default): the folds of one (experiment,
    # dataset, dimension) share one process, so ten tiny trainings do not pay ten interpreter +
    # torch start-ups.

    rule ressin_folds:
        input:
            unpack(ressin_fold_inputs),
        output:
            metrics=expand(f"{RESSIN_RUN_FOLDS}/metrics.json", fold=FOLDS),
            predictions=expand(f"{RESSIN_RUN_FOLDS}/predictions.csv", fold=FOLDS),
            model=expand(f"{RESSIN_RUN_FOLDS}/model.pt", fold=FOLDS),
        wildcard_constraints:
            experiment=RESSIN_EXPERIMENT_REGEX,
        params:
            experiment=lambda wildcards: experiment_config(wildcards.experiment),
            folds=FOLDS,
            run_dirs=lambda wildcards: [
                RESSIN_RUN.format(fold=fold, **wildcards) for fold in FOLDS
            ],
            ressin=RESSIN_TRAINING,
            training=config["training"],
            seed=config["seed"],
        threads: int(config["training"].get("threads", 1))
        resources:
            mem_mb=16000 if RESSIN_GPU else 8000,
            runtime=30 * N_FOLDS,
            **RESSIN_GPU_RESOURCES,
        conda:
            "../envs/edaffect.yaml"
        log:
            "results/logs/ressin_folds/{experiment}/{dataset}/{dimension}.log",
        benchmark:
            "results/benchmarks/ressin_folds/{experiment}/{dataset}/{dimension}.tsv"
        script:
            "../workflow_scripts/ressin_fold.py"


rule ressin_table1:
    input:
        regression=f"results/{RESSIN_DATASET}/ressin/regression.csv",
    output:
        csv="results/tables/ressin_table1.csv",
        md="results/tables/ressin_table1.md",
    params:
        config=config,
        dataset=RESSIN_DATASET,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/ressin_table1/ressin_table1.log",
    script:
        "../workflow_scripts/ressin_table1.py"


rule ressin_table2:
    input:
        metrics=lambda wildcards: [
            path
            for name in ressin_table2_experiments()
            for path in fold_metrics(name, RESSIN_DATASET)
        ],
    output:
        csv="results/tables/ressin_table2.csv",
        md="results/tables/ressin_table2.md",
    params:
        config=config,
        dataset=RESSIN_DATASET,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/ressin_table2/ressin_table2.log",
    script:
        "../workflow_scripts/ressin_table2.py"
