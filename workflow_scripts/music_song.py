"""Rule `music_song`: one song's chorus audio -> its 6,373 openSMILE ComParE_2016 functionals."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.signal.music import write_song_features

write_song_features(
    smk.input.audio,
    smk.wildcards.stimulus,
    smk.output.csv,
    min_seconds=smk.params.min_audio_s,
)
