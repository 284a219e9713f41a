"""Rule `ressin_regression`: Res-SIN Table 1 numbers (MLR / SVR, RMSE and Pearson r)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())


from edaffect.studies.ressin.components import ResSINSettings, write_regression

write_regression(
    smk.input.components,
    smk.input.index,
    smk.input.labels,
    smk.input.splits,
    smk.output.regression,
    list(smk.params.dimensions),
    ResSINSettings.from_config(smk.config["ressin"]),  # params: the keys this stage uses
)
