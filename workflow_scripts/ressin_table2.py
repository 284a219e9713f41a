"""Rule `ressin_table2`: Res-SIN Table 2 (inputs; features) with fold-paired tests vs mix."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.ressin.tables import write_table2

write_table2(
    list(smk.input.metrics),
    smk.output.csv,
    smk.output.md,
    smk.params.config,
    smk.params.dataset,
)
