"""Rule `leakage_runs`: every arm, draw, dimension and fold of one experiment x dataset."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.leakage.arms import arm_from_config  # noqa: E402
from edaffect.studies.leakage.runs import run_arms  # noqa: E402

inputs = {key: value for key, value in smk.input.items()}
run_arms(
    dict(smk.params.experiment),
    smk.wildcards.dataset,
    [arm_from_config(name, dict(entry)) for name, entry in smk.params.arms],
    splits_csv=inputs.pop("splits_csv"),
    dimensions=list(smk.params.dimensions),
    draws=int(smk.params.draws),
    n_folds=int(smk.params.n_folds),
    inputs=inputs,
    # result settings from params; the device and checkpoint interval (runtime) from the config
    training={**smk.params.training,
              **{key: smk.config["training"][key] for key in ("device", "checkpoint_every")}},
    seed=int(smk.params.seed),
    c=float(smk.params.c),
    out_csv=smk.output.folds,
    threads=smk.threads,
)
