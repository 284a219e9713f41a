"""Rules `report_table{n}`: results/tables/table{n}.md -> an HTML page for the Snakemake report."""

from edaffect.reporting.result_tables import markdown_table_html
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
markdown_table_html(snakemake.input.md, snakemake.output.html, snakemake.params.title)  # noqa: F821
log.info("wrote %s", snakemake.output.html)  # noqa: F821
