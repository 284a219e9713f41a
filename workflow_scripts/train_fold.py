"""Rules train_network / train_network_folds: train a network on one fold (or, packed, on every
fold in one process), choose the epoch on validation, test once."""

from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821

from edaffect.training import run_fold  # noqa: E402  (after logging, so import errors are logged)

params, output = snakemake.params, snakemake.output  # noqa: F821
folds = getattr(params, "folds", None) or [int(snakemake.wildcards.fold)]  # noqa: F821


def per_fold(paths):
    return [paths] if isinstance(paths, str) else list(paths)


for fold, metrics, predictions, model in zip(
    folds, per_fold(output.metrics), per_fold(output.predictions), per_fold(output.model),
    strict=True,
):
    run_fold(
        params.experiment,
        snakemake.wildcards.dataset,  # noqa: F821
        snakemake.wildcards.dimension,  # noqa: F821
        int(fold),
        inputs=dict(snakemake.input),  # noqa: F821
        training=dict(params.training),
        seed=int(params.seed),
        threads=int(snakemake.threads),  # noqa: F821
        metrics_json=metrics,
        predictions_csv=predictions,
        model_pt=model,
    )
