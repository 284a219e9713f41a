"""Rule `fig4`: metrics of the subject-incremental runs -> Fig. 4 (png + pdf)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.reporting.figures import subject_incremental_figure
from edaffect.reporting.provenance import data_line

params = smk.params
rows = list(params.rows)
frame = subject_incremental_figure(
    rows,
    list(smk.input.metrics),
    dict(params.experiments),
    smk.output.png,
    smk.output.pdf,
    data_line(dict(params.config), sorted({r["dataset"] for r in rows})),
)
log.info("Fig. 4 points:\n%s", frame.to_string(index=False))
