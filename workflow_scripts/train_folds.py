"""Rules train_fold / train_folds / train_dimension_folds (the fold runner): train one fold, or
every fold of an (experiment, dataset) - each dimension in turn - in one process, with the
experiment's model family."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

# Before torch (CUDA) is imported: a job that asks for a GPU claims one of the node's GPUs
# (CUDA_VISIBLE_DEVICES), so local jobs under --resources gpu=N do not share device 0.  No GPU on
# the node (or under SLURM, one): nothing changes.  Held until the process exits.
from edaffect.training.device_pool import acquire_device

gpu_claim = acquire_device() if int(getattr(smk.resources, "gpu", 0) or 0) > 0 else None
if gpu_claim is not None and gpu_claim.device is not None:
    log.info("device pool: this job uses GPU %s", gpu_claim.device)

from edaffect.training.fold_runner import (
    FoldJob,
    family_of,
    fold_mode,
    model_families,
    run_job,
    runs_by_dimension,
)

training = smk.config["training"]  # runtime settings are read here, never params
family = family_of(dict(smk.params.experiment), model_families(smk.config))
for dimension, (folds, runs) in runs_by_dimension(smk.paths("metrics")).items():
    job = FoldJob(
        experiment=dict(smk.params.experiment),
        dataset=smk.wildcards.dataset,
        dimension=dimension,
        folds=folds,
        run_dirs=runs,
        inputs={key: str(value) for key, value in smk.input.items()},
        settings=dict(smk.params.settings),
        seed=int(smk.params.seed),
        threads=smk.threads,
        device=training["device"],
        checkpoint_every=int(training["checkpoint_every"]),
        mode=fold_mode(training),
    )
    log.info("%s %s %s: folds %s (%s, mode %s)", job.experiment["name"], job.dataset,
             job.dimension, job.folds, family.name, job.mode)
    run_job(job, family)
