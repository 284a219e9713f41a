"""Rules maan_train_fold / maan_train_folds_*: train MAAN folds (one fold, or every dimension and
fold of an experiment), epoch chosen on validation, test scored once, resumable."""

from edaffect.rule_io import rule_context

smk, log = rule_context(globals())  # stderr and logging to the rule's log before other imports

from pathlib import Path  # noqa: E402

from edaffect.maan_study import train_maan_fold  # noqa: E402

training = {
    **dict(smk.params.training),
    "device": smk.config["training"]["device"],  # runtime settings: not rule params
    "checkpoint_every": smk.config["training"]["checkpoint_every"],
}
experiment = dict(smk.params.experiment)
n_folds = int(smk.params.n_folds if experiment["protocol"] == "subject"
              else smk.params.segment_folds)
for metrics in smk.paths("metrics"):
    run_dir = Path(metrics).parent
    train_maan_fold(
        experiment, run_dir.parent.name, int(run_dir.name.removeprefix("fold")),
        inputs=dict(smk.input), training=training, seed=int(smk.params.seed), n_folds=n_folds,
        run_dir=run_dir, threads=smk.threads,
    )
