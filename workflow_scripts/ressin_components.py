"""Rule `ressin_components`: raw EDA -> 15 s cropped origin/phasic/tonic per trial (cvxEDA,
through the study's per-trial decomposition cache)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

import json

from edaffect.studies.ressin.components import ResSINSettings, write_components

write_components(
    smk.input.raw,
    smk.input.trials,
    smk.output.components,
    smk.output.index,
    smk.output.excluded,
    ResSINSettings.from_config(smk.config["ressin"]),  # params: the keys this stage uses
    json.loads(smk.params.preprocessing),
    smk.params.cache_dir,
)
