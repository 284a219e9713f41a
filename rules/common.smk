"""Config validation, constants and input functions shared by every stage.

Each stage file appends its final outputs to ALL_TARGETS; rule `all` asks for them.
"""

import json
import os

from snakemake.utils import min_version, validate

min_version("9.20")


validate(config, schema="../config/schema.yaml")

DATASETS = list(config["datasets"])
DIMENSIONS = list(config.get("dimensions", ["valence", "arousal"]))
N_FOLDS = int(config["split"]["n_folds"])
FOLDS = list(range(N_FOLDS))
EXPERIMENTS = config.get("experiments", {})
ALL_TARGETS = []


def all_targets(wildcards):
    """The study's final outputs as the stages define them (what `all` builds)."""
    return ALL_TARGETS


def dataset_root(dataset):
    """Folder holding `dataset` in its native layout (synthetic or real)."""
    return config["datasets"][dataset]["root"]


def is_synthetic(dataset):
    return config["datasets"][dataset]["synthetic"] is not False


def dataset_source(wildcards):
    """Input that stands for the dataset's files: the generator's ground truth when synthetic,
    nothing (but a checked root) when the user points at a real copy."""
    dataset = wildcards.dataset
    if is_synthetic(dataset):
        return f"{dataset_root(dataset)}/ground_truth.csv"
    root = dataset_root(dataset)
    if not os.path.isdir(root):
        raise ValueError(
            f"config key datasets.{dataset}.root: folder {root!r} does not exist "
            f"(datasets.{dataset}.synthetic is false, so a real copy is expected there)"
        )
    return []


def experiment_config(name):
    """An experiment's settings with the defaults filled in (see config.yaml: experiments)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; config.yaml defines {sorted(EXPERIMENTS)}")
    exp = {
        "modules": [],
        "music": False,
        "input": "eda",
        "fraction": 1.0,
        "depth": 1,
        "channels": [64, 64, 64, 64],
    }
    exp.update(EXPERIMENTS[name])
    exp["name"] = name
    return exp


def is_network(name):
    return experiment_config(name)["model"] in ("rtcan1d", "ressin")


def fraction_tag(fraction):
    """Subject-subset tag used in file names: 1.0 -> 'p100', 0.1 -> 'p10'."""
    return f"p{round(float(fraction) * 100)}"


def run_dir(experiment, dataset, dimension, fold):
    return f"results/runs/{experiment}/{dataset}/{dimension}/fold{fold}"


def fold_metrics(experiment, dataset):
    """metrics.json of every (dimension, fold) of one experiment on one dataset."""
    return [
        f"{run_dir(experiment, dataset, dim, fold)}/metrics.json"
        for dim in DIMENSIONS
        for fold in FOLDS
    ]


def table_rows(table):
    return config.get("tables", {}).get(table, [])


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


# ---- input functions of rules/features.smk ----


def features_song_ids():
    """PMEmo musicIds of trials.csv (after the trial_table checkpoint), numeric order."""
    from edaffect.music import song_ids

    checkpoints.trial_table.get(dataset=MUSIC_DATASET)
    return song_ids(f"results/{MUSIC_DATASET}/trials.csv")


def features_music_source():
    """'audio' or 'csv', decided at DAG time from the chorus folder (edaffect.music)."""
    from edaffect.music import choose_source

    return choose_source(dataset_root(MUSIC_DATASET), features_song_ids(), MUSIC_SOURCE)


def features_song_audio(wildcards):
    """The chorus audio of one song (wav preferred over mp3)."""
    from edaffect.music import find_audio

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
    if FEATURES_OPTIONS.get("phasic_method", "decomposition") == "decomposition":
        inputs["inputs_index"] = f"results/{wildcards.dataset}/inputs_index.csv"
    return inputs


# ---- input functions of rules/baselines.smk ----


def baselines_inputs(wildcards):
    """Stage files one SVM fold reads: folds, labels, the networks' trial list, its features."""
    exp = experiment_config(wildcards.experiment)
    kind = exp["input"]
    inputs = {
        "splits": f"results/{wildcards.dataset}/splits.csv",
        "labels": f"results/{wildcards.dataset}/labels.csv",
        "inputs_index": f"results/{wildcards.dataset}/inputs_index.csv",
    }
    if "eda_features" in kind:
        inputs["eda_features"] = f"results/{wildcards.dataset}/eda_features.csv"
    if "music_features" in kind:
        if wildcards.dataset != MUSIC_DATASET:
            raise ValueError(
                f"experiment {wildcards.experiment}: input {kind!r} needs music, which only "
                f"{MUSIC_DATASET} has (asked for {wildcards.dataset})"
            )
        inputs["music_features"] = f"results/{MUSIC_DATASET}/music_features.csv"
    if kind not in ("eda_features", "music_features", "eda_features+music_features"):
        raise ValueError(f"experiment {wildcards.experiment}: the SVM cannot take input {kind!r}")
    return inputs


# ---- input functions of rules/training.smk ----


def packed_fold_outputs(name):
    """One file `name` of every fold of an (experiment, dataset, dimension): packed training."""
    pattern = "results/runs/{{experiment}}/{{dataset}}/{{dimension}}/fold{fold}/"
    return expand(pattern + name, fold=FOLDS)


# ---- input functions of rules/ressin.smk ----


def ressin_json(*keys):
    """Some keys of config `ressin` as JSON (so a rule reruns only when they change)."""
    return json.dumps({key: RESSIN[key] for key in keys if key in RESSIN}, sort_keys=True)


def ressin_table2_experiments():
    """Every experiment Table 2 reads (Res-SIN rows and the SVM + music baseline)."""
    names = list(RESSIN_TABLE2.get("components", {}).values())
    names += list(RESSIN_TABLE2.get("features", {}).values())
    unknown = sorted(set(names) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"config ressin.table2 names unknown experiment(s) {unknown}")
    return list(dict.fromkeys(names))


def ressin_fold_inputs(wildcards):
    """What one Res-SIN fold reads: its images, labels, folds and (if fused) the music."""
    exp = experiment_config(wildcards.experiment)
    inputs = {
        "images": f"results/{wildcards.dataset}/ressin/images.npy",
        "images_index": f"results/{wildcards.dataset}/ressin/images_index.csv",
        "labels": f"results/{wildcards.dataset}/labels.csv",
        "splits": f"results/{wildcards.dataset}/splits.csv",
    }
    if exp["music"]:
        if wildcards.dataset != RESSIN_DATASET:
            raise ValueError(
                f"experiment {wildcards.experiment}: music fusion needs {RESSIN_DATASET} "
                f"(asked for {wildcards.dataset})"
            )
        inputs["music"] = f"results/{RESSIN_DATASET}/music_features.csv"
    return inputs
