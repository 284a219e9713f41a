"""Synthetic PMEmo2019 in the native layout (`root` = the PMEmo2019 folder).

Writes `EDA/{musicId}_EDA.csv` (50 Hz; `time(s)` then one µS column per listener id, shorter
recordings padded with empty cells), `annotations/static_annotations.csv` (song means on 0-1),
`annotations/static_annotations_per_listener.csv` (`musicId, subjectId, Arousal, Valence`:
each listener's own ratings on a 9-point scale mapped to 0-1), `annotations/
dynamic_annotations.csv` (`musicId, frameTime, Arousal(mean), Valence(mean)`, 2 Hz from 15.5 s
to the end of the chorus, 0-1, as the real release) with `dynamic_annotations_std.csv`
(`musicId, frameTime, Arousal(std), Valence(std)`), and `features/static_features.csv`
(`musicId` + the 6,373 ComParE_2016 functionals under their openSMILE names). Songs carry latent
valence/arousal shared by their listeners; about 30 % of the music features load on the song's
valence and/or arousal, the rest are noise.

Durations: each song has a chorus length (`duration_s` range); each listener's recording of it
is that length plus a per-listener jitter (normal, SD `duration_jitter_s`, clipped at 2 SD), so
the song keeps its mean length but a recording's length no longer identifies the song.

Planted dynamics (issue 16): every song has a continuous V/A trajectory on the chorus clock,
latent(t) = static latent + offset + sum_k amplitude_k sin(2 pi f_k t + phase_k) (3 components,
0.02-0.12 Hz, SD `dynamic_sd`, offset making its mean over [0, chorus length] exactly the static
latent); the annotated mean trace is `to_scale(latent(t), 0, 1)`. Each listener has a response
lag (uniform 1-3 s): the SCR rate of their recording at time t follows the song's trajectory at
t - lag; the tonic level follows the same lagged trajectory through a first-order low-pass of
time constant `eda.TONIC_TAU_S` (15 s: skin conductance level responds slowly), so it trails
the arousal by the lag plus the filter's delay (2-9 s at 0.12-0.02 Hz). The parameters are
written to `dynamic_truth.csv` beside ground_truth.csv (outside the native folder) and the lag
to ground_truth.csv (`response_lag_s`; the chorus length is `stimulus_duration_s`).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic
from edaffect.synthetic import Generated, clear_paths, ground_truth_frame, stream
from edaffect.synthetic.eda import draw_latents, draw_raters, simulate_eda, to_scale
from edaffect.synthetic.subjects import draw_subject_trials

FS = 50
FIRST_LISTENER_ID = 10001
OWN_SD = 0.6  # listener's own deviation from the song's latent (latent units)
DYNAMIC_START_S = 15.5  # PMEmo's dynamic annotations start at 15.5 s ...
DYNAMIC_STEP_S = 0.5  # ... at 2 Hz
N_COMPONENTS = 3  # sinusoids per song trajectory and dimension
COMPONENT_HZ = (0.02, 0.12)
LAG_S = (1.0, 3.0)  # listener's response lag range
DYNAMIC_COLUMNS = [
    "musicId", "dimension", "static_latent", "offset", "component", "amplitude", "frequency_hz",
    "phase_rad",
]
NATIVE_PARTS = ["EDA", "annotations", "features", "chorus"]
DYNAMIC_TRUTH = "dynamic_truth.csv"


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


@dataclass(frozen=True)
class Trajectory:
    """One song's latent trajectory in one dimension (see the module docstring)."""

    static: float
    offset: float
    amplitude: np.ndarray
    frequency: np.ndarray
    phase: np.ndarray

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """latent(t) at times t (s on the chorus clock); before 0 it holds latent(0)."""
        t = np.maximum(np.asarray(t, dtype=float), 0.0)[..., None]
        waves = self.amplitude * np.sin(2 * np.pi * self.frequency * t + self.phase)
        return self.static + self.offset + waves.sum(axis=-1)


def draw_trajectory(
    rng: np.random.Generator, static: float, length_s: float, sd: float
) -> Trajectory:
    """A smooth trajectory of SD ~`sd` whose mean over [0, length_s] is exactly `static`."""
    freq = rng.uniform(*COMPONENT_HZ, N_COMPONENTS)
    amp = rng.uniform(0.5, 1.0, N_COMPONENTS)
    amp *= sd * np.sqrt(2.0 / np.sum(amp**2))  # sum of sinusoids has variance sum(a^2)/2
    phase = rng.uniform(0.0, 2 * np.pi, N_COMPONENTS)
    raw = Trajectory(float(static), 0.0, amp, freq, phase)
    grid = np.linspace(0.0, length_s, 2001)
    mean = float(np.mean(raw(grid) - static))
    return Trajectory(float(static), -mean, amp, freq, phase)


def dynamic_frames(length_s: float) -> np.ndarray:
    """frameTime of the dynamic annotations: 15.5 s, 16.0 s, ... up to the chorus end."""
    return np.arange(DYNAMIC_START_S, length_s + 1e-9, DYNAMIC_STEP_S)


def write_csv(path: Path, header: list[str], table: np.ndarray, fmt: str | list[str]) -> None:
    """Write a numeric table as CSV, NaN as an empty cell (pandas' float formatting is ~10x
    slower, which matters for the paper-scale 7,962 traces)."""
    buffer = io.StringIO()
    np.savetxt(buffer, table, fmt=fmt, delimiter=",", header=",".join(header), comments="")
    atomic.write_text(path, buffer.getvalue().replace("nan", ""))


def _write_dynamic_annotations(
    root: Path, music_ids: np.ndarray, song_len_s: np.ndarray,
    trajectories: list[tuple[Trajectory, Trajectory]], rng: np.random.Generator,
) -> None:
    """annotations/dynamic_annotations.csv (+ _std.csv) in PMEmo's format, 2 Hz from 15.5 s."""
    means, stds = [], []
    for music_id, length, (traj_v, traj_a) in zip(music_ids, song_len_s, trajectories,
                                                  strict=True):
        t = dynamic_frames(length)
        ids = np.full(t.size, music_id, dtype=float)
        means.append(
            np.column_stack([ids, t, to_scale(traj_a(t), 0, 1), to_scale(traj_v(t), 0, 1)])
        )
        base = rng.uniform(0.08, 0.2, 2)
        wobble = 0.02 * np.sin(2 * np.pi * rng.uniform(0.02, 0.1, 2) * t[:, None]
                               + rng.uniform(0, 2 * np.pi, 2))
        stds.append(np.column_stack([ids, t, base + wobble]))
    fmt = ["%d", "%.1f", "%.6f", "%.6f"]
    write_csv(root / "annotations" / "dynamic_annotations.csv",
              ["musicId", "frameTime", "Arousal(mean)", "Valence(mean)"], np.vstack(means), fmt)
    write_csv(root / "annotations" / "dynamic_annotations_std.csv",
              ["musicId", "frameTime", "Arousal(std)", "Valence(std)"], np.vstack(stds), fmt)


def generate(
    root: Path,
    *,
    seed: int,
    n_subjects: int,
    n_songs: int,
    listeners_per_song: int,
    n_trials: int | None = None,
    duration_s: tuple[float, float] = (30.0, 40.0),
    duration_jitter_s: float = 3.0,
    dynamic_sd: float = 0.6,
    artefact_rate: float = 0.02,
    latent_va_correlation: float = 0.75,
    rating_sd: float = 0.5,
    chorus_audio_s: float = 0.0,
    keep_signals: bool = False,
) -> Generated:
    """Write the PMEmo2019 layout for n_songs songs and n_subjects listeners into the PMEmo2019
    folder `root`; return the truth (dynamic_truth.csv as an extra table)."""
    n_trials = n_trials or n_songs * listeners_per_song
    clear_paths(root, NATIVE_PARTS)
    for sub in ("EDA", "annotations", "features"):
        (root / sub).mkdir(parents=True)
    if chorus_audio_s > 0:
        (root / "chorus").mkdir()
    srng = stream(seed, "pmemo", 0)
    music_ids = np.sort(srng.choice(np.arange(1, max(1000, 2 * n_songs)), n_songs, replace=False))
    song_v, song_a = draw_latents(srng, n_songs, latent_va_correlation, exact=True)
    listener_ids = FIRST_LISTENER_ID + np.sort(
        srng.choice(np.arange(3 * n_subjects), n_subjects, replace=False)
    )
    song_len_s = srng.uniform(*duration_s, n_songs)
    assignment = assign_listeners(srng, n_songs, n_subjects, listeners_per_song, n_trials)
    features = _music_features(stream(seed, "pmemo", 2), song_v, song_a)
    drng = stream(seed, "pmemo", 4)
    trajectories = [
        (draw_trajectory(drng, song_v[i], song_len_s[i], dynamic_sd),
         draw_trajectory(drng, song_a[i], song_len_s[i], dynamic_sd))
        for i in range(n_songs)
    ]

    raters = draw_raters(stream(seed, "pmemo", 3), n_subjects)
    heard: list[list[int]] = [[] for _ in range(n_subjects)]
    for i, chosen in enumerate(assignment):
        for j in chosen:
            heard[j].append(i)
    listeners = []
    for j in range(n_subjects):
        songs = np.column_stack([song_v[heard[j]], song_a[heard[j]]])
        subject = draw_subject_trials(
            seed, "pmemo", j, songs, correlation=latent_va_correlation, rating_sd=rating_sd,
            rater=raters[j], own_weight=OWN_SD,
        )
        lag = float(subject.rng.uniform(*LAG_S))
        listeners.append((subject, lag, iter(range(len(heard[j])))))

    rows, signals, ratings = [], {}, []
    max_jitter = 2.0 * duration_jitter_s
    for i, music_id in enumerate(music_ids):
        path = root / "EDA" / f"{music_id}_EDA.csv"
        columns = {}
        traj_v, traj_a = trajectories[i]
        for j in assignment[i]:
            sub, lag, order = listeners[j]
            k = next(order)
            rng = sub.rng
            subject = str(listener_ids[j])
            v, a = float(sub.valence[k]), float(sub.arousal[k])
            jitter = float(np.clip(rng.normal(0.0, duration_jitter_s), -max_jitter, max_jitter))
            n = int(round(max(song_len_s[i] + jitter, 1.0) * FS))
            t = np.arange(n) / FS - lag
            dynamics = (traj_v(t) - song_v[i], traj_a(t) - song_a[i])
            sim = simulate_eda(
                rng, sub.physiology, n_samples=n, fs=FS, arousal=a, valence=v,
                artefact_rate=artefact_rate, dynamics=dynamics,
            )
            columns[subject] = np.round(sim.signal, 5)
            # 9-point scale (1..9) mapped to 0-1, as PMEmo's static annotations.
            rv, ra = (np.round(x) / 8 for x in sub.rating(k, 0, 8))
            ratings.append((int(music_id), subject, float(ra), float(rv)))
            rater = sub.rater
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
                "artefact": sim.artefact, "nan_samples": 0, "response_lag_s": lag,
                "stimulus_duration_s": float(song_len_s[i]),
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
    atomic.to_csv(per_listener, root / "annotations" / "static_annotations_per_listener.csv",
                  index=False)
    means = per_listener.groupby("musicId", sort=True)[["Arousal", "Valence"]].mean().round(4)
    means.columns = ["Arousal(mean)", "Valence(mean)"]
    atomic.to_csv(means.reset_index(), root / "annotations" / "static_annotations.csv",
                  index=False)
    _write_dynamic_annotations(root, music_ids, song_len_s, trajectories, stream(seed, "pmemo", 5))
    if chorus_audio_s > 0:
        arng = stream(seed, "pmemo", 6)
        for i, music_id in enumerate(music_ids):
            write_chorus_audio(root / "chorus" / f"{music_id}.wav", song_v[i], song_a[i],
                               chorus_audio_s, arng)
    write_csv(
        root / "features" / "static_features.csv", ["musicId", *compare_feature_names()],
        np.column_stack([music_ids, features]), ["%d", *["%.6g"] * features.shape[1]],
    )
    return Generated(ground_truth_frame(rows), signals,
                     extra={DYNAMIC_TRUTH: dynamic_truth(music_ids, trajectories)})


AUDIO_FS = 16000


def write_chorus_audio(path: Path, valence: float, arousal: float, seconds: float,
                       rng: np.random.Generator) -> None:
    """A short synthetic chorus (mono wav, 16 kHz) whose sound follows the song's latents, so
    that openSMILE features from audio carry them: arousal speeds the note rate and adds
    loudness and noise; valence raises the pitch and picks a major (vs minor) third."""
    import soundfile

    t = np.arange(int(round(seconds * AUDIO_FS))) / AUDIO_FS
    f0 = 220.0 * 2.0 ** (0.25 * np.tanh(valence))
    third = 2.0 ** ((4 if valence > 0 else 3) / 12)
    notes_per_s = 2.0 + 1.5 * (1.0 + np.tanh(arousal))
    envelope = 0.5 * (1.0 - np.cos(2 * np.pi * notes_per_s * t))
    tone = sum(np.sin(2 * np.pi * f0 * ratio * t) / k
               for k, ratio in enumerate((1.0, third, 1.5, 2.0), start=1))
    loudness = 0.15 + 0.1 * (1.0 + np.tanh(arousal))
    noise = 0.02 * (1.0 + np.tanh(arousal)) * rng.standard_normal(len(t))
    signal = loudness * envelope * tone / 2.1 + noise
    tmp = path.with_suffix(".tmp.wav")
    soundfile.write(tmp, np.clip(signal, -1.0, 1.0).astype(np.float32), AUDIO_FS)
    tmp.replace(path)


def dynamic_truth(music_ids: np.ndarray, trajectories: list[tuple[Trajectory, Trajectory]]
                  ) -> pd.DataFrame:
    """dynamic_truth.csv: one row per (song, dimension, component) of the planted trajectories."""
    rows = []
    for music_id, pair in zip(music_ids, trajectories, strict=True):
        for dimension, traj in zip(("valence", "arousal"), pair, strict=True):
            for k in range(len(traj.amplitude)):
                rows.append({
                    "musicId": int(music_id), "dimension": dimension,
                    "static_latent": traj.static, "offset": traj.offset, "component": k,
                    "amplitude": float(traj.amplitude[k]),
                    "frequency_hz": float(traj.frequency[k]), "phase_rad": float(traj.phase[k]),
                })
    return pd.DataFrame(rows, columns=DYNAMIC_COLUMNS)
