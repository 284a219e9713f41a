# Preprocessing + cvxEDA decomposition (RTCAN-1D §5.1): crop, z-score, cvxEDA, 3 z-scored
# channels, linear interpolation to preprocessing.length[dataset].
# Jobs are batches over a stable trial -> batch mapping (CRC32 of trial_id modulo the number of
# batches, decomposition.batch_size trials per job on average), because one Snakemake job per
# trial costs ~0.13 s of scheduling + ~1 s of interpreter start-up, more than a 0.02-0.1 s solve.
# Inside a batch every trial goes through a per-trial cache (results/{dataset}/cache/{trial_id}.npz,
# keyed by the trial's signal bytes and all parameters), so a rerun re-solves only the trials
# whose signal or settings changed.  merge_decomposition joins the batches into inputs.npy.
# A rewritten raw_eda.npz reruns every batch job, but only changed trials are solved again.
# To recompute one trial: delete results/{dataset}/cache/{trial_id}.npz and run with
# `--forcerun decompose_batch` (the cache is not a rule output: Snakemake deletes a job's outputs
# before running it, which would empty the cache of the whole batch).
# Batch size (measured, 2-core machine): a batch job costs ~1 CPU-s on top of its solves (script
# start-up + imports + cache reads; an all-cached batch of 209 trials: 0.98 CPU-s), a solve costs
# ~0.015 CPU-s (PMEmo, 1,750 samples) to ~0.06 (DEAP, 7,680).  400 trials per job keep the
# overhead at ~15 % of the PMEmo solves (~4 % for DEAP) and give 20 jobs for paper-scale PMEmo,
# enough to keep 2 cores (or a small node) busy; on a cluster use smaller batches + more cores.


ALL_TARGETS.extend(expand("results/{dataset}/inputs.npy", dataset=DATASETS))


rule decompose_batch:
    input:
        trials="results/{dataset}/trials.csv",
        raw_eda="results/{dataset}/raw_eda.npz",
    output:
        batch="results/{dataset}/decomposed/batch{batch}.npz",
    params:
        preprocessing=config_json("preprocessing"),
        batch_size=config["decomposition"]["batch_size"],
        cache_dir="results/{dataset}/cache",
    threads: int(config["decomposition"]["threads"])
    resources:
        mem_mb=decomposition_mem_mb,
        runtime=decomposition_runtime,
    log:
        "results/logs/decompose_batch/{dataset}_{batch}.log",
    benchmark:
        "results/benchmarks/decompose_batch/{dataset}_{batch}.tsv"
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/decompose_batch.py"


rule merge_decomposition:
    input:
        batches=decomposition_batches,
        trials="results/{dataset}/trials.csv",
        trials_excluded="results/{dataset}/trials_excluded.csv",
    output:
        inputs="results/{dataset}/inputs.npy",
        index="results/{dataset}/inputs_index.csv",
        excluded="results/{dataset}/excluded.csv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "results/logs/merge_decomposition/{dataset}.log",
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/model_inputs.py"
