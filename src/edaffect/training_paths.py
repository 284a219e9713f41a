"""Stage files one fold training reads (used by rules/training.smk at DAG time; no torch import)."""

from __future__ import annotations

MUSIC_DATASET = "pmemo"  # the only dataset with music (openSMILE song features)


def network_fold_inputs(experiment: dict, dataset: str) -> dict[str, str]:
    """Folds, labels, the model inputs (signals, or the hand-crafted features for cnn3) and the
    song features when the experiment fuses music on the music dataset; keys are the keyword
    arguments of `edaffect.training.load_fold_data`."""
    inputs = {
        "splits_csv": f"results/{dataset}/splits.csv",
        "labels_csv": f"results/{dataset}/labels.csv",
    }
    if experiment["model"] == "cnn3" or experiment.get("input") == "eda_features":
        inputs["eda_features_csv"] = f"results/{dataset}/eda_features.csv"
    else:
        inputs["inputs_npy"] = f"results/{dataset}/inputs.npy"
        inputs["inputs_index_csv"] = f"results/{dataset}/inputs_index.csv"
    if experiment.get("music") and dataset == MUSIC_DATASET:
        inputs["music_features_csv"] = f"results/{MUSIC_DATASET}/music_features.csv"
    return inputs
