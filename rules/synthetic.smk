# Synthetic datasets in the real datasets' native layouts (PMEmo2019, DEAP, AMIGOS), with the
# planted per-trial truth outside the native folder. Only used for datasets whose config has
# `synthetic: {...}` (dataset_source in common.smk asks for ground_truth.csv). Layout contract
# (edaffect.synthetic): results/synthetic/{dataset}/ground_truth.csv (PMEmo also
# dynamic_truth.csv) + the native folder results/synthetic/{dataset}/{PMEmo2019 |
# data_preprocessed_python | data_preprocessed_matlab}/ holding only native files (names in
# docs/architecture.md); the generator clears what an earlier run wrote there first. A synthetic
# dataset's `root` must be that native folder (or, as before, results/synthetic/{dataset}).


rule synthesize_dataset:
    output:
        ground_truth="results/synthetic/{dataset}/ground_truth.csv",
    params:
        synthetic=synthetic_params,
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
