"""Rule `labels`: trials.csv -> labels.csv (per-subject k-means thresholds, binary labels)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.model_selection.labels import write_labels

labels = write_labels(
    smk.input.trials,
    smk.output.labels,
    seed=smk.params.seed,
    n_init=smk.params.n_init,
)
sources = labels.drop_duplicates("subject")["threshold_source"].value_counts().to_dict()
log.info("%d trials of %d subjects labelled; threshold sources per subject: %s",
         len(labels), labels["subject"].nunique(), sources)
