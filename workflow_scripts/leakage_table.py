"""Rule `leakage_table`: the leakage runs -> results/tables/leakage.{csv,md} + the figure."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.reporting.provenance import data_line  # noqa: E402
from edaffect.studies.leakage.arms import arm_from_config, contrast_from_config  # noqa: E402
from edaffect.studies.leakage.table import write_leakage_table  # noqa: E402

table = write_leakage_table(
    list(smk.input.runs),
    [arm_from_config(name, dict(entry)) for name, entry in smk.params.arms],
    [contrast_from_config(dict(entry)) for entry in smk.params.contrasts],
    smk.output.csv,
    smk.output.md,
    smk.output.png,
    smk.output.pdf,
    config_line=data_line(dict(smk.params.config), list(smk.params.datasets)) + ".",
    n_folds=int(smk.params.n_folds),
    epochs=int(smk.params.epochs),
    draws=int(smk.params.draws),
)
log.info("leakage table: %d rows", len(table))
