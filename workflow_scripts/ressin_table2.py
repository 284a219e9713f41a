"""Rule `ressin_table2`: Res-SIN Table 2 (inputs; features) with fold-paired tests vs mix."""

from edaffect.ressin_study import write_table2
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
write_table2(
    list(snakemake.input.metrics),  # noqa: F821
    snakemake.output.csv,  # noqa: F821
    snakemake.output.md,  # noqa: F821
    snakemake.params.config,  # noqa: F821
    snakemake.params.dataset,  # noqa: F821
)
