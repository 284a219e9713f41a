"""Rules `table1` / `table2`: labels.csv of every dataset -> the paper's Table 1 or 2."""

from edaffect.reporting.label_tables import write_label_table
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
frame = write_label_table(
    params.table,
    dict(zip(params.datasets, snakemake.input.labels, strict=True)),  # noqa: F821
    dict(zip(params.datasets, params.synthetic, strict=True)),
    snakemake.output.csv,  # noqa: F821
    snakemake.output.md,  # noqa: F821
    config_sha=params.config_sha,
)
log.info("%s:\n%s", params.table, frame.to_string(index=False))
