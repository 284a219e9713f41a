# Synthetic datasets in the real datasets' native layouts (PMEmo2019, DEAP, AMIGOS), with the
# planted per-trial truth in ground_truth.csv. Only used for datasets whose config has
# `synthetic: {...}` (dataset_source in common.smk asks for ground_truth.csv); the generator
# writes the native files beside it under results/synthetic/{dataset}/ (their names are listed in
# docs/architecture.md) and clears what an earlier run wrote there first. A synthetic dataset's
# `root` must therefore stay results/synthetic/{dataset}.


rule synthesize_dataset:
    output:
        ground_truth="results/synthetic/{dataset}/ground_truth.csv",
    params:
        synthetic=lambda wildcards: config_json("datasets", wildcards.dataset, "synthetic"),
        seed=config["seed"],
    log:
        "results/logs/synthesize_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/synthesize_dataset/{dataset}.tsv"
    threads: 1
    conda:
        "../envs/edaffect.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow_scripts/synthesize_dataset.py"
