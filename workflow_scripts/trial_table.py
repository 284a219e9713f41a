"""Checkpoint trial_table: read a dataset's native files -> trials.csv, raw_eda.npz, exclusions."""

from edaffect.datasets import write_trial_table
from edaffect.rule_io import log_to_file

log_to_file(snakemake.log[0])  # noqa: F821
write_trial_table(
    snakemake.wildcards.dataset,  # noqa: F821
    snakemake.params.root,  # noqa: F821
    trials_csv=snakemake.output.trials,  # noqa: F821
    raw_npz=snakemake.output.raw_eda,  # noqa: F821
    excluded_csv=snakemake.output.excluded,  # noqa: F821
)
