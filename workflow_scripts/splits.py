"""Rule `splits`: trials.csv -> splits.csv + splits_summary.csv (subject-independent folds)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.model_selection.splits import write_splits

log.info("wildcards %s, group_by %s", dict(smk.wildcards), smk.params.group_by)
write_splits(
    smk.input.trials,
    smk.output.splits,
    smk.output.summary,
    n_folds=smk.params.n_folds,
    fractions=smk.params.fractions,
    seed=smk.params.seed,
    group_by=smk.params.group_by,
)
