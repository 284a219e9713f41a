"""Rule decompose_batch: preprocess + cvxEDA one batch of trials (per-trial cache inside)."""

import json

from edaffect.preprocessing import run_batch, settings_from_config
from edaffect.rule_io import log_to_file

log_to_file(snakemake.log[0])  # noqa: F821
run_batch(
    raw_eda=snakemake.input.raw_eda,  # noqa: F821
    trials_csv=snakemake.input.trials,  # noqa: F821
    batch=int(snakemake.wildcards.batch),  # noqa: F821
    batch_size=int(snakemake.params.batch_size),  # noqa: F821
    settings=settings_from_config(
        json.loads(snakemake.params.preprocessing), snakemake.wildcards.dataset  # noqa: F821
    ),
    cache_dir=snakemake.params.cache_dir,  # noqa: F821
    out_path=snakemake.output.batch,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
)
