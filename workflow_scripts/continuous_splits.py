"""Rule `continuous_song_splits`: the study's subject folds made song-disjoint as well (PMEmo),
for the continuous table's song-disjoint rows
(edaffect.studies.continuous.frames.song_disjoint_splits)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.model_selection.splits import read_splits
from edaffect.studies.continuous.frames import song_disjoint_splits

splits, summary = song_disjoint_splits(
    read_splits(smk.input.splits), int(smk.params.song_groups), int(smk.params.seed)
)
splits.to_csv(smk.output.splits, index=False)
summary.to_csv(smk.output.summary, index=False)
log.info("song-disjoint folds (train/val/test/dropped per fold):\n%s", summary.to_string())
