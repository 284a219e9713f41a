"""Rule `ressin_regression`: Res-SIN Table 1 numbers (MLR / SVR, RMSE and Pearson r)."""

import json

from edaffect.ressin_study import ResSINSettings, write_regression
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
write_regression(
    snakemake.input.components,  # noqa: F821
    snakemake.input.index,  # noqa: F821
    snakemake.input.labels,  # noqa: F821
    snakemake.input.splits,  # noqa: F821
    snakemake.output.regression,  # noqa: F821
    list(snakemake.params.dimensions),  # noqa: F821
    ResSINSettings.from_config(json.loads(snakemake.params.ressin)),  # noqa: F821
)
