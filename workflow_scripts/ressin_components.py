"""Rule `ressin_components`: raw EDA -> 15 s cropped origin/phasic/tonic per trial (cvxEDA,
through the study's per-trial decomposition cache)."""

import json

from edaffect.ressin_study import ResSINSettings, write_components
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
write_components(
    snakemake.input.raw,  # noqa: F821
    snakemake.input.trials,  # noqa: F821
    snakemake.output.components,  # noqa: F821
    snakemake.output.index,  # noqa: F821
    snakemake.output.excluded,  # noqa: F821
    ResSINSettings.from_config(json.loads(snakemake.params.ressin)),  # noqa: F821
    json.loads(snakemake.params.preprocessing),  # noqa: F821
    snakemake.params.cache_dir,  # noqa: F821
)
