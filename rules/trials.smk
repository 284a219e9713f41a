# Trial tables: every dataset (synthetic or real, same readers) -> trials.csv, raw_eda.npz and
# trials_excluded.csv. A checkpoint: later stages read trials.csv at DAG time.


ALL_TARGETS.extend(expand("results/{dataset}/trials.csv", dataset=DATASETS))


checkpoint trial_table:
    input:
        dataset_source,
    output:
        trials="results/{dataset}/trials.csv",
        raw_eda="results/{dataset}/raw_eda.npz",
        excluded="results/{dataset}/trials_excluded.csv",
    params:
        root=lambda wildcards: dataset_root(wildcards.dataset),
        options=dataset_options,
    log:
        "results/logs/trial_table/{dataset}.log",
    benchmark:
        "results/benchmarks/trial_table/{dataset}.tsv"
    threads: 1
    conda:
        "../envs/edaffect.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow_scripts/trial_table.py"
