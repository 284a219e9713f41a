"""The per-subject set-up every synthetic generator shares: own stream, physiology, rater habits,
own latents beside the stimuli's, rating noise; and the rating a subject gives a trial.

    draw_subject_trials(seed, dataset, index, stimulus_latents, *, correlation, rating_sd,
                        rater, own_weight=None) -> SubjectTrials

- `seed`, `dataset`, `index`: the subject's own random stream `stream(seed, dataset, 1, index)`
  (so subject k's data do not depend on how many subjects are generated);
- `stimulus_latents`: (n_trials, 2) valence/arousal latents of the stimuli this subject meets, in
  trial order; the subject's own parts are drawn exactly uncorrelated with them;
- `correlation`: latent V/A correlation of the own parts; `rating_sd`: rating noise (latent units);
- `rater`: this subject's `RaterStyle` (drawn for all subjects at once with `draw_raters`);
- `own_weight`: the trial latent is `stimulus + own_weight * own` (PMEmo: 0.6 listener deviation);
  None gives `sqrt(0.5) * (stimulus + own)` (unit variance, DEAP/AMIGOS).

`SubjectTrials.rating(i, low, high)` maps trial i's latent + noise through the rater's offset and
scale onto [low, high] (logistic squashing, `eda.to_scale`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edaffect.synthetic import stream
from edaffect.synthetic.eda import (
    RaterStyle,
    SubjectPhysiology,
    draw_latents,
    draw_subject,
    rating_noise,
    to_scale,
)


@dataclass
class SubjectTrials:
    """One subject's draws: stream (for the trials' signals), physiology, rater, trial latents."""

    rng: np.random.Generator
    physiology: SubjectPhysiology
    rater: RaterStyle
    valence: np.ndarray  # trial latents (stimulus + own part)
    arousal: np.ndarray
    noise_valence: np.ndarray
    noise_arousal: np.ndarray

    def rating(self, i: int, low: float, high: float) -> tuple[float, float]:
        """(valence, arousal) rating of trial i on [low, high], unrounded."""
        r = self.rater
        rv = to_scale(r.offset_valence + r.scale * (self.valence[i] + self.noise_valence[i]),
                      low, high)
        ra = to_scale(r.offset_arousal + r.scale * (self.arousal[i] + self.noise_arousal[i]),
                      low, high)
        return float(rv), float(ra)


def draw_subject_trials(
    seed: int,
    dataset: str,
    index: int,
    stimulus_latents: np.ndarray,
    *,
    correlation: float,
    rating_sd: float,
    rater: RaterStyle,
    own_weight: float | None = None,
) -> SubjectTrials:
    """Draw one subject's set-up for its trials (see the module docstring for the arguments)."""
    rng = stream(seed, dataset, 1, index)
    stimulus_latents = np.asarray(stimulus_latents, dtype=float).reshape(-1, 2)
    n = len(stimulus_latents)
    physiology = draw_subject(rng)
    own_v, own_a = draw_latents(rng, n, correlation, exact=True, orthogonal_to=stimulus_latents)
    noise_v, noise_a = rating_noise(rng, n, rating_sd)
    if own_weight is None:
        v = np.sqrt(0.5) * (stimulus_latents[:, 0] + own_v)
        a = np.sqrt(0.5) * (stimulus_latents[:, 1] + own_a)
    else:
        v = stimulus_latents[:, 0] + own_weight * own_v
        a = stimulus_latents[:, 1] + own_weight * own_a
    return SubjectTrials(rng, physiology, rater, v, a, noise_v, noise_a)
