"""Rule `eda_features`: trials.csv + raw_eda.npz (+ cvxEDA cache) -> eda_features.csv."""

from edaffect.features import settings_from_config, write_dataset_features
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
settings = settings_from_config(params.options, params.preprocessing)
log.info("dataset %s, settings %s", snakemake.wildcards.dataset, settings)  # noqa: F821
write_dataset_features(
    snakemake.input.trials,  # noqa: F821
    snakemake.input.raw,  # noqa: F821
    snakemake.output.features,  # noqa: F821
    snakemake.output.excluded,  # noqa: F821
    settings,
    preprocessing=params.preprocessing,
    dataset=snakemake.wildcards.dataset,  # noqa: F821
    cache_dir=params.cache_dir,
)
