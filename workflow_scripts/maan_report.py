"""Rule maan_report: MAAN fold metrics and predictions -> results/tables/maan_table.{csv,md,tex}
and the figure of modality weights per class + PCA view of the fused test features."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())  # stderr and logging to the rule's log before other imports

from edaffect.studies.maan.study import write_report  # noqa: E402

write_report(
    metrics=list(smk.input.metrics), predictions=list(smk.input.predictions),
    paper_csv=smk.input.paper, rows=list(smk.params.rows), figure=dict(smk.params.figure),
    synthetic=bool(smk.params.synthetic), config_note=smk.params.config_note,
    outputs=dict(smk.output), model=dict(smk.params.model), segments=dict(smk.params.segments),
    ceiling=smk.params.ceiling, ceiling_csv=list(smk.input.ceilings),
)
