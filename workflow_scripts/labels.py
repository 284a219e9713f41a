"""Rule `labels`: trials.csv -> labels.csv (per-subject k-means thresholds, binary labels)."""

from edaffect.labels import write_labels
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
labels = write_labels(
    snakemake.input.trials,  # noqa: F821
    snakemake.output.labels,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    n_init=snakemake.params.n_init,  # noqa: F821
)
sources = labels.drop_duplicates("subject")["threshold_source"].value_counts().to_dict()
log.info("%d trials of %d subjects labelled; threshold sources per subject: %s",
         len(labels), labels["subject"].nunique(), sources)
