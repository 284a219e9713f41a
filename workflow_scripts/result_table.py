"""Rules `table3`..`table6`: per-fold metrics.json -> the paper table (csv, md, tex)."""

from edaffect.reporting.result_tables import write_result_table
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
out = snakemake.output  # noqa: F821
frame = write_result_table(
    params.table,
    list(snakemake.input.metrics),  # noqa: F821
    dict(params.config),
    dict(params.experiments),
    out.csv,
    out.md,
    out.tex,
)
log.info("%s: %d rows written to %s", params.table, len(frame), out.md)
