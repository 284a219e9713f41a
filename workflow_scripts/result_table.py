"""Rules `table3`..`table6`: per-fold metrics.json -> the paper table (csv, md, tex)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.reporting.result_tables import write_result_table

params = smk.params
out = smk.output
frame = write_result_table(
    params.table,
    list(smk.input.metrics),
    dict(params.config),
    dict(params.experiments),
    out.csv,
    out.md,
    out.tex,
    ceiling_paths=list(smk.input.ceilings),
)
log.info("%s: %d rows written to %s", params.table, len(frame), out.md)
