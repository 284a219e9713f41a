"""Rule `music_features`: per-song openSMILE caches or PMEmo's static_features.csv ->
results/pmemo/music_features.csv (stimulus + 6,373 functionals, trials.csv's songs)."""

from edaffect.music import build_music_table
from edaffect.rule_io import log_to_file

log = log_to_file(snakemake.log[0])  # noqa: F821
build_music_table(
    snakemake.input.trials,  # noqa: F821
    snakemake.output.csv,  # noqa: F821
    song_csvs=snakemake.input.get("songs"),  # noqa: F821
    static_csv=snakemake.input.get("static"),  # noqa: F821
)
