"""Rules `report_table{n}`: results/tables/table{n}.md -> an HTML page for the Snakemake report."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.reporting.table_rendering import markdown_table_html

markdown_table_html(smk.input.md, smk.output.html, smk.params.title)
log.info("wrote %s", smk.output.html)
