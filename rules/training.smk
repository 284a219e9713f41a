# The fold runner (edaffect.training.fold_runner): every trained experiment - RTCAN-1D / RTCAG and the
# 3-layer CNN (Tables 3-6), the SVM baselines (Table 3), Res-SIN (its Table 2) and any family
# added under config `model_families` - is trained by these rules and one script.
# `training.fold_mode` (a runtime choice, not a param) picks the rules:
#   per_fold   -> train_fold:  one job per (experiment, dataset, dimension, fold)
#   packed     -> train_folds: one job per (experiment, dataset): every dimension and fold in
#                 sequence, in one process (start-up paid once); an experiment the study reads
#                 in some dimensions only (the refined labels) -> train_dimension_folds, one job
#                 per (experiment, dataset, dimension)
#   vectorised -> as packed, with the family's vectorised trainer where it has one.
# All rules write the same files with the same params, so switching modes reruns nothing.
# GPU families train in train_fold/train_folds, the others in the *_cpu twins (a cluster profile
# gives the first a GPU model).
# The epoch is chosen on the validation fold, the test fold is scored once; a killed job
# resumes from results/runs/.../fold{fold}/checkpoint/.  Outputs are requested by the tables.
# model.pt is temp() unless `training.keep_models` (a runtime choice): Snakemake deletes it once
# its readers (the Grad-CAM figures) have run, and a missing temp file reruns nothing.  The fold
# models of `training.kept_models` (experiment, dataset) are kept, for `edaffect predict`: the
# *_kept twins write them without temp() (their experiment constraint matches only those pairs).

ALL_TARGETS.extend(kept_model_files())


rule train_fold:
    input:
        unpack(fold_inputs),
    output:
        metrics=f"{RUN_DIR}/metrics.json",
        predictions=f"{RUN_DIR}/predictions.csv",
        model=kept_models(f"{RUN_DIR}/model.pt"),
    wildcard_constraints:
        experiment=GPU_TRAINED_REGEX,
    params:
        experiment=fold_experiment,
        settings=fold_settings,
        seed=config["seed"],
    threads: fold_threads
    resources:
        mem_mb=fold_mem_mb,
        runtime=fold_runtime,
        gpu=fold_gpus,
    log:
        "results/logs/train_fold/{experiment}/{dataset}/{dimension}/fold{fold}.log",
    benchmark:
        "results/benchmarks/train_fold/{experiment}/{dataset}/{dimension}/fold{fold}.tsv"
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/train_folds.py"


use rule train_fold as train_folds with:
    output:
        metrics=packed_fold_outputs("metrics.json"),
        predictions=packed_fold_outputs("predictions.csv"),
        model=kept_models(packed_fold_outputs("model.pt")),
    wildcard_constraints:
        experiment=GPU_ALL_DIMENSIONS_REGEX,
    resources:
        mem_mb=fold_mem_mb,
        runtime=packed_runtime,
        gpu=fold_gpus,
    log:
        "results/logs/train_folds/{experiment}/{dataset}.log",
    benchmark:
        "results/benchmarks/train_folds/{experiment}/{dataset}.tsv"


use rule train_folds as train_folds_cpu with:
    wildcard_constraints:
        experiment=CPU_ALL_DIMENSIONS_REGEX,


use rule train_fold as train_dimension_folds with:
    output:
        metrics=dimension_fold_outputs("metrics.json"),
        predictions=dimension_fold_outputs("predictions.csv"),
        model=kept_models(dimension_fold_outputs("model.pt")),
    wildcard_constraints:
        experiment=SOME_DIMENSIONS_REGEX,
    resources:
        mem_mb=fold_mem_mb,
        runtime=packed_runtime,
        gpu=fold_gpus,
    log:
        "results/logs/train_folds/{experiment}/{dataset}/{dimension}.log",
    benchmark:
        "results/benchmarks/train_folds/{experiment}/{dataset}/{dimension}.tsv"


use rule train_fold as train_fold_cpu with:
    wildcard_constraints:
        experiment=CPU_TRAINED_REGEX,


use rule train_fold as train_fold_kept with:
    output:
        metrics=f"{RUN_DIR}/metrics.json",
        predictions=f"{RUN_DIR}/predictions.csv",
        model=f"{RUN_DIR}/model.pt",
    wildcard_constraints:
        experiment=KEPT_MODELS_REGEX,


use rule train_folds as train_folds_kept with:
    output:
        metrics=packed_fold_outputs("metrics.json"),
        predictions=packed_fold_outputs("predictions.csv"),
        model=packed_fold_outputs("model.pt"),
    wildcard_constraints:
        experiment=KEPT_MODELS_REGEX,


# Only one of the layouts may produce a run's files; a kept pair's twin before its rule.
if FOLD_MODE == "per_fold":

    ruleorder: train_fold_kept > train_fold > train_folds_kept > train_folds
    ruleorder: train_fold > train_dimension_folds
    ruleorder: train_fold_cpu > train_folds_cpu
    ruleorder: train_fold_cpu > train_dimension_folds

else:

    ruleorder: train_folds_kept > train_folds > train_fold_kept > train_fold
    ruleorder: train_dimension_folds > train_fold
    ruleorder: train_folds_cpu > train_fold_cpu
    ruleorder: train_dimension_folds > train_fold_cpu
