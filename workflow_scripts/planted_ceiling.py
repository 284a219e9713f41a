"""Rule `planted_ceiling`: ground truth, labels, folds -> results/{dataset}/planted_ceiling.csv."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.training.planted_ceiling import write_ceiling

frame = write_ceiling(
    smk.input.ground_truth,
    smk.input.labels,
    smk.input.splits,
    smk.output.csv,
    dataset=smk.wildcards.dataset,
    dimensions=list(smk.params.dimensions),
    features=list(smk.params.features),
    c=float(smk.params.c),
)
for dimension, sub in frame.groupby("dimension"):
    log.info("%s %s: ceiling %.3f, majority %.3f over %d folds", smk.wildcards.dataset,
             dimension, sub["accuracy"].mean(), sub["majority"].mean(), len(sub))
