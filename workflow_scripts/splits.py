"""Rule `splits`: trials.csv -> splits.csv + splits_summary.csv (subject-independent folds)."""

from edaffect.rule_io import log_to_file
from edaffect.splits import write_splits

log = log_to_file(snakemake.log[0])  # noqa: F821
log.info("wildcards %s, group_by %s", dict(snakemake.wildcards), snakemake.params.group_by)  # noqa: F821
write_splits(
    snakemake.input.trials,  # noqa: F821
    snakemake.output.splits,  # noqa: F821
    snakemake.output.summary,  # noqa: F821
    n_folds=snakemake.params.n_folds,  # noqa: F821
    fractions=snakemake.params.fractions,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    group_by=snakemake.params.group_by,  # noqa: F821
)
