"""Rule train_network_folds: train one network on every fold in one process (local mode)."""

from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821

from edaffect.training import run_fold  # noqa: E402  (after logging, so import errors are logged)

for index, fold in enumerate(snakemake.params.folds):  # noqa: F821
    run_fold(
        snakemake.params.experiment,  # noqa: F821
        snakemake.wildcards.dataset,  # noqa: F821
        snakemake.wildcards.dimension,  # noqa: F821
        int(fold),
        inputs=dict(snakemake.input),  # noqa: F821
        training=dict(snakemake.params.training),  # noqa: F821
        seed=int(snakemake.params.seed),  # noqa: F821
        threads=int(snakemake.threads),  # noqa: F821
        metrics_json=snakemake.output.metrics[index],  # noqa: F821
        predictions_csv=snakemake.output.predictions[index],  # noqa: F821
        model_pt=snakemake.output.model[index],  # noqa: F821
    )
