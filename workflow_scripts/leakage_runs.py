"""Rule `leakage_runs`: every (dimension, fold) of one experiment x dataset x protocol."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.leakage.study import protocol_from_config, run_protocol  # noqa: E402

run_protocol(
    dict(smk.params.experiment),
    smk.wildcards.dataset,
    protocol_from_config(smk.wildcards.protocol, dict(smk.params.protocol)),
    dimensions=list(smk.params.dimensions),
    folds=list(smk.params.folds),
    inputs={key: value for key, value in smk.input.items()},
    # result settings from params; the device and checkpoint interval (runtime) from the config
    training={**smk.params.training,
              **{key: smk.config["training"][key] for key in ("device", "checkpoint_every")}},
    seed=int(smk.params.seed),
    c=float(smk.params.c),
    metrics_paths=smk.paths("metrics"),
    predictions_paths=smk.paths("predictions"),
    threads=smk.threads,
)
