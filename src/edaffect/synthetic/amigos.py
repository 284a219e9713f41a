"""Synthetic AMIGOS: one `Data_Preprocessed_PNN.mat` (MATLAB v5) per participant.

`joined_data` is a 1x20 cell: trials 1-16 (short videos) are (samples x 17) float64 at 128 Hz
with GSR (µS) in column 17 and zeros in the 14 EEG + 2 ECG columns; trials 17-20 (long videos)
are empty 0x17 arrays, as for the real participants who did not take part in the long-video
session. `labels_selfassessment` is a 1x20 cell of 1x12 rows (arousal, valence, dominance,
liking, familiarity, 7 basic emotions as 0/1); a missing rating is a 1x0 array. Some GSR traces
get NaN runs (short ones the preprocessing interpolates, long ones it excludes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from edaffect.synthetic import Generated, clear_paths, ground_truth_frame, stream
from edaffect.synthetic.eda import (
    draw_latents,
    draw_raters,
    draw_subject,
    rating_noise,
    simulate_eda,
    to_scale,
)

FS = 128
N_CELLS = 20
N_SHORT = 16
N_COLUMNS = 17
GSR_COLUMN = 16


def _nan_runs(rng: np.random.Generator, x: np.ndarray, fs: float) -> int:
    """Blank 1-2 runs: 70 % short (0.1-0.8 s), 30 % long (1.5-5 s); returns samples blanked."""
    for _ in range(int(rng.integers(1, 3))):
        length_s = rng.uniform(0.1, 0.8) if rng.random() < 0.7 else rng.uniform(1.5, 5.0)
        n = max(1, int(length_s * fs))
        start = int(rng.integers(0, max(1, len(x) - n)))
        x[start : start + n] = np.nan
    return int(np.isnan(x).sum())


def generate(
    root: Path,
    *,
    seed: int,
    n_subjects: int,
    duration_s: tuple[float, float] = (50.0, 80.0),
    nan_run_rate: float = 0.05,
    missing_rating_rate: float = 0.01,
    artefact_rate: float = 0.02,
    latent_va_correlation: float = 0.82,
    rating_sd: float = 0.4,
    keep_signals: bool = False,
) -> Generated:
    """Write n_subjects Data_Preprocessed_PNN.mat files under root; return the truth."""
    clear_paths(root, ["Data_Preprocessed_P*.mat"])
    srng = stream(seed, "amigos", 0)
    video_v, video_a = draw_latents(srng, N_SHORT, latent_va_correlation, exact=True)
    lengths = (srng.uniform(*duration_s, N_SHORT) * FS).astype(int)  # a video lasts as long for all
    raters = draw_raters(stream(seed, "amigos", 3), n_subjects)
    rows, signals = [], {}
    for s in range(1, n_subjects + 1):
        rng = stream(seed, "amigos", 1, s)
        subject = f"P{s:02d}"
        physiology = draw_subject(rng)
        rater = raters[s - 1]
        noise_v, noise_a = rating_noise(rng, N_SHORT, rating_sd)
        own_v, own_a = draw_latents(
            rng, N_SHORT, latent_va_correlation, exact=True,
            orthogonal_to=np.column_stack([video_v, video_a]),
        )
        joined = np.empty((1, N_CELLS), dtype=object)
        labels = np.empty((1, N_CELLS), dtype=object)
        path = root / f"Data_Preprocessed_{subject}.mat"
        for k in range(N_CELLS):
            joined[0, k] = np.zeros((0, N_COLUMNS))
            labels[0, k] = np.zeros((1, 0))
        for k in range(N_SHORT):
            v = np.sqrt(0.5) * (video_v[k] + own_v[k])
            a = np.sqrt(0.5) * (video_a[k] + own_a[k])
            sim = simulate_eda(
                rng, physiology, n_samples=int(lengths[k]), fs=FS, arousal=a, valence=v,
                artefact_rate=artefact_rate,
            )
            gsr = sim.signal.copy()
            nan_samples = _nan_runs(rng, gsr, FS) if rng.random() < nan_run_rate else 0
            trial_data = np.zeros((len(gsr), N_COLUMNS))
            trial_data[:, GSR_COLUMN] = gsr
            joined[0, k] = trial_data
            rv = float(to_scale(rater.offset_valence + rater.scale * (v + noise_v[k]), 1, 9))
            ra = float(to_scale(rater.offset_arousal + rater.scale * (a + noise_a[k]), 1, 9))
            others = [
                to_scale(0.5 * v + rng.normal(0, 0.8), 1, 9),  # dominance
                to_scale(0.7 * v + rng.normal(0, 0.6), 1, 9),  # liking
                to_scale(rng.normal(0, 1.0), 1, 9),  # familiarity
            ]
            emotions = np.zeros(7)
            emotions[int(rng.integers(0, 7))] = 1.0
            missing = bool(rng.random() < missing_rating_rate)
            rating = np.round([ra, rv, *others], 2)
            if not missing:
                labels[0, k] = np.concatenate([rating, emotions])[None, :]
            trial = k + 1
            rows.append({
                "dataset": "amigos", "subject": subject, "trial": trial,
                "trial_id": f"{subject}_{trial}", "stimulus": trial,
                "file": str(path), "fs": FS, "n_samples": len(gsr),
                "latent_valence": v, "latent_arousal": a,
                "stimulus_valence": video_v[k], "stimulus_arousal": video_a[k],
                "rating_valence": rating[1], "rating_arousal": rating[0],
                "rating_missing": missing,
                "rater_offset_valence": rater.offset_valence,
                "rater_offset_arousal": rater.offset_arousal, "rater_scale": rater.scale,
                "tonic_level_us": sim.tonic_level_us, "scr_rate_per_min": sim.scr_rate_per_min,
                "scr_amplitude_us": sim.scr_amplitude_us, "n_scr": sim.n_scr,
                "artefact": sim.artefact, "nan_samples": nan_samples,
            })
            if keep_signals:
                signals[f"{subject}_{trial}"] = gsr
        scipy.io.savemat(path, {"joined_data": joined, "labels_selfassessment": labels})
    return Generated(ground_truth_frame(rows), signals)
