"""Rule `ressin_images`: components -> min-max signal images (n, 3, S, S) + row index."""

from edaffect.ressin_study import write_images
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
write_images(
    snakemake.input.components,  # noqa: F821
    snakemake.input.index,  # noqa: F821
    snakemake.output.images,  # noqa: F821
    snakemake.output.index,  # noqa: F821
    snakemake.output.excluded,  # noqa: F821
    snakemake.params.image_size,  # noqa: F821
)
