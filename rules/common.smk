"""Config validation, constants and input functions shared by every stage.

Each stage file appends its final outputs to ALL_TARGETS; rule `all` asks for them.
"""

import json
import os
import re

from snakemake.utils import min_version, validate

from edaffect.training.fold_runner import (
    canonical,
    family_of,
    fold_mode,
    model_families,
    provenance_config,
    result_settings,
)
from edaffect.reporting.paper import paper_tables_path
from edaffect.reporting.provenance import config_hash
from edaffect.training.paths import (
    MUSIC_DATASET,
    RUN_DIR,
    network_fold_inputs,
    svm_fold_inputs,
)

min_version("9.20")


# Every default lives in the schema: validation fills in the keys a config leaves out.
validate(config, schema="../config/schema.yaml", set_default=True)
# A profile's `config:` entries (profiles/slurm) reach nested keys as text ("true"): the schema
# admits that spelling for training.gpu, which becomes a boolean here.
config["training"]["gpu"] = str(config["training"]["gpu"]).lower() == "true"

DATASETS = list(config["datasets"])
DIMENSIONS = list(config["dimensions"])
N_FOLDS = int(config["split"]["n_folds"])
FOLDS = list(range(N_FOLDS))
EXPERIMENTS = config["experiments"]
ALL_TARGETS = []
# The config without its runtime settings (threads, device, GPU, packing, checkpoints): what
# table headers hash and table rules take as params, so runtime changes rerun nothing.
PROVENANCE_CONFIG = provenance_config(config)


# ---- every config-derived constant of the workflow (stage files define none of their own) ----
# The datasets' roles: PMEmo is the one dataset with songs (music features, Res-SIN), listeners'
# EDA and dynamic annotations; AMIGOS the one with ECG and EEG beside EDA.
MAAN_DATASET = "amigos"
MUSIC_SOURCE = config["baselines"]["music"]["source"]
FEATURES_OPTIONS = config["baselines"]["eda_features"]
RESSIN_EXPERIMENTS = sorted(n for n in EXPERIMENTS if EXPERIMENTS[n]["model"] == "ressin")
RESSIN = config["ressin"] if "ressin" in config else {}  # optional study: no defaults when absent
RESSIN_DATASET = MUSIC_DATASET  # Res-SIN is a PMEmo study (music fusion)
RESSIN_TABLE2 = RESSIN["table2"] if RESSIN else {}
SVM_EXPERIMENTS = sorted(n for n in EXPERIMENTS if EXPERIMENTS[n]["model"] == "svm")
LABELS_N_INIT = int(config["labels"]["kmeans_n_init"])
FIG3_DATASET = MUSIC_DATASET if MUSIC_DATASET in DATASETS else (DATASETS[0] if DATASETS else None)
# split.fractions plus every experiment's fraction and 1.0, so each training run finds its folds.
LABELS_FRACTIONS = sorted(
    {1.0}
    | {float(f) for f in config["split"]["fractions"]}
    | {float(exp["fraction"]) for exp in EXPERIMENTS.values()}
)
# SHA-256 (12 hex digits) of the config's result-changing settings as sorted JSON, printed in
# the table headers (runtime settings left out, so changing threads reruns nothing).
CONFIG_HASH = config_hash(PROVENANCE_CONFIG)
CEILING = config["planted_ceiling"]


def experiment_config(name):
    """An experiment's settings (schema defaults filled in by validation) and its name."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; config.yaml defines {sorted(EXPERIMENTS)}")
    return {**EXPERIMENTS[name], "name": name}


def experiments_regex(names):
    """A wildcard constraint matching exactly these names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def study_dimensions(name):
    """The dimensions the study reads of an experiment: the refined-labels experiment's own
    (continuous.refined.dimensions), every config dimension for the others."""
    if name == config["continuous"]["refined_experiment"]:
        return [d for d in DIMENSIONS if d in config["continuous"]["refined"]["dimensions"]]
    return DIMENSIONS


FAMILIES = model_families(config)  # module paths of config files: relative to the working directory
FOLD_MODE = fold_mode(config["training"])
# Experiments the fold runner trains: every one whose model is a registered family.
TRAINED_EXPERIMENTS = sorted(n for n in EXPERIMENTS if EXPERIMENTS[n]["model"] in FAMILIES)
# GPU families (networks, Res-SIN, MAAN) train in rules train_fold/train_folds, the others (SVM,
# stimulus, constant, ridge, ...) in train_fold_cpu/train_folds_cpu: a cluster profile can then
# give the first a GPU model without asking SLURM for GPU resources in CPU jobs (srun refuses a
# `--gpus=<model>:0` step).
GPU_TRAINED = [
    n for n in TRAINED_EXPERIMENTS if family_of(EXPERIMENTS[n] | {"name": n}, FAMILIES).gpu
]
CPU_TRAINED = [n for n in TRAINED_EXPERIMENTS if n not in GPU_TRAINED]
GPU_TRAINED_REGEX = experiments_regex(GPU_TRAINED)
CPU_TRAINED_REGEX = experiments_regex(CPU_TRAINED)
# Packed training (rules/training.smk): one job per (experiment, dataset) trains every dimension
# and fold (train_folds, train_folds_cpu); an experiment read in some dimensions only trains
# those, one job per (experiment, dataset, dimension) (train_dimension_folds).
SOME_DIMENSIONS = [n for n in TRAINED_EXPERIMENTS if study_dimensions(n) != DIMENSIONS]
GPU_ALL_DIMENSIONS_REGEX = experiments_regex(n for n in GPU_TRAINED if n not in SOME_DIMENSIONS)
CPU_ALL_DIMENSIONS_REGEX = experiments_regex(n for n in CPU_TRAINED if n not in SOME_DIMENSIONS)
SOME_DIMENSIONS_REGEX = experiments_regex(SOME_DIMENSIONS)
CONTINUOUS = config["continuous"]
CONTINUOUS_DATASET = MUSIC_DATASET  # the one dataset with dynamic annotations and listeners' EDA
CONTINUOUS_ON = CONTINUOUS_DATASET in DATASETS and bool(CONTINUOUS["experiments"])
REFINED_ON = CONTINUOUS_DATASET in DATASETS and bool(CONTINUOUS["refined_experiment"])
CONTINUOUS_TABLES = (["continuous_table", "lag_table"] if CONTINUOUS_ON else []) + (
    ["refined_labels_table"] if REFINED_ON else []
)
CONTINUOUS_FIGURES = (["continuous_traces", "lag_curve"] if CONTINUOUS_ON else []) + (
    ["refined_accuracy"] if REFINED_ON else []
)
LEAKAGE = config["leakage"]
LEAKAGE_ARMS = LEAKAGE["arms"]
LEAKAGE_EXPERIMENTS = list(LEAKAGE["experiments"])
LEAKAGE_DATASETS = [d for d in LEAKAGE["datasets"] if d in DATASETS]
LEAKAGE_EXPERIMENT_REGEX = experiments_regex(LEAKAGE_EXPERIMENTS)
LEAKAGE_RUN = "results/leakage/runs/{experiment}/{dataset}/folds.csv"
MAAN = config["maan"]
MAAN_ENABLED = MAAN_DATASET in DATASETS
MAAN_PAPER_TABLES = str(
    paper_tables_path()
)  # published values, an input of the table rules (they re-render)


def kept_model_pairs():
    """(experiment, dataset) of training.kept_models whose dataset is configured, checked:
    networks `edaffect predict` serves (rtcan1d), trained in every dimension."""
    pairs = []
    for entry in config["training"]["kept_models"]:
        name, dataset = entry["experiment"], entry["dataset"]
        if dataset not in DATASETS:
            continue
        exp = experiment_config(name)
        if exp["model"] != "rtcan1d" or name in SOME_DIMENSIONS or dataset not in exp["datasets"]:
            raise ValueError(
                f"config training.kept_models: {name} on {dataset} is not an rtcan1d experiment "
                "trained on that dataset in every dimension (what edaffect predict serves)"
            )
        pairs.append((name, dataset))
    return list(dict.fromkeys(pairs))


def kept_models_regex(pairs):
    """A constraint of wildcard `experiment` that matches only the kept (experiment, dataset)
    pairs: each name followed by a lookahead for its datasets (RUN_DIR spells the dataset right
    after the experiment); matches nothing without pairs."""
    if "{experiment}/{dataset}/" not in RUN_DIR:
        raise ValueError(f"kept_models_regex: RUN_DIR {RUN_DIR} changed its layout")
    datasets = {}
    for name, dataset in pairs:
        datasets.setdefault(name, []).append(re.escape(dataset))
    return (
        "|".join(
            f"{re.escape(name)}(?=/(?:{'|'.join(names)})/)" for name, names in datasets.items()
        )
        or "(?!)"
    )


KEPT_MODELS = kept_model_pairs()
KEPT_MODELS_REGEX = kept_models_regex(KEPT_MODELS)
RESULT_TABLES = [  # tables with rows on a configured dataset
    n for n in (3, 4, 5, 6) if any(r["dataset"] in DATASETS for r in config["tables"][f"table{n}"])
]
REPORT_TABLES = [1, 2, *RESULT_TABLES]  # Tables 1-2 come from rules/labels.smk
GRADCAM_DATASET = config["figures"]["gradcam_dataset"]
GRADCAM_EXPERIMENTS = list(config["figures"]["gradcam_experiments"])
GRADCAM_FOLD = N_FOLDS - 1  # the paper shows fold 10 of 10
GRADCAM_FIGURES = {"valence": (5, 6), "arousal": (7, 8)}


def all_targets(wildcards):
    """The study's final outputs as the stages define them (what `all` builds)."""
    return ALL_TARGETS


def dataset_root(dataset):
    """Folder holding `dataset` in its native layout (synthetic or real)."""
    return config["datasets"][dataset]["root"]


def synthetic_params(wildcards):
    """The generator settings of datasets.{dataset}.synthetic as JSON (rule synthesize_dataset)."""
    return config_json("datasets", wildcards.dataset, "synthetic")


def dataset_options(wildcards):
    """The reader's settings of datasets.{dataset} (all keys but root and synthetic) as JSON,
    e.g. PMEmo's rating_scale; the trial table reruns when they change."""
    block = config["datasets"][wildcards.dataset]
    return json.dumps(
        {k: v for k, v in block.items() if k not in ("root", "synthetic")}, sort_keys=True
    )


def split_group_by(wildcards):
    """Song-disjoint folds only where trials are (listener, song) pairs: PMEmo."""
    return config["split"]["group_by"] if wildcards.dataset == MUSIC_DATASET else "subject"


def is_synthetic(dataset):
    return config["datasets"][dataset]["synthetic"] is not False


def dataset_source(wildcards):
    """Input that stands for the dataset's files: the generator's ground truth when synthetic,
    nothing (but a checked root) when the user points at a real copy."""
    dataset = wildcards.dataset
    if is_synthetic(dataset):
        from edaffect.synthetic import native_root

        out_dir = f"results/synthetic/{dataset}"
        allowed = {os.path.normpath(out_dir), os.path.normpath(native_root(dataset, out_dir))}
        if os.path.normpath(dataset_root(dataset)) not in allowed:
            raise ValueError(
                f"config key datasets.{dataset}.root: {dataset_root(dataset)!r} is not where the "
                f"synthetic generator writes ({native_root(dataset, out_dir)}); set it there or "
                f"set datasets.{dataset}.synthetic to false for a real copy"
            )
        return f"{out_dir}/ground_truth.csv"
    root = dataset_root(dataset)
    if not os.path.isdir(root):
        what = "is a file, not a folder" if os.path.isfile(root) else "does not exist"
        raise ValueError(
            f"config key datasets.{dataset}.root: {root!r} {what} "
            f"(datasets.{dataset}.synthetic is false, so a real copy is expected there)"
        )
    return []


def is_network(name):
    return experiment_config(name)["model"] in ("rtcan1d", "ressin")


def fraction_tag(fraction):
    """Subject-subset tag used in file names: 1.0 -> 'p100', 0.1 -> 'p10'."""
    return f"p{round(float(fraction) * 100)}"


def run_dir(experiment, dataset, dimension, fold):
    from edaffect.training.paths import run_dir as path

    return path(experiment, dataset, dimension, fold)


def fold_metrics(experiment, dataset):
    """metrics.json of every (dimension, fold) of one experiment on one dataset."""
    return [
        f"{run_dir(experiment, dataset, dim, fold)}/metrics.json"
        for dim in DIMENSIONS
        for fold in FOLDS
    ]


def table_rows(table):
    return config["tables"][table]


def table_metrics(table):
    """All per-fold metrics a paper table aggregates (so a table target trains only its rows)."""
    paths = []
    for row in table_rows(table):
        if row["dataset"] not in DATASETS:
            continue
        for path in fold_metrics(row["experiment"], row["dataset"]):
            if path not in paths:
                paths.append(path)
    return paths


def config_json(*keys):
    """A config sub-tree as a JSON string, for rule params (reruns when it changes)."""
    node = config
    for key in keys:
        node = node[key]
    return json.dumps(node, sort_keys=True)


# ---- the planted ceiling (rules/baselines.smk; edaffect.training.planted_ceiling) ----


def ceiling_datasets(table):
    """Configured synthetic datasets whose rows `table` (table3..6, maan) prints with the
    ceiling; none when the table does not print it (config planted_ceiling.tables)."""
    if table not in CEILING["tables"]:
        return []
    if table == "maan":
        datasets = ["amigos"]
    else:
        datasets = [row["dataset"] for row in table_rows(table)]
    return [d for d in dict.fromkeys(datasets) if d in DATASETS and is_synthetic(d)]


def ceiling_csv(dataset):
    return f"results/{dataset}/planted_ceiling.csv"


def table_ceilings(table):
    """The planted_ceiling.csv files a table rule reads."""
    return [ceiling_csv(d) for d in ceiling_datasets(table)]


def ceiling_inputs(wildcards):
    """The generator's ground truth, the study's labels and folds of one synthetic dataset."""
    if not is_synthetic(wildcards.dataset):
        raise ValueError(
            f"planted ceiling: datasets.{wildcards.dataset} is real (synthetic: false); only "
            "synthetic data has the ground truth it is fitted on"
        )
    return {
        "ground_truth": dataset_source(wildcards),
        "labels": f"results/{wildcards.dataset}/labels.csv",
        "splits": f"results/{wildcards.dataset}/splits.csv",
    }


# ---- input functions of rules/decomposition.smk ----


def decomposition_mem_mb(wildcards, threads):
    return 1000 + 500 * threads


def decomposition_runtime(wildcards, attempt):
    """Minutes; a retried batch gets more time."""
    return 30 * attempt


def decomposition_batches(wildcards):
    """Every batch file of the dataset (after the trial_table checkpoint)."""
    from edaffect.signal.decomposition_batches import batch_paths

    return batch_paths(
        checkpoints.trial_table.get(dataset=wildcards.dataset).output.trials,
        wildcards.dataset,
        config["decomposition"]["batch_size"],
    )


# ---- input functions of rules/features.smk ----


def music_root(wildcards):
    return dataset_root(MUSIC_DATASET)


def features_song_ids():
    """PMEmo musicIds of trials.csv (after the trial_table checkpoint), numeric order."""
    from edaffect.signal.music import song_ids

    checkpoints.trial_table.get(dataset=MUSIC_DATASET)
    return song_ids(f"results/{MUSIC_DATASET}/trials.csv")


def features_music_source():
    """'audio' or 'csv', decided at DAG time from the chorus folder (edaffect.signal.music)."""
    from edaffect.signal.music import choose_source

    return choose_source(dataset_root(MUSIC_DATASET), features_song_ids(), MUSIC_SOURCE)


def features_song_audio(wildcards):
    """The chorus audio of one song (wav preferred over mp3)."""
    from edaffect.signal.music import find_audio

    path = find_audio(dataset_root(MUSIC_DATASET), wildcards.stimulus)
    if path is None:
        raise ValueError(
            f"no audio {dataset_root(MUSIC_DATASET)}/chorus/{wildcards.stimulus}.wav|mp3"
        )
    return str(path)


def features_music_inputs(wildcards):
    """Per-song caches when every song has audio, else PMEmo's static_features.csv."""
    inputs = {"trials": f"results/{MUSIC_DATASET}/trials.csv"}
    if features_music_source() == "audio":
        inputs["songs"] = [
            f"results/{MUSIC_DATASET}/music/{song}.csv" for song in features_song_ids()
        ]
    else:
        inputs["static"] = f"{dataset_root(MUSIC_DATASET)}/features/static_features.csv"
    return inputs


def features_eda_inputs(wildcards):
    """trials.csv + raw EDA; with the cvxEDA phasic also the decomposition stage's index, so
    that its per-trial cache (results/{dataset}/cache/) is complete before it is read."""
    inputs = {
        "trials": f"results/{wildcards.dataset}/trials.csv",
        "raw": f"results/{wildcards.dataset}/raw_eda.npz",
    }
    if FEATURES_OPTIONS["phasic_method"] == "decomposition":
        inputs["inputs_index"] = f"results/{wildcards.dataset}/inputs_index.csv"
    return inputs


# ---- the fold runner (rules/training.smk; edaffect.training.fold_runner) ----


def fold_family(wildcards):
    return family_of(experiment_config(wildcards.experiment), FAMILIES)


def fold_inputs(wildcards):
    """Stage files every fold of the experiment reads (the family decides)."""
    exp = experiment_config(wildcards.experiment)
    return family_of(exp, FAMILIES).inputs(exp, wildcards.dataset)


def fold_experiment(wildcards):
    """The experiment's settings (a param: changing them retrains its folds)."""
    return canonical(experiment_config(wildcards.experiment))


def fold_settings(wildcards):
    """The config settings that change the family's results (threads, device, GPU, packing and
    checkpoints are runtime settings, read by the script from the config, not params)."""
    return result_settings(config, fold_family(wildcards))


def uses_gpu(wildcards):
    return bool(config["training"]["gpu"]) and fold_family(wildcards).gpu


def fold_threads(wildcards):
    """CPU jobs: training.threads torch threads; GPU jobs and the SVM: one."""
    if uses_gpu(wildcards) or not fold_family(wildcards).gpu:
        return 1
    return int(config["training"]["threads"])


def fold_gpus(wildcards):
    return 1 if uses_gpu(wildcards) else 0


def fold_mem_mb(wildcards):
    return 16000 if uses_gpu(wildcards) else fold_family(wildcards).mem_mb


def fold_runtime(wildcards):
    return fold_family(wildcards).runtime_min


def packed_runtime(wildcards):
    """All folds (and dimensions) in one job: a fold's runtime per two folds of each dimension
    (demo folds are short)."""
    dimensions = 1 if "dimension" in wildcards.keys() else len(DIMENSIONS)
    return fold_family(wildcards).runtime_min * max(1, N_FOLDS // 2) * dimensions


def packed_fold_outputs(name):
    """One file `name` of every dimension and fold of an (experiment, dataset): packed training."""
    pattern = RUN_DIR.replace("{experiment}", "{{experiment}}").replace("{dataset}", "{{dataset}}")
    return expand(f"{pattern}/{name}", dimension=DIMENSIONS, fold=FOLDS)


def dimension_fold_outputs(name):
    """One file `name` of every fold of an (experiment, dataset, dimension): packed training of
    an experiment the study reads in some dimensions only."""
    pattern = (
        RUN_DIR.replace("{experiment}", "{{experiment}}")
        .replace("{dataset}", "{{dataset}}")
        .replace("{dimension}", "{{dimension}}")
    )
    return expand(f"{pattern}/{name}", fold=FOLDS)


# ---- input functions of rules/ressin.smk ----


def ressin_json(*keys):
    """Some keys of config `ressin` as JSON (so a rule reruns only when they change)."""
    return json.dumps({key: RESSIN[key] for key in keys}, sort_keys=True)


def ressin_image_size(wildcards):
    return int(RESSIN["image_size"])


def ressin_table2_metrics(wildcards):
    """Every fold metrics.json of the experiments behind Res-SIN Table 2."""
    return [
        path for name in ressin_table2_experiments() for path in fold_metrics(name, RESSIN_DATASET)
    ]


def ressin_table2_predictions(wildcards):
    """The test predictions beside each metrics.json of Table 2 (its single-class folds)."""
    return [p.replace("metrics.json", "predictions.csv") for p in ressin_table2_metrics(wildcards)]


def ressin_table2_experiments():
    """Every experiment Table 2 reads (Res-SIN rows and the SVM + music baseline)."""
    names = list(RESSIN_TABLE2["components"].values())
    names += list(RESSIN_TABLE2["features"].values())
    unknown = sorted(set(names) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"config ressin.table2 names unknown experiment(s) {unknown}")
    return list(dict.fromkeys(names))


# ---- input functions of rules/continuous.smk ----


def continuous_metrics(wildcards):
    """metrics.json of every continuous-regression experiment, dimension and fold."""
    return [
        f"{run_dir(name, CONTINUOUS_DATASET, dim, fold)}/metrics.json"
        for name in CONTINUOUS["experiments"]
        for dim in DIMENSIONS
        for fold in FOLDS
    ]


def continuous_figure_predictions(wildcards):
    """Test predictions of the first TCN experiment in the figure's fold, per dimension."""
    tcn = [n for n in CONTINUOUS["experiments"] if EXPERIMENTS[n]["model"] == "tcn"]
    if not tcn:
        raise ValueError("config continuous.experiments has no TCN experiment for the figure")
    return [
        f"{run_dir(tcn[0], CONTINUOUS_DATASET, dim, CONTINUOUS['figure_fold'])}/predictions.csv"
        for dim in DIMENSIONS
    ]


def refined_metrics(wildcards):
    """metrics.json of the refined-labels experiment, its dimensions and every fold."""
    name = CONTINUOUS["refined_experiment"]
    return [
        f"{run_dir(name, CONTINUOUS_DATASET, dim, fold)}/metrics.json"
        for dim in study_dimensions(name)
        for fold in FOLDS
    ]


def continuous_truth(wildcards):
    """The synthetic ground truth (planted lags) when PMEmo is synthetic, else nothing."""
    from types import SimpleNamespace

    return dataset_source(SimpleNamespace(dataset=CONTINUOUS_DATASET))


# ---- input functions of rules/leakage.smk ----


def leakage_dataset_arms(dataset):
    """The arms a dataset runs (in config order)."""
    return [a for a, entry in LEAKAGE_ARMS.items() if dataset in entry["datasets"]]


def leakage_split_arms(wildcards):
    """The arms a dataset's folds are made for: those it runs and those they size against."""
    names = leakage_dataset_arms(wildcards.dataset)
    for name in list(names):
        reference = LEAKAGE_ARMS[name].get("train_size")
        if reference and reference not in names:
            names.append(reference)
    return [(a, leakage_arm_entry(a)) for a in names]


def leakage_all_runs(wildcards):
    """folds.csv of every (experiment, dataset) leakage run (what the table aggregates)."""
    unknown = sorted(set(LEAKAGE_EXPERIMENTS) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"config leakage.experiments names unknown experiment(s) {unknown}")
    return [
        LEAKAGE_RUN.format(experiment=e, dataset=d)
        for e in LEAKAGE_EXPERIMENTS
        for d in LEAKAGE_DATASETS
        if leakage_dataset_arms(d)
    ]


def leakage_experiment(wildcards):
    """The experiment's settings with the leakage table's epoch count."""
    return {**experiment_config(wildcards.experiment), "epochs": int(LEAKAGE["epochs"])}


def leakage_arm_entry(name):
    """An arm's config entry without what the folds and runs do not use (its datasets, label)."""
    return {k: v for k, v in LEAKAGE_ARMS[name].items() if k not in ("datasets", "label")}


def leakage_run_arms(wildcards):
    return [(a, leakage_arm_entry(a)) for a in leakage_dataset_arms(wildcards.dataset)]


def leakage_run_inputs(wildcards):
    """The fold inputs of the experiment's model family, with the dataset's arm folds."""
    exp = experiment_config(wildcards.experiment)
    if exp["model"] == "svm":
        inputs = svm_fold_inputs(exp, wildcards.dataset)
    elif exp["model"] == "rtcan1d":
        inputs = network_fold_inputs(exp, wildcards.dataset)
    else:
        raise ValueError(
            f"leakage: experiment {exp['name']} has model {exp['model']!r}; "
            "the leakage table runs rtcan1d networks and SVM baselines"
        )
    inputs["splits_csv"] = f"results/{wildcards.dataset}/leakage/arm_splits.csv"
    return inputs


# ---- input functions of rules/maan.smk ----


def maan_report_experiments():
    """The MAAN experiments the table and the figure read (config experiments, model maan)."""
    names = [row["experiment"] for row in MAAN["table"]]
    names += [MAAN["figure"]["experiment"], MAAN["figure"]["basic"]]
    wrong = sorted({n for n in names if n not in EXPERIMENTS or EXPERIMENTS[n]["model"] != "maan"})
    if wrong:
        raise ValueError(
            f"config maan.table / maan.figure name {wrong}: not experiments of config "
            "`experiments` with model maan"
        )
    return list(dict.fromkeys(names))


def maan_table_runs(name):
    """Run file `name` of every dimension and fold of the table's and figure's experiments
    (trained by the fold runner, rules/training.smk)."""
    return [
        f"{run_dir(exp, MAAN_DATASET, dim, fold)}/{name}"
        for exp in maan_report_experiments()
        for dim in DIMENSIONS
        for fold in FOLDS
    ]


# ---- output functions of rules/training.smk ----


def kept_models(paths):
    """model.pt output(s): temp() unless config training.keep_models."""
    return paths if config["training"]["keep_models"] else temp(paths)


def kept_model_files():
    """model.pt of every dimension and fold of the kept pairs (targets of `all`)."""
    return [
        f"{run_dir(name, dataset, dim, fold)}/model.pt"
        for name, dataset in KEPT_MODELS
        for dim in DIMENSIONS
        for fold in FOLDS
    ]
