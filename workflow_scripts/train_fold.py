"""Rule train_network: train one network on one fold, choose the epoch on validation, test once."""

from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821

from edaffect.training import run_fold  # noqa: E402  (after logging, so import errors are logged)

run_fold(
    snakemake.params.experiment,  # noqa: F821
    snakemake.wildcards.dataset,  # noqa: F821
    snakemake.wildcards.dimension,  # noqa: F821
    int(snakemake.wildcards.fold),  # noqa: F821
    inputs=dict(snakemake.input),  # noqa: F821
    training=dict(snakemake.params.training),  # noqa: F821
    seed=int(snakemake.params.seed),  # noqa: F821
    threads=int(snakemake.threads),  # noqa: F821
    metrics_json=snakemake.output.metrics,  # noqa: F821
    predictions_csv=snakemake.output.predictions,  # noqa: F821
    model_pt=snakemake.output.model,  # noqa: F821
)
