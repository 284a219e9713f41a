"""Rule `continuous_table`: results/tables/continuous_table.{csv,md} and the traces figure."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.continuous.report import traces_figure, write_continuous_table

write_continuous_table(smk.input.metrics, smk.output.csv, smk.output.md, smk.params.config)
traces_figure(smk.input.predictions, smk.output.png, smk.output.pdf, smk.params.config)
log.info("wrote %s", smk.output.md)
