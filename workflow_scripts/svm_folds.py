"""Rule `svm_folds`: every fold of an SVM baseline in one process (local mode)."""

from edaffect.baselines import write_svm_fold
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
for index, fold in enumerate(snakemake.params.folds):  # noqa: F821
    write_svm_fold(
        experiment=snakemake.wildcards.experiment,  # noqa: F821
        dataset=snakemake.wildcards.dataset,  # noqa: F821
        dimension=snakemake.wildcards.dimension,  # noqa: F821
        fold=int(fold),
        fraction=snakemake.params.fraction,  # noqa: F821
        kind=snakemake.params.kind,  # noqa: F821
        c=snakemake.params.c,  # noqa: F821
        splits_csv=snakemake.input.splits,  # noqa: F821
        labels_csv=snakemake.input.labels,  # noqa: F821
        eda_features_csv=snakemake.input.get("eda_features"),  # noqa: F821
        music_features_csv=snakemake.input.get("music_features"),  # noqa: F821
        inputs_index_csv=snakemake.input.inputs_index,  # noqa: F821
        metrics_json=snakemake.output.metrics[index],  # noqa: F821
        predictions_csv=snakemake.output.predictions[index],  # noqa: F821
    )
