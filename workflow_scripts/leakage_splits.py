"""Rule `leakage_splits`: trials.csv -> the folds of one split kind of the leakage table."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.leakage.study import write_protocol_splits  # noqa: E402

write_protocol_splits(
    smk.input.trials,
    smk.output.splits,
    smk.output.summary,
    split=smk.wildcards.split,
    n_folds=int(smk.params.n_folds),
    seed=int(smk.params.seed),
)
