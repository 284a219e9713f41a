"""Rule `fig3`: labels.csv -> Fig. 3, the four-step k-means labelling of one subject."""

from edaffect.reporting.label_figure import write_fig3
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
subject = write_fig3(
    snakemake.input.labels,  # noqa: F821
    snakemake.output.png,  # noqa: F821
    snakemake.output.pdf,  # noqa: F821
    dataset=params.dataset,
    subject=params.subject,
    seed=params.seed,
    n_init=params.n_init,
)
log.info("Fig. 3 drawn for %s subject %s", params.dataset, subject)
