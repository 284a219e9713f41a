# Constants and input functions of rules/reporting.smk (kept apart from the rules, as the
# Snakemake linter asks): which runs each table and figure reads.


def incremental_experiments():
    """Table 3 rows of the subject-incremental study (Fig. 4): (experiment, dataset) of every
    method that the table runs at more than one subject subset on PMEmo."""
    rows = [
        r
        for r in table_rows("table3")
        if r["dataset"] == MUSIC_DATASET and r["dataset"] in DATASETS and r["paper"].get("subset")
    ]
    methods = [r["paper"]["method"] for r in rows]
    return [r for r in rows if methods.count(r["paper"]["method"]) > 1]


def fig4_metrics(wildcards):
    paths = []
    for row in incremental_experiments():
        paths += fold_metrics(row["experiment"], row["dataset"])
    return paths


def table_predictions(table):
    return [p.replace("metrics.json", "predictions.csv") for p in table_metrics(table)]


def report_experiments():
    """Every experiment a table or figure names, with its defaults filled in (rule params)."""
    names = {r["experiment"] for rows in config["tables"].values() for r in rows}
    names |= set(GRADCAM_EXPERIMENTS)
    return {name: experiment_config(name) for name in sorted(names) if name in EXPERIMENTS}


def gradcam_runs(dimension, filename):
    return [
        f"{run_dir(exp, GRADCAM_DATASET, dimension, GRADCAM_FOLD)}/{filename}"
        for exp in GRADCAM_EXPERIMENTS
    ]


def gradcam_inputs(dimension):
    """Everything Figs. 5-8 read: the trained models of the last fold, their predictions and the
    fold's inputs (as `edaffect.training.trainer.load_fold_data` takes them)."""
    data = f"results/{GRADCAM_DATASET}"
    inputs = {
        "models": gradcam_runs(dimension, "model.pt"),
        "predictions": gradcam_runs(dimension, "predictions.csv"),
        "splits": f"{data}/splits.csv",
        "labels": f"{data}/labels.csv",
        "inputs": f"{data}/inputs.npy",
        "index": f"{data}/inputs_index.csv",
        "trials": f"{data}/trials.csv",
    }
    uses_music = any(e in EXPERIMENTS and EXPERIMENTS[e]["music"] for e in GRADCAM_EXPERIMENTS)
    if GRADCAM_DATASET == MUSIC_DATASET and uses_music:
        inputs["music"] = f"{data}/music_features.csv"
    return inputs


HAS_FIG4 = bool(incremental_experiments())
HAS_GRADCAM = GRADCAM_DATASET in DATASETS and all(
    exp in EXPERIMENTS and is_network(exp) for exp in GRADCAM_EXPERIMENTS
)
