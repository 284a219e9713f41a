"""Run-folder paths and the stage files one fold of each model family reads (used by the
workflow at DAG time and by the fold runner; no torch import)."""

from __future__ import annotations

MUSIC_DATASET = "pmemo"  # the only dataset with music (openSMILE song features)
RUN_DIR = "results/runs/{experiment}/{dataset}/{dimension}/fold{fold}"
RUN_FILES = ("metrics.json", "predictions.csv", "model.pt")  # what every trained fold writes


def run_dir(experiment: str, dataset: str, dimension: str, fold: int | str) -> str:
    """The one place a fold's run folder is spelled (results/runs/...)."""
    return RUN_DIR.format(experiment=experiment, dataset=dataset, dimension=dimension, fold=fold)


def _music_dataset_only(experiment: dict, dataset: str, what: str) -> None:
    if dataset != MUSIC_DATASET:
        raise ValueError(
            f"experiment {experiment['name']}: {what} needs music, which only {MUSIC_DATASET} "
            f"has (asked for {dataset})"
        )


def network_fold_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """Folds, labels, the model inputs (signals, or the hand-crafted features for cnn3) and the
    song features when the experiment fuses music on the music dataset; keys are the keyword
    arguments of `edaffect.training.trainer.load_fold_data`."""
    inputs = {
        "splits_csv": f"results/{dataset}/splits.csv",
        "labels_csv": f"results/{dataset}/labels.csv",
    }
    if experiment["model"] == "cnn3" or experiment["input"] == "eda_features":
        inputs["eda_features_csv"] = f"results/{dataset}/eda_features.csv"
    else:
        inputs["inputs_npy"] = f"results/{dataset}/inputs.npy"
        inputs["inputs_index_csv"] = f"results/{dataset}/inputs_index.csv"
    if experiment["music"] and dataset == MUSIC_DATASET:
        inputs["music_features_csv"] = f"results/{MUSIC_DATASET}/music_features.csv"
    return inputs


# What a signal network's model.pt records for `edaffect predict`
# (edaffect.training.inference_metadata.job_inference)
# reads the trials' rate and length from trials.csv: an input of those folds, not of load_fold_data.
INFERENCE_INPUT = "trials_csv"


def signal_network_fold_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """rtcan1d folds: `network_fold_inputs` plus trials.csv (INFERENCE_INPUT) for the inference
    metadata that every trained signal network stores beside its weights."""
    return {**network_fold_inputs(experiment, dataset),
            INFERENCE_INPUT: f"results/{dataset}/trials.csv"}


def loader_inputs(inputs: dict) -> dict:
    """A fold job's inputs as `edaffect.model_selection.fold_data.load_fold_data` takes them
    (INFERENCE_INPUT
    left out)."""
    return {key: value for key, value in inputs.items() if key != INFERENCE_INPUT}


SVM_INPUTS = ("eda_features", "music_features", "eda_features+music_features")


def svm_fold_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """Folds, labels, the networks' trial list (same trials) and the SVM's features."""
    kind = experiment["input"]
    if kind not in SVM_INPUTS:
        raise ValueError(f"experiment {experiment['name']}: the SVM cannot take input {kind!r}")
    inputs = {
        "splits_csv": f"results/{dataset}/splits.csv",
        "labels_csv": f"results/{dataset}/labels.csv",
        "inputs_index_csv": f"results/{dataset}/inputs_index.csv",
    }
    if "eda_features" in kind:
        inputs["eda_features_csv"] = f"results/{dataset}/eda_features.csv"
    if "music_features" in kind:
        _music_dataset_only(experiment, dataset, f"input {kind!r}")
        inputs["music_features_csv"] = f"results/{MUSIC_DATASET}/music_features.csv"
    return inputs


def ressin_fold_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """Res-SIN: its signal images, labels, folds and (if fused) the songs' features."""
    inputs = {
        "images_npy": f"results/{dataset}/ressin/images.npy",
        "images_index_csv": f"results/{dataset}/ressin/images_index.csv",
        "labels_csv": f"results/{dataset}/labels.csv",
        "splits_csv": f"results/{dataset}/splits.csv",
    }
    if experiment["music"]:
        _music_dataset_only(experiment, dataset, "music fusion")
        inputs["music_features_csv"] = f"results/{MUSIC_DATASET}/music_features.csv"
    return inputs
