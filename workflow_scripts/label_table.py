"""Rules `table1` / `table2`: labels.csv of every dataset -> the paper's Table 1 or 2."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.reporting.label_tables import write_label_table

params = smk.params
frame = write_label_table(
    params.table,
    dict(zip(params.datasets, smk.input.labels, strict=True)),
    dict(zip(params.datasets, params.synthetic, strict=True)),
    smk.output.csv,
    smk.output.md,
    config_sha=params.config_sha,
    inputs_index_csvs=dict(zip(params.datasets, smk.input.inputs_index, strict=True)),
)
log.info("%s:\n%s", params.table, frame.to_string(index=False))
