"""Rule `fig4`: metrics of the subject-incremental runs -> Fig. 4 (png + pdf)."""

from edaffect.reporting.figures import subject_incremental_figure
from edaffect.reporting.result_tables import data_line
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
rows = list(params.rows)
frame = subject_incremental_figure(
    rows,
    list(snakemake.input.metrics),  # noqa: F821
    dict(params.experiments),
    snakemake.output.png,  # noqa: F821
    snakemake.output.pdf,  # noqa: F821
    data_line(dict(params.config), sorted({r["dataset"] for r in rows})),
)
log.info("Fig. 4 points:\n%s", frame.to_string(index=False))
