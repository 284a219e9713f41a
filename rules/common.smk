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


wildcard_constraints:
    dataset="|".join(DATASETS) if DATASETS else "none",
    dimension="valence|arousal",
    fold=r"\d+",
    batch=r"\d+",
    experiment=r"[A-Za-z0-9_\-]+",


def all_targets(wildcards):
    """Everything rule `all` builds: the study's final outputs as the stages define them."""
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
