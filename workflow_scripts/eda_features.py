"""Rule `eda_features`: trials.csv + raw_eda.npz (+ cvxEDA cache) -> eda_features.csv."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.signal.eda_features import settings_from_config, write_dataset_features

params = smk.params
settings = settings_from_config(params.options, params.preprocessing)
log.info("dataset %s, settings %s", smk.wildcards.dataset, settings)
write_dataset_features(
    smk.input.trials,
    smk.input.raw,
    smk.output.features,
    smk.output.excluded,
    settings,
    preprocessing=params.preprocessing,
    dataset=smk.wildcards.dataset,
    cache_dir=params.cache_dir,
)
