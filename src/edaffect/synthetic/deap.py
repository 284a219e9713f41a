"""Synthetic DEAP: `sNN.dat` pickles exactly as the real release, in the native folder `root`
(`data_preprocessed_python`).

`data` is (40 trials, 40 channels, 8064 samples) float32 at 128 Hz (3 s pre-trial baseline +
60 s video); only the GSR channel (index 36) is simulated, as skin resistance in Ohm
(1e6 / conductance in µS, DEAP's "Geneva format"); the other 39 channels are zeros. `labels` is
(40, 4) valence, arousal, dominance, liking on 1-9. Every trial is 63 s long, as in the real
release (fixed video excerpts), so a trial's length says nothing about its video.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from edaffect.io import atomic
from edaffect.synthetic import Generated, clear_paths, ground_truth_frame, stream
from edaffect.synthetic.eda import draw_latents, draw_raters, simulate_eda, to_scale
from edaffect.synthetic.subjects import draw_subject_trials

FS = 128
N_TRIALS = 40
N_CHANNELS = 40
N_SAMPLES = 8064
BASELINE_S = 3.0
GSR_INDEX = 36


def generate(
    root: Path,
    *,
    seed: int,
    n_subjects: int,
    artefact_rate: float = 0.02,
    latent_va_correlation: float = 0.24,
    rating_sd: float = 0.5,
    keep_signals: bool = False,
) -> Generated:
    """Write n_subjects sNN.dat files into the native folder `root`; return the truth."""
    folder = Path(root)
    clear_paths(folder, ["s[0-9][0-9].dat"])
    folder.mkdir(parents=True, exist_ok=True)
    # Video latents shared by all viewers (DEAP's videos were picked per V/A quadrant).
    video_v, video_a = draw_latents(
        stream(seed, "deap", 0), N_TRIALS, latent_va_correlation, exact=True
    )
    videos = np.column_stack([video_v, video_a])
    raters = draw_raters(stream(seed, "deap", 3), n_subjects)
    rows, signals = [], {}
    for s in range(1, n_subjects + 1):
        subject = f"s{s:02d}"
        sub = draw_subject_trials(
            seed, "deap", s, videos, correlation=latent_va_correlation, rating_sd=rating_sd,
            rater=raters[s - 1],
        )
        rng, rater = sub.rng, sub.rater
        data = np.zeros((N_TRIALS, N_CHANNELS, N_SAMPLES), dtype=np.float32)
        labels = np.zeros((N_TRIALS, 4))
        path = folder / f"{subject}.dat"
        for i in range(N_TRIALS):
            v, a = float(sub.valence[i]), float(sub.arousal[i])
            sim = simulate_eda(
                rng, sub.physiology, n_samples=N_SAMPLES, fs=FS, arousal=a, valence=v,
                artefact_rate=artefact_rate, baseline_s=BASELINE_S,
            )
            data[i, GSR_INDEX] = 1e6 / sim.signal
            rv, ra = sub.rating(i, 1, 9)
            dominance = to_scale(0.5 * v + rng.normal(0, 0.8), 1, 9)
            liking = to_scale(0.7 * v + rng.normal(0, 0.6), 1, 9)
            labels[i] = np.round([rv, ra, dominance, liking], 2)
            trial = i + 1
            rows.append({
                "dataset": "deap", "subject": subject, "trial": trial,
                "trial_id": f"{subject}_{trial}", "stimulus": trial,
                "file": str(path), "fs": FS, "n_samples": N_SAMPLES,
                "latent_valence": v, "latent_arousal": a,
                "stimulus_valence": video_v[i], "stimulus_arousal": video_a[i],
                "rating_valence": labels[i, 0], "rating_arousal": labels[i, 1],
                "rating_missing": False,
                "rater_offset_valence": rater.offset_valence,
                "rater_offset_arousal": rater.offset_arousal, "rater_scale": rater.scale,
                "tonic_level_us": sim.tonic_level_us, "scr_rate_per_min": sim.scr_rate_per_min,
                "scr_amplitude_us": sim.scr_amplitude_us, "n_scr": sim.n_scr,
                "artefact": sim.artefact, "nan_samples": 0,
            })
            if keep_signals:
                signals[f"{subject}_{trial}"] = data[i, GSR_INDEX].copy()
        with atomic.atomic_open(path, "wb") as f:
            pickle.dump({"data": data, "labels": labels}, f, protocol=2)
    return Generated(ground_truth_frame(rows), signals)
