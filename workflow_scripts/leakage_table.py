"""Rule `leakage_table`: the leakage runs -> results/tables/leakage.{csv,md} + the figure."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.reporting.result_tables import data_line  # noqa: E402
from edaffect.studies.leakage.study import protocol_from_config, write_leakage_table  # noqa: E402

protocols = [protocol_from_config(name, dict(entry)) for name, entry in smk.params.protocols]
table = write_leakage_table(
    list(smk.input.metrics),
    protocols,
    smk.output.csv,
    smk.output.md,
    smk.output.png,
    smk.output.pdf,
    config_line=data_line(dict(smk.params.config), list(smk.params.datasets)) + ".",
    n_folds=int(smk.params.n_folds),
    epochs=int(smk.params.epochs),
)
log.info("leakage table: %d rows", len(table))
