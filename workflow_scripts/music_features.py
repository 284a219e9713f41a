"""Rule `music_features`: per-song openSMILE caches or PMEmo's static_features.csv ->
results/pmemo/music_features.csv (stimulus + 6,373 functionals, trials.csv's songs)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.signal.music import build_music_table

build_music_table(
    smk.input.trials,
    smk.output.csv,
    song_csvs=smk.input.get("songs"),
    static_csv=smk.input.get("static"),
)
