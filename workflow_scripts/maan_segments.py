"""Rule maan_segments: AMIGOS trials of labels.csv -> 10-s ECG/EEG/EDA segments for MAAN."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())  # stderr and logging to the rule's log before other imports

from edaffect.studies.maan.segments import build_segments  # noqa: E402

build_segments(
    smk.params.root, smk.input.labels, dict(smk.params.settings), videos=smk.params.videos,
    segments_npz=smk.output.segments, index_csv=smk.output.index,
    excluded_csv=smk.output.excluded,
)
