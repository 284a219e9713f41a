"""Rule `music_song`: one song's chorus audio -> its 6,373 openSMILE ComParE_2016 functionals."""

from edaffect.music import write_song_features
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
write_song_features(
    snakemake.input.audio,  # noqa: F821
    snakemake.wildcards.stimulus,  # noqa: F821
    snakemake.output.csv,  # noqa: F821
)
