"""Rule decompose_batch: preprocess + cvxEDA one batch of trials (per-trial cache inside)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

import json

from edaffect.signal.decomposition_batches import run_batch
from edaffect.signal.preprocessing import settings_from_config

run_batch(
    raw_eda=smk.input.raw_eda,
    trials_csv=smk.input.trials,
    batch=int(smk.wildcards.batch),
    batch_size=int(smk.params.batch_size),
    settings=settings_from_config(
        json.loads(smk.params.preprocessing), smk.wildcards.dataset
    ),
    cache_dir=smk.params.cache_dir,
    out_path=smk.output.batch,
    threads=smk.threads,
)
