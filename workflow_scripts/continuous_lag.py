"""Rule `continuous_lag`: arousal -> SCR-rate cross-correlation per trial, lag table, figure."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.continuous.lag import lag_curves
from edaffect.studies.continuous.report import planted_lags, write_lag_outputs

lag = dict(smk.params.lag)
curves = lag_curves(
    smk.input.dynamic, smk.input.inputs_index, smk.params.cache_dir,
    crop_s=float(smk.params.crop_s), max_lag_s=float(lag["max_lag_s"]),
    step_s=float(lag["step_s"]), smooth_s=float(lag["smooth_s"]),
)
curves.to_csv(smk.output.curves, index=False, float_format="%.5g")
truth = smk.input.truth if isinstance(smk.input.truth, str) else None
summary = write_lag_outputs(curves, planted_lags(truth), smk.output.csv, smk.output.md,
                            smk.output.png, smk.output.pdf, smk.params.config, lag)
log.info("lag summary: %s", summary)
