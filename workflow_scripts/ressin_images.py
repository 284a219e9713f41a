"""Rule `ressin_images`: components -> min-max signal images (n, 3, S, S) + row index."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.studies.ressin.components import write_images

write_images(
    smk.input.components,
    smk.input.index,
    smk.output.images,
    smk.output.index,
    smk.output.excluded,
    smk.params.image_size,
)
