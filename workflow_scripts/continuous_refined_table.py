"""Rule `refined_labels_table`: results/tables/refined_labels_table.{csv,md} + accuracy vs s."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.continuous.report import write_refined_table

write_refined_table(smk.input.metrics, smk.output.csv, smk.output.md, smk.output.png,
                    smk.output.pdf, smk.params.config)
log.info("wrote %s", smk.output.md)
