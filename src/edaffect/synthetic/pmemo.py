"""Synthetic PMEmo2019 in the native layout.

Writes `EDA/{musicId}_EDA.csv` (50 Hz; `time(s)` then one µS column per listener id, shorter
recordings padded with empty cells), `annotations/static_annotations.csv` (song means on 0-1),
`annotations/static_annotations_per_listener.csv` (`musicId, subjectId, Arousal, Valence`:
each listener's own ratings on a 9-point scale mapped to 0-1) and `features/static_features.csv`
(`musicId` + the 6,373 ComParE_2016 functionals under their openSMILE names). Songs carry latent
valence/arousal shared by their listeners; about 30 % of the music features load on the song's
valence and/or arousal, the rest are noise.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.synthetic import Generated, clear_paths, ground_truth_frame, stream
from edaffect.synthetic.eda import (
    draw_latents,
    draw_raters,
    draw_subject,
    rating_noise,
    simulate_eda,
    to_scale,
)

FS = 50
FIRST_LISTENER_ID = 10001
OWN_SD = 0.6  # listener's own deviation from the song's latent (latent units)


@functools.lru_cache(maxsize=1)
def compare_feature_names() -> tuple[str, ...]:
    """The 6,373 ComParE_2016 functional names, as openSMILE reports them."""
    import opensmile

    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    return tuple(smile.feature_names)


def assign_listeners(
    rng: np.random.Generator, n_songs: int, n_subjects: int, per_song: int, n_trials: int
) -> list[np.ndarray]:
    """Listener indices per song: `per_song` each (+1 for some songs up to n_trials), balanced."""
    if per_song > n_subjects:
        raise ValueError(f"listeners_per_song {per_song} > n_subjects {n_subjects}")
    counts = np.full(n_songs, per_song)
    extra = n_trials - per_song * n_songs
    if extra < 0 or extra > n_songs * (n_subjects - per_song):
        raise ValueError(
            f"n_trials {n_trials} does not fit {n_songs} songs x {per_song}+ listeners"
        )
    while extra > 0:
        add = rng.choice(np.flatnonzero(counts < n_subjects), min(extra, n_songs), replace=False)
        counts[add] += 1
        extra -= len(add)
    load = np.zeros(n_subjects)
    out = []
    for count in counts:
        order = np.lexsort((rng.random(n_subjects), load))  # least-loaded first, random ties
        chosen = np.sort(order[:count])
        load[chosen] += 1
        out.append(chosen)
    return out


def _music_features(
    rng: np.random.Generator, song_v: np.ndarray, song_a: np.ndarray
) -> np.ndarray:
    """(songs, 6373) features: 12 % load on valence, 12 % on arousal, 6 % on both, rest noise."""
    n_feat = len(compare_feature_names())
    kind = rng.choice(4, n_feat, p=[0.12, 0.12, 0.06, 0.70])
    lv = np.where((kind == 0) | (kind == 2), rng.uniform(0.4, 0.8, n_feat), 0.0)
    la = np.where((kind == 1) | (kind == 2), rng.uniform(0.4, 0.8, n_feat), 0.0)
    lv *= rng.choice([-1.0, 1.0], n_feat)
    la *= rng.choice([-1.0, 1.0], n_feat)
    rest = np.sqrt(np.clip(1.0 - lv**2 - la**2, 0.2, 1.0))
    z = np.outer(song_v, lv) + np.outer(song_a, la) + rng.normal(size=(len(song_v), n_feat)) * rest
    mean = rng.normal(0.0, 1.0, n_feat) * np.exp(rng.normal(0.0, 2.0, n_feat))
    scale = np.exp(rng.normal(0.0, 1.5, n_feat))
    return mean + scale * z


def write_csv(path: Path, header: list[str], table: np.ndarray, fmt: str | list[str]) -> None:
    """Write a numeric table as CSV, NaN as an empty cell (pandas' float formatting is ~10x
    slower, which matters for the paper-scale 7,962 traces)."""
    buffer = io.StringIO()
    np.savetxt(buffer, table, fmt=fmt, delimiter=",", header=",".join(header), comments="")
    path.write_text(buffer.getvalue().replace("nan", ""))


def generate(
    root: Path,
    *,
    seed: int,
    n_subjects: int,
    n_songs: int,
    listeners_per_song: int,
    n_trials: int | None = None,
    duration_s: tuple[float, float] = (30.0, 40.0),
    artefact_rate: float = 0.02,
    latent_va_correlation: float = 0.75,
    rating_sd: float = 0.5,
    keep_signals: bool = False,
) -> Generated:
    """Write the PMEmo2019 layout for n_songs songs and n_subjects listeners; return the truth."""
    n_trials = n_trials or n_songs * listeners_per_song
    clear_paths(root, ["EDA", "annotations", "features"])
    for sub in ("EDA", "annotations", "features"):
        (root / sub).mkdir(parents=True)
    srng = stream(seed, "pmemo", 0)
    music_ids = np.sort(srng.choice(np.arange(1, max(1000, 2 * n_songs)), n_songs, replace=False))
    song_v, song_a = draw_latents(srng, n_songs, latent_va_correlation, exact=True)
    listener_ids = FIRST_LISTENER_ID + np.sort(
        srng.choice(np.arange(3 * n_subjects), n_subjects, replace=False)
    )
    song_len_s = srng.uniform(*duration_s, n_songs)
    assignment = assign_listeners(srng, n_songs, n_subjects, listeners_per_song, n_trials)
    features = _music_features(stream(seed, "pmemo", 2), song_v, song_a)

    listeners = []
    raters = draw_raters(stream(seed, "pmemo", 3), n_subjects)
    heard: list[list[int]] = [[] for _ in range(n_subjects)]
    for i, chosen in enumerate(assignment):
        for j in chosen:
            heard[j].append(i)
    for j in range(n_subjects):
        rng = stream(seed, "pmemo", 1, j)
        songs = np.column_stack([song_v[heard[j]], song_a[heard[j]]])
        own = draw_latents(rng, len(heard[j]), latent_va_correlation, True, songs)
        noise = rating_noise(rng, len(heard[j]), rating_sd)
        draws = iter(zip(*own, *noise, strict=True))
        listeners.append((rng, draw_subject(rng), raters[j], draws))

    rows, signals, ratings = [], {}, []
    for i, music_id in enumerate(music_ids):
        path = root / "EDA" / f"{music_id}_EDA.csv"
        columns = {}
        for j in assignment[i]:
            rng, physiology, rater, draws = listeners[j]
            subject = str(listener_ids[j])
            own_v, own_a, noise_v, noise_a = next(draws)
            v = float(song_v[i] + OWN_SD * own_v)
            a = float(song_a[i] + OWN_SD * own_a)
            n = int((song_len_s[i] - rng.uniform(0.0, 2.0)) * FS)
            sim = simulate_eda(
                rng, physiology, n_samples=n, fs=FS, arousal=a, valence=v,
                artefact_rate=artefact_rate,
            )
            columns[subject] = np.round(sim.signal, 5)
            # 9-point scale (1..9) mapped to 0-1, as PMEmo's static annotations.
            rv = np.round(to_scale(rater.offset_valence + rater.scale * (v + noise_v), 0, 8)) / 8
            ra = np.round(to_scale(rater.offset_arousal + rater.scale * (a + noise_a), 0, 8)) / 8
            ratings.append((int(music_id), subject, float(ra), float(rv)))
            rows.append({
                "dataset": "pmemo", "subject": subject, "trial": int(music_id),
                "trial_id": f"{subject}_{music_id}", "stimulus": int(music_id),
                "file": str(path), "fs": FS, "n_samples": n,
                "latent_valence": v, "latent_arousal": a,
                "stimulus_valence": song_v[i], "stimulus_arousal": song_a[i],
                "rating_valence": float(rv), "rating_arousal": float(ra), "rating_missing": False,
                "rater_offset_valence": rater.offset_valence,
                "rater_offset_arousal": rater.offset_arousal, "rater_scale": rater.scale,
                "tonic_level_us": sim.tonic_level_us, "scr_rate_per_min": sim.scr_rate_per_min,
                "scr_amplitude_us": sim.scr_amplitude_us, "n_scr": sim.n_scr,
                "artefact": sim.artefact, "nan_samples": 0,
            })
            if keep_signals:
                signals[f"{subject}_{music_id}"] = columns[subject]
        longest = max(len(x) for x in columns.values())
        table = np.full((longest, len(columns) + 1), np.nan)
        table[:, 0] = np.arange(longest) / FS
        for c, x in enumerate(columns.values(), start=1):
            table[: len(x), c] = x
        write_csv(path, ["time(s)", *columns], table, "%.5f")

    per_listener = pd.DataFrame(ratings, columns=["musicId", "subjectId", "Arousal", "Valence"])
    per_listener.to_csv(root / "annotations" / "static_annotations_per_listener.csv", index=False)
    means = per_listener.groupby("musicId", sort=True)[["Arousal", "Valence"]].mean().round(4)
    means.columns = ["Arousal(mean)", "Valence(mean)"]
    means.reset_index().to_csv(root / "annotations" / "static_annotations.csv", index=False)
    write_csv(
        root / "features" / "static_features.csv", ["musicId", *compare_feature_names()],
        np.column_stack([music_ids, features]), ["%d", *["%.6g"] * features.shape[1]],
    )
    return Generated(ground_truth_frame(rows), signals)
