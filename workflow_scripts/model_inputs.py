"""Rule merge_decomposition: batch files -> inputs.npy, inputs_index.csv, excluded.csv."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.signal.decomposition_batches import merge_batches

n = merge_batches(
    list(smk.input.batches),
    trials_csv=smk.input.trials,
    trials_excluded_csv=smk.input.trials_excluded,
    out_inputs=smk.output.inputs,
    out_index=smk.output.index,
    out_excluded=smk.output.excluded,
)
log.info("%d trials have model inputs", n)
