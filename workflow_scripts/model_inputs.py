"""Rule merge_decomposition: batch files -> inputs.npy, inputs_index.csv, excluded.csv."""

from edaffect.preprocessing import merge_batches
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
n = merge_batches(
    list(snakemake.input.batches),  # noqa: F821
    trials_csv=snakemake.input.trials,  # noqa: F821
    trials_excluded_csv=snakemake.input.trials_excluded,  # noqa: F821
    out_inputs=snakemake.output.inputs,  # noqa: F821
    out_index=snakemake.output.index,  # noqa: F821
    out_excluded=snakemake.output.excluded,  # noqa: F821
)
log.info("%d trials have model inputs", n)
