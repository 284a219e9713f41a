"""The fold runner: which code trains each model family, and how folds map to jobs.

Every trained experiment (networks, SVM, Res-SIN, and any family added through config) is run by
the rules of rules/training.smk (docs/architecture.md, The fold runner) and one script
(workflow_scripts/train_folds.py):

- `training.fold_mode: per_fold`  -> rule `train_fold`: one job per (experiment, dataset,
  dimension, fold) (clusters: one GPU job per fold);
- `packed` (default)              -> rule `train_folds`: one job trains every dimension and fold
  of an (experiment, dataset) in one process, one fold after the other (saves the interpreter
  + torch start-up per fold on a laptop; an experiment read in some dimensions only: rule
  `train_dimension_folds`, one job per dimension);
- `vectorised`                    -> rule `train_folds`, and a family that provides
  `train_vectorised` trains all folds at once in that one process (others fall back to packed).

The mode is a runtime choice: both rules write the same files with the same params (only
result-changing settings are params), so switching modes leaves every finished fold up to date.

A model family is a `ModelFamily`: the stage files one fold reads (a function used at DAG time,
without importing torch), the function that trains a job's folds ("module:function", imported in
the job only), and the config settings that change its results (rule params).  Built-in families
are below; config `model_families` adds more by name (see docs/architecture.md, "Add a model").
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edaffect.training.paths import (
    MUSIC_DATASET,
    network_fold_inputs,
    ressin_fold_inputs,
    signal_network_fold_inputs,
    svm_fold_inputs,
)

log = logging.getLogger(__name__)

FOLD_MODES = ("per_fold", "packed", "vectorised")
# Config settings that never change a result: read at run time, never rule params or hashes.
RUNTIME_KEYS = {
    "training": ("device", "threads", "gpu", "fold_mode", "checkpoint_every", "keep_models",
                 "kept_models"),
    "decomposition": ("threads",),
}


def canonical(value: object) -> object:
    """Dicts with sorted keys, recursively: Snakemake compares params in order, and the order
    of config keys depends on how config files were layered, not on the settings."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return value


def provenance_config(config: dict) -> dict:
    """The config without its runtime settings: what table headers hash and table rules take as
    params, so that changing threads, device, GPU or packing reruns nothing."""
    return canonical({
        key: {k: v for k, v in value.items() if k not in RUNTIME_KEYS[key]}
        if key in RUNTIME_KEYS else value
        for key, value in config.items()
    })


@dataclass(frozen=True)
class ModelFamily:
    """One kind of trained model, as the fold runner sees it.

    Parameters
    ----------
    name
        The family's name (an experiment's `model`).
    inputs
        `inputs(experiment, dataset) -> {name: stage file}`, called at DAG time (no heavy
        imports).
    train
        A function, or "module:function" imported in the job only, taking a `FoldJob` and writing
        every fold's run files (`training.run_files.write_run_files`).
    settings
        Dotted config keys whose values change this family's results (rule params).
    gpu
        Whether its jobs ask for a GPU when `training.gpu` is true.
    train_vectorised
        Optional "module:function" for `fold_mode: vectorised`.
    mem_mb, runtime_min
        A fold's memory and time, for cluster jobs.
    """

    name: str
    inputs: Callable[[dict, str], dict[str, str]]
    train: str | Callable[[FoldJob], list[dict]]
    settings: tuple[str, ...]
    gpu: bool = True
    train_vectorised: str | Callable[[FoldJob], list[dict]] | None = None
    mem_mb: int = 3000
    runtime_min: int = 60


BUILTIN_FAMILIES: dict[str, ModelFamily] = {
    # preprocessing: what `edaffect predict` must repeat, stored in every model.pt (a param)
    "rtcan1d": ModelFamily(
        "rtcan1d", signal_network_fold_inputs, "edaffect.training.trainer:train_folds",
        ("training", "preprocessing"),
        train_vectorised="edaffect.training.vectorised:train_folds",
    ),
    "cnn3": ModelFamily(
        "cnn3", network_fold_inputs, "edaffect.training.trainer:train_folds", ("training",),
        train_vectorised="edaffect.training.vectorised:train_folds",
    ),
    "svm": ModelFamily(
        "svm", svm_fold_inputs, "edaffect.training.fold_runner:train_svm_folds",
        ("baselines.svm_c",),
        gpu=False, mem_mb=4000, runtime_min=30,
    ),
    "ressin": ModelFamily(
        "ressin", ressin_fold_inputs, "edaffect.studies.ressin.training:train_folds",
        ("training", "ressin"), mem_mb=8000, runtime_min=240,
    ),
}
# Keys of config sections that are study settings but not a trained fold's (Res-SIN's tables).
NOT_FOLD_SETTINGS = {"ressin": ("table2", "regression")}


def _load_object(spec: str, base: str | Path = ".") -> object:
    """`package.module:name` or `path/to/file.py:name` (relative to `base`) -> the object."""
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValueError(f"model family {spec!r}: expected 'module:name' or 'file.py:name'")
    if module_name.endswith(".py"):
        path = (Path(base) / module_name).resolve()
        if not path.exists():
            raise ValueError(f"model family {spec!r}: no file {path}")
        key = "edaffect_family_" + re.sub(r"\W", "_", path.stem)
        if key not in sys.modules:
            loader = importlib.util.spec_from_file_location(key, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[key] = module
            loader.loader.exec_module(module)
        module = sys.modules[key]
    else:
        module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"model family {spec!r}: {module_name} has no {attribute!r}") from None


# The studies' families, built in by name: they live above this room (studies/), so the registry
# names them instead of importing them (docs/architecture.md, "The package in rooms").
STUDY_FAMILIES: dict[str, str] = {
    "stimulus": "edaffect.training.stimulus_baseline:FAMILY",
    "maan": "edaffect.studies.maan.study:FAMILY",
    "tcn": "edaffect.studies.continuous.fit:TCN_FAMILY",
    "ridge": "edaffect.studies.continuous.fit:RIDGE_FAMILY",
    "constant": "edaffect.studies.continuous.fit:CONSTANT_FAMILY",
    "song_lookup": "edaffect.studies.continuous.fit:SONG_LOOKUP_FAMILY",
    "refined_lstm": "edaffect.studies.continuous.refined:FAMILY",
}


def model_families(config: dict, base: str | Path = ".") -> dict[str, ModelFamily]:
    """The one registry of model families.

    Parameters
    ----------
    config
        The validated config; its `model_families` ({name: "module:OBJECT" or
        "file.py:OBJECT"}) adds a user's own families (a built-in name may not be reused).
    base
        Folder that relative `file.py` paths are read from.

    Returns
    -------
    dict
        Every family by name: the built-in ones (`BUILTIN_FAMILIES`, `STUDY_FAMILIES`) and the
        config's.
    """
    families = dict(BUILTIN_FAMILIES)
    for name, spec in STUDY_FAMILIES.items():
        families[name] = _load_object(spec)
    for name, spec in config["model_families"].items():
        if name in families:
            raise ValueError(f"config model_families.{name}: {name!r} is a built-in family; "
                             "choose another name for your own")
        family = _load_object(spec, base)
        if not isinstance(family, ModelFamily):
            raise ValueError(f"config model_families.{name}: {spec!r} is not a ModelFamily")
        families[name] = family
    return families


def family_of(experiment: dict, families: dict[str, ModelFamily]) -> ModelFamily:
    model = experiment["model"]
    if model not in families:
        raise ValueError(
            f"experiment {experiment['name']!r}: model {model!r} has no family "
            f"(known: {sorted(families)}; add one under config model_families)"
        )
    return families[model]


def fold_mode(training: dict) -> str:
    """`training.fold_mode`: per_fold, packed or vectorised (docs/architecture.md)."""
    mode = training["fold_mode"]
    if mode not in FOLD_MODES:
        raise ValueError(f"training.fold_mode must be one of {FOLD_MODES}, not {mode!r}")
    return mode


def _lookup(config: dict, dotted: str) -> object:
    node = config
    for key in dotted.split("."):
        node = node[key]
    return node


def result_settings(config: dict, family: ModelFamily) -> dict:
    """The settings that change a fold's results (rule params): the family's config keys, with
    runtime keys (threads, device, GPU, packing, checkpoints) and table-only keys left out."""
    out = {}
    for dotted in family.settings:
        value = _lookup(config, dotted)
        if dotted in RUNTIME_KEYS:
            value = {k: v for k, v in value.items() if k not in RUNTIME_KEYS[dotted]}
        elif dotted in NOT_FOLD_SETTINGS:
            value = {k: v for k, v in value.items() if k not in NOT_FOLD_SETTINGS[dotted]}
        out[dotted] = value
    return canonical(out)


@dataclass
class FoldJob:
    """Everything one training job needs: which folds, where their files go, what to read."""

    experiment: dict
    dataset: str
    dimension: str
    folds: list[int]
    run_dirs: list[Path]
    inputs: dict[str, str]
    settings: dict  # result_settings(): {dotted key: value}
    seed: int
    threads: int
    device: str = field(default="auto")  # runtime only (training.device)
    checkpoint_every: int = field(default=1)  # runtime only (training.checkpoint_every)
    mode: str = field(default="packed")

    def training(self) -> dict:
        """config `training` as the trainers read it: result settings + runtime settings."""
        return {
            **self.settings.get("training", {}),
            "device": self.device,
            "checkpoint_every": self.checkpoint_every,
        }


def fold_of(run_dir: str | Path) -> int:
    """Fold number of a run directory (results/runs/.../fold{k})."""
    match = re.fullmatch(r"fold(\d+)", Path(run_dir).name)
    if not match:
        raise ValueError(f"{run_dir}: not a run directory (expected .../fold<k>)")
    return int(match.group(1))


def runs_by_dimension(metrics_paths: list[str]) -> dict[str, tuple[list[int], list[Path]]]:
    """A training job's metrics.json outputs -> {dimension: (folds, run directories)}, in the
    order given: a packed job trains each dimension's folds as one `FoldJob`."""
    out: dict[str, tuple[list[int], list[Path]]] = {}
    for path in metrics_paths:
        run = Path(path).parent
        folds, runs = out.setdefault(run.parent.name, ([], []))
        folds.append(fold_of(run))
        runs.append(run)
    return out


def run_job(job: FoldJob, family: ModelFamily) -> list[dict]:
    """Train a job's folds with its family's code.

    Parameters
    ----------
    job
        Which experiment, dataset, dimension and folds, the stage files to read and where each
        fold's run files go.
    family
        The model family (`model_families`); its `train_vectorised` is used when
        `job.mode == "vectorised"` and it has one, else its `train`.

    Returns
    -------
    list of dict
        Each fold's metrics (as written to its metrics.json).
    """
    spec = family.train
    if job.mode == "vectorised":
        if family.train_vectorised:
            spec = family.train_vectorised
        else:
            log.info("family %s has no vectorised trainer: folds one after the other",
                     family.name)
    trainer = _load_object(spec) if isinstance(spec, str) else spec
    return trainer(job)


def train_svm_folds(job: FoldJob) -> list[dict]:
    """SVM family: `edaffect.training.baselines.write_svm_fold` per fold (stage files read per
    fold)."""
    from edaffect.training.baselines import write_svm_fold

    return [
        write_svm_fold(
            run_dir, job.inputs, experiment=job.experiment["name"], dataset=job.dataset,
            dimension=job.dimension, fold=fold, fraction=float(job.experiment["fraction"]),
            kind=job.experiment["input"], c=float(job.settings["baselines.svm_c"]),
        )
        for fold, run_dir in zip(job.folds, job.run_dirs, strict=True)
    ]


__all__ = [
    "BUILTIN_FAMILIES", "FOLD_MODES", "FoldJob", "ModelFamily", "MUSIC_DATASET", "family_of",
    "fold_mode", "fold_of", "model_families", "provenance_config", "result_settings", "run_job",
    "runs_by_dimension",
]
