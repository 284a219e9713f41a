"""Checkpoint trial_table: read a dataset's native files -> trials.csv, raw_eda.npz, exclusions."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

import json

from edaffect.datasets import write_trial_table

write_trial_table(
    smk.wildcards.dataset,
    smk.params.root,
    trials_csv=smk.output.trials,
    raw_npz=smk.output.raw_eda,
    excluded_csv=smk.output.excluded,
    options=json.loads(smk.params.options),
)
