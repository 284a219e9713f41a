"""Rule `fig3`: labels.csv -> Fig. 3, the four-step k-means labelling of one subject."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.reporting.label_figure import write_fig3

params = smk.params
subject = write_fig3(
    smk.input.labels,
    smk.output.png,
    smk.output.pdf,
    dataset=params.dataset,
    subject=params.subject,
    seed=params.seed,
    n_init=params.n_init,
)
log.info("Fig. 3 drawn for %s subject %s", params.dataset, subject)
