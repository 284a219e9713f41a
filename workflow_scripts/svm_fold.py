"""Rules svm_fold / svm_folds: an SVM baseline on one fold (or, packed, on every fold in one
process) -> metrics.json + predictions.csv."""

from edaffect.baselines import write_svm_fold
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
params, inputs, output = snakemake.params, snakemake.input, snakemake.output  # noqa: F821
folds = getattr(params, "folds", None) or [int(snakemake.wildcards.fold)]  # noqa: F821


def per_fold(paths):
    return [paths] if isinstance(paths, str) else list(paths)


for fold, metrics, predictions in zip(
    folds, per_fold(output.metrics), per_fold(output.predictions), strict=True
):
    write_svm_fold(
        experiment=snakemake.wildcards.experiment,  # noqa: F821
        dataset=snakemake.wildcards.dataset,  # noqa: F821
        dimension=snakemake.wildcards.dimension,  # noqa: F821
        fold=int(fold),
        fraction=params.fraction,
        kind=params.kind,
        c=params.c,
        splits_csv=inputs.splits,
        labels_csv=inputs.labels,
        eda_features_csv=inputs.get("eda_features"),
        music_features_csv=inputs.get("music_features"),
        inputs_index_csv=inputs.inputs_index,
        metrics_json=metrics,
        predictions_csv=predictions,
    )
