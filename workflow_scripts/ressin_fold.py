"""Rules `ressin_fold` / `ressin_folds`: Res-SIN fold(s) -> metrics.json, predictions.csv,
model.pt in each fold's run directory."""

from edaffect.ressin_study import train_folds
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
train_folds(
    dict(params.experiment),
    snakemake.wildcards.dataset,  # noqa: F821
    snakemake.wildcards.dimension,  # noqa: F821
    [int(f) for f in params.folds],
    list(params.run_dirs),
    images_npy=snakemake.input.images,  # noqa: F821
    images_index_csv=snakemake.input.images_index,  # noqa: F821
    labels_csv=snakemake.input.labels,  # noqa: F821
    splits_csv=snakemake.input.splits,  # noqa: F821
    music_csv=snakemake.input.get("music"),  # noqa: F821
    ressin=dict(params.ressin),
    training=dict(params.training),
    seed=int(params.seed),
    threads=int(snakemake.threads),  # noqa: F821
)
