"""Rule `continuous_frames`: per-frame inputs (frame means and window features of the cached
cvxEDA components) and labels of every trial with dynamic annotations
(edaffect.studies.continuous.frames)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

import pandas as pd

from edaffect.studies.continuous.frames import build_frames, save_frames

frames, excluded = build_frames(
    smk.input.dynamic, smk.input.inputs_index, smk.input.trials, smk.params.cache_dir,
    crop_s=float(smk.params.crop_s), window_s=float(smk.params.feature_window_s),
    min_frames=int(smk.params.min_frames),
)
save_frames(frames, smk.output.frames)
pd.DataFrame(excluded, columns=["trial_id", "reason"]).to_csv(smk.output.excluded, index=False)
log.info("%d trials, %d frames, %d features; %d trials left out", len(frames.trial_id),
         len(frames.frame_time), frames.feat.shape[1], len(excluded))
