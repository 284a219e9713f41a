"""Rule `ressin_table1`: Res-SIN Table 1 (regression pre-experiment) beside the paper's values."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.ressin.tables import write_table1

write_table1(
    smk.input.regression,
    smk.output.csv,
    smk.output.md,
    smk.params.config,
    smk.params.dataset,
)
