"""Rule `ressin_table1`: Res-SIN Table 1 (regression pre-experiment) beside the paper's values."""

from edaffect.ressin_study import write_table1
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
write_table1(
    snakemake.input.regression,  # noqa: F821
    snakemake.output.csv,  # noqa: F821
    snakemake.output.md,  # noqa: F821
    snakemake.params.config,  # noqa: F821
    snakemake.params.dataset,  # noqa: F821
)
