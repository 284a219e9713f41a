"""Rule `leakage_splits`: trials.csv + labels.csv -> every leakage arm's folds of one dataset."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.leakage.arms import arm_from_config, write_arm_splits  # noqa: E402

write_arm_splits(
    smk.input.trials,
    smk.input.labels,
    smk.output.splits,
    smk.output.summary,
    arms=[arm_from_config(name, dict(entry)) for name, entry in smk.params.arms],
    dimensions=list(smk.params.dimensions),
    n_folds=int(smk.params.n_folds),
    draws=int(smk.params.draws),
    seed=int(smk.params.seed),
)
