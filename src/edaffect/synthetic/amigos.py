"""Synthetic AMIGOS: one `Data_Preprocessed_PNN.mat` (MATLAB v5) per participant.

Layout as the real download: `synthetic.generate` passes the native folder
`data_preprocessed_matlab/` as `root`; the ground truth is written outside it.
`joined_data` is a 1x20 cell: trials 1-16 (short videos) and, for the participants who took
part in the long-video session (share `long_video_rate`, real 37/40), trials 17-20 (long
videos) are (samples x 17) float64 at 128 Hz: 14 EEG (Emotiv order AF3 ... AF4), 2 ECG leads,
GSR (µS) in column 17. Absent long videos are empty 0x0 arrays with a 1x0 rating (what the
real files and TorchEEG's AMIGOS reader expect). `labels_selfassessment` is a 1x20 cell of 1x12
rows (arousal, valence, dominance, liking, familiarity, 7 basic emotions as 0/1); a missing
rating is a 1x0 array. Some GSR traces get NaN runs.

Planted effects (parameters per trial in ground_truth.csv), a = latent arousal, v = latent valence:
- EDA: as every dataset (`eda.py`: arousal raises SCR rate, amplitude and tonic level).
- ECG: PQRST beats (sum of Gaussian waves) at times from an RR series with respiratory sinus
  arrhythmia and a 0.1-Hz component; heart rate = subject rate + HR_PER_AROUSAL * a bpm, and the
  RR modulation (HRV) scaled by exp(-HRV_PER_AROUSAL * a).
- EEG: 1/f background plus theta, alpha, beta, gamma rhythms (band-limited, Gaussian bumps in
  the spectrum); beta and gamma amplitude x exp(BG_PER_AROUSAL * a); frontal alpha amplitude
  x exp(-ALPHA_ASYM_PER_VALENCE * v) on the left (AF3, F7, F3, FC5) and x exp(+...) on the
  right (FC6, F4, F8, AF4): positive valence = relatively less left alpha (more left activity).
- Modality reliability varies by trial (what a modality-aware attention can exploit; real
  wearable ECG/EEG are often contaminated), a whole modality at a time: with probability
  `eeg_artefact_rate` a trial's EEG carries electrode-movement artefact, broadband noise from
  EEG_ARTEFACT_LOW_HZ (1 Hz) to Nyquist on every channel (own gain per channel) at
  EEG_ARTEFACT_GAIN x the EEG scale, which swamps every band (the beta/gamma arousal and the
  frontal-alpha valence effect); with probability `ecg_artefact_rate` its ECG carries motion
  artefact, electrode pops (spikes as tall as R waves, ECG_POP_RATE per s) and extra noise,
  which make a large share of the detected R peaks spurious. `artefacts_exclusive` (default):
  at most one modality of a trial is hit, so one is always reliable. Drawn from their own
  stream (ground truth `eeg_emg_gain` = the EEG artefact's gain, `ecg_pop_rate_hz`; 0 = clean).
  `eeg_artefact_low_hz` 20, gain (1, 3), pops (0.3, 1) per s, not exclusive = the partial
  artefacts of the first design (EMG in beta/gamma only; docs/maan.md).
Short-video EDA and ratings are drawn from the same streams as before the EEG/ECG were added.
"""

from __future__ import annotations

from dataclasses import dataclass
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
N_LONG = 4
N_COLUMNS = 17
GSR_COLUMN = 16
EEG_COLUMNS = list(range(14))
ECG_COLUMNS = [14, 15]
EEG_CHANNELS = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8",
                "AF4"]
LEFT_FRONTAL = [0, 1, 2, 3]
RIGHT_FRONTAL = [13, 12, 11, 10]
LONG_VIDEO_RATE = 37 / 40  # real AMIGOS: 37 of 40 participants watched the long videos

HR_PER_AROUSAL = 6.0  # bpm per SD of latent arousal
HRV_PER_AROUSAL = 0.35  # log-scale of the RR modulation per SD of arousal
BG_PER_AROUSAL = 0.25  # log-amplitude of beta and gamma per SD of arousal
ALPHA_ASYM_PER_VALENCE = 0.25  # log-amplitude of frontal alpha per SD of valence (sign by side)
EEG_ARTEFACT_LOW_HZ = 1.0  # lower edge of the EEG artefact's noise band (20 = EMG only)
EEG_ARTEFACT_GAIN = (3.0, 6.0)  # SD of a contaminated trial's EEG noise / the EEG scale (uniform)
ECG_POP_RATE = (2.0, 4.0)  # electrode pops per second in a contaminated ECG (uniform range)

# PQRST waves (McSharry et al. 2003 style): offset from R (s), amplitude (mV), width (s)
WAVES = {"P": (-0.20, 0.12, 0.025), "Q": (-0.03, -0.12, 0.010), "R": (0.0, 1.0, 0.010),
         "S": (0.03, -0.25, 0.010), "T": (0.26, 0.30, 0.045)}
LEAD2_GAIN = {"P": 0.8, "Q": 0.6, "R": 0.7, "S": 1.2, "T": 0.7}


@dataclass(frozen=True)
class Heart:
    """One participant's cardiac and respiratory constants."""

    rate_bpm: float
    rsa_s: float  # amplitude of the respiratory RR modulation
    lf_s: float  # amplitude of the 0.1-Hz RR modulation
    resp_hz: float


@dataclass(frozen=True)
class Brain:
    """One participant's EEG constants: overall scale (µV), alpha peak, channel gains."""

    scale_uv: float
    alpha_hz: float
    channel_gain: np.ndarray  # (14,)


def draw_heart(rng: np.random.Generator) -> Heart:
    return Heart(
        rate_bpm=float(rng.uniform(62, 80)), rsa_s=float(rng.uniform(0.03, 0.06)),
        lf_s=float(rng.uniform(0.015, 0.03)), resp_hz=float(rng.uniform(0.2, 0.3)),
    )


def draw_brain(rng: np.random.Generator) -> Brain:
    return Brain(
        scale_uv=float(rng.lognormal(np.log(12.0), 0.15)), alpha_hz=float(rng.uniform(9.0, 11.0)),
        channel_gain=rng.lognormal(0.0, 0.1, len(EEG_CHANNELS)),
    )


def beat_times(
    rng: np.random.Generator, heart: Heart, duration_s: float, arousal: float
) -> tuple[np.ndarray, float, float]:
    """R-peak times (s) over `duration_s`; returns (times, heart rate bpm, RSA amplitude s)."""
    rate = heart.rate_bpm + HR_PER_AROUSAL * arousal
    mean_rr = 60.0 / rate
    scale = float(np.exp(-HRV_PER_AROUSAL * arousal))
    rsa, lf = heart.rsa_s * scale, heart.lf_s * scale
    phase_r, phase_l = rng.uniform(0, 2 * np.pi, 2)
    t = float(rng.uniform(0.1, mean_rr))
    times = []
    while t < duration_s - 0.05:
        times.append(t)
        rr = (mean_rr + rsa * np.sin(2 * np.pi * heart.resp_hz * t + phase_r)
              + lf * np.sin(2 * np.pi * 0.1 * t + phase_l) + rng.normal(0, 0.008))
        t += max(rr, 0.3)
    return np.asarray(times), rate, rsa


def simulate_ecg(
    rng: np.random.Generator, heart: Heart, n_samples: int, fs: float, times: np.ndarray
) -> np.ndarray:
    """Two ECG leads (mV), shape (2, n_samples): PQRST at `times`, respiration wander, noise."""
    t = np.arange(n_samples) / fs
    leads = np.zeros((2, n_samples))
    half = int(0.45 * fs)
    for beat in times:
        c = int(round(beat * fs))
        lo, hi = max(0, c - half), min(n_samples, c + half)
        tt = t[lo:hi] - beat
        for name, (offset, amp, width) in WAVES.items():
            wave = amp * np.exp(-0.5 * ((tt - offset) / width) ** 2)
            leads[0, lo:hi] += wave
            leads[1, lo:hi] += LEAD2_GAIN[name] * wave
    wander = 0.08 * np.sin(2 * np.pi * heart.resp_hz * t + rng.uniform(0, 2 * np.pi))
    return leads + wander + rng.normal(0, 0.02, (2, n_samples))


def simulate_eeg(
    rng: np.random.Generator, brain: Brain, n_samples: int, fs: float, arousal: float,
    valence: float,
) -> tuple[np.ndarray, float, float]:
    """14 EEG channels (µV), shape (14, n_samples); returns (eeg, beta/gamma gain, alpha
    asymmetry = log right-minus-left frontal alpha amplitude planted)."""
    n_ch = len(EEG_CHANNELS)
    f = np.fft.rfftfreq(n_samples, 1.0 / fs)
    background = 1.0 / np.maximum(f, 0.5) ** 0.8

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((f - centre) / width) ** 2)

    bg_gain = float(np.exp(BG_PER_AROUSAL * arousal))
    alpha = np.full(n_ch, 0.9)
    alpha[[6, 7]] = 1.6  # occipital alpha
    alpha[LEFT_FRONTAL] *= np.exp(-ALPHA_ASYM_PER_VALENCE * valence)
    alpha[RIGHT_FRONTAL] *= np.exp(ALPHA_ASYM_PER_VALENCE * valence)
    shape = (
        background[None, :]
        + 0.35 * bump(6.0, 1.2)[None, :]
        + alpha[:, None] * bump(brain.alpha_hz, 1.0)[None, :]
        + bg_gain * (0.22 * ((f >= 13) & (f < 30)) + 0.12 * ((f >= 30) & (f < 45)))[None, :]
    )
    shape[:, 0] = 0.0
    spectrum = shape * (rng.normal(size=(n_ch, f.size)) + 1j * rng.normal(size=(n_ch, f.size)))
    eeg = np.fft.irfft(spectrum, n=n_samples, axis=1)
    common = eeg.mean(axis=0, keepdims=True)
    eeg = eeg + 0.3 * common  # volume conduction: a shared part
    eeg = eeg / eeg.std() * brain.scale_uv * brain.channel_gain[:, None]
    return eeg, bg_gain, 2.0 * ALPHA_ASYM_PER_VALENCE * valence


def add_eeg_artefact(
    rng: np.random.Generator, eeg: np.ndarray, fs: float, scale_uv: float,
    low_hz: float = EEG_ARTEFACT_LOW_HZ, gain_range: tuple[float, float] = EEG_ARTEFACT_GAIN,
) -> float:
    """Muscle/electrode artefact in place: broadband `low_hz`-Nyquist noise on every channel (own
    gain per channel), SD = gain x `scale_uv`, gain drawn from `gain_range`; returns the gain.
    20 Hz swamps only beta/gamma (EMG); 1 Hz covers every band (electrode movement/loss)."""
    gain = float(rng.uniform(*gain_range))
    f = np.fft.rfftfreq(eeg.shape[1], 1.0 / fs)
    spectrum = (f >= low_hz) * (rng.normal(size=(eeg.shape[0], f.size))
                              + 1j * rng.normal(size=(eeg.shape[0], f.size)))
    noise = np.fft.irfft(spectrum, n=eeg.shape[1], axis=1)
    noise *= rng.lognormal(0.0, 0.3, (eeg.shape[0], 1)) / max(float(noise.std()), 1e-12)
    eeg += gain * scale_uv * noise
    return gain


def add_motion(
    rng: np.random.Generator, ecg: np.ndarray, fs: float,
    rate_range: tuple[float, float] = ECG_POP_RATE,
) -> float:
    """Motion artefact in place on both ECG leads: electrode pops (20-ms spikes of 0.6-1.4 mV,
    random sign, Poisson at a rate drawn from `rate_range`) plus 0.1 mV extra noise; returns
    the pop rate (per s)."""
    rate = float(rng.uniform(*rate_range))
    n = ecg.shape[1]
    t = np.arange(n) / fs
    for at in rng.uniform(0, n / fs, rng.poisson(rate * n / fs)):
        lo, hi = max(0, int((at - 0.06) * fs)), min(n, int((at + 0.06) * fs) + 1)
        spike = rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.4) * np.exp(
            -0.5 * ((t[lo:hi] - at) / 0.01) ** 2)
        ecg[:, lo:hi] += spike[None, :] * rng.uniform(0.7, 1.3, (ecg.shape[0], 1))
    ecg += rng.normal(0, 0.1, ecg.shape)
    return rate


def _artefact_draw(
    rng: np.random.Generator, eeg_rate: float, ecg_rate: float, exclusive: bool,
) -> tuple[bool, bool]:
    """Which of (EEG, ECG) a trial's artefact hits: independently, or at most one of them
    (`exclusive`: one uniform draw, EEG below `eeg_rate`, ECG in the next `ecg_rate`)."""
    if exclusive:
        if eeg_rate + ecg_rate > 1.0:
            raise ValueError(f"exclusive artefacts need eeg_artefact_rate + ecg_artefact_rate "
                             f"<= 1, got {eeg_rate} + {ecg_rate}")
        u = rng.random()
        return bool(u < eeg_rate), bool(eeg_rate <= u < eeg_rate + ecg_rate)
    return bool(rng.random() < eeg_rate), bool(rng.random() < ecg_rate)


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
    long_duration_s: tuple[float, float] = (90.0, 120.0),
    long_video_rate: float = LONG_VIDEO_RATE,
    nan_run_rate: float = 0.05,
    missing_rating_rate: float = 0.01,
    artefact_rate: float = 0.02,
    latent_va_correlation: float = 0.82,
    rating_sd: float = 0.4,
    eeg_artefact_rate: float = 0.3,
    ecg_artefact_rate: float = 0.3,
    eeg_artefact_low_hz: float = EEG_ARTEFACT_LOW_HZ,
    eeg_artefact_gain: tuple[float, float] = EEG_ARTEFACT_GAIN,
    ecg_pop_rate_hz: tuple[float, float] = ECG_POP_RATE,
    artefacts_exclusive: bool = True,
    keep_signals: bool = False,
) -> Generated:
    """Write n_subjects participant files into the native folder `root`; return the truth."""
    clear_paths(root, ["Data_Preprocessed_P*.mat"])
    native = Path(root)
    srng = stream(seed, "amigos", 0)
    video_v, video_a = draw_latents(srng, N_SHORT, latent_va_correlation, exact=True)
    lengths = (srng.uniform(*duration_s, N_SHORT) * FS).astype(int)  # a video lasts as long for all
    lrng = stream(seed, "amigos", 4)
    long_v, long_a = draw_latents(lrng, N_LONG, latent_va_correlation)
    video_v, video_a = np.concatenate([video_v, long_v]), np.concatenate([video_a, long_a])
    lengths = np.concatenate([lengths, (lrng.uniform(*long_duration_s, N_LONG) * FS).astype(int)])
    raters = draw_raters(stream(seed, "amigos", 3), n_subjects)
    rows, signals = [], {}
    for s in range(1, n_subjects + 1):
        rng = stream(seed, "amigos", 1, s)  # short-video EDA and ratings (unchanged stream)
        body = stream(seed, "amigos", 5, s)  # EEG, ECG and everything about long videos
        noisy = stream(seed, "amigos", 6, s)  # EEG/ECG artefacts (leaves the other draws alone)
        subject = f"P{s:02d}"
        physiology = draw_subject(rng)
        heart, brain = draw_heart(body), draw_brain(body)
        takes_long = bool(body.random() < long_video_rate)
        rater = raters[s - 1]
        noise_v, noise_a = rating_noise(rng, N_SHORT, rating_sd)
        own_v, own_a = draw_latents(
            rng, N_SHORT, latent_va_correlation, exact=True,
            orthogonal_to=np.column_stack([video_v[:N_SHORT], video_a[:N_SHORT]]),
        )
        long_noise_v, long_noise_a = rating_noise(body, N_LONG, rating_sd)
        long_own_v, long_own_a = draw_latents(body, N_LONG, latent_va_correlation)
        noise_v, noise_a = np.concatenate([noise_v, long_noise_v]), np.concatenate(
            [noise_a, long_noise_a])
        own_v, own_a = np.concatenate([own_v, long_own_v]), np.concatenate([own_a, long_own_a])
        joined = np.empty((1, N_CELLS), dtype=object)
        labels = np.empty((1, N_CELLS), dtype=object)
        path = native / f"Data_Preprocessed_{subject}.mat"
        for k in range(N_CELLS):
            joined[0, k] = np.zeros((0, 0))
            labels[0, k] = np.zeros((1, 0))
        for k in range(N_CELLS if takes_long else N_SHORT):
            long = k >= N_SHORT
            trng = body if long else rng
            v = np.sqrt(0.5) * (video_v[k] + own_v[k])
            a = np.sqrt(0.5) * (video_a[k] + own_a[k])
            n = int(lengths[k])
            sim = simulate_eda(
                trng, physiology, n_samples=n, fs=FS, arousal=a, valence=v,
                artefact_rate=artefact_rate,
            )
            gsr = sim.signal.copy()
            nan_samples = _nan_runs(trng, gsr, FS) if trng.random() < nan_run_rate else 0
            times, rate, rsa = beat_times(body, heart, n / FS, a)
            ecg = simulate_ecg(body, heart, n, FS, times)
            eeg, bg_gain, asym = simulate_eeg(body, brain, n, FS, a, v)
            eeg_bad, ecg_bad = _artefact_draw(
                noisy, eeg_artefact_rate, ecg_artefact_rate, artefacts_exclusive)
            emg = add_eeg_artefact(noisy, eeg, FS, brain.scale_uv, eeg_artefact_low_hz,
                                   tuple(eeg_artefact_gain)) if eeg_bad else 0.0
            pops = add_motion(noisy, ecg, FS, tuple(ecg_pop_rate_hz)) if ecg_bad else 0.0
            trial_data = np.zeros((n, N_COLUMNS))
            trial_data[:, EEG_COLUMNS] = eeg.T
            trial_data[:, ECG_COLUMNS] = ecg.T
            trial_data[:, GSR_COLUMN] = gsr
            joined[0, k] = trial_data
            rv = float(to_scale(rater.offset_valence + rater.scale * (v + noise_v[k]), 1, 9))
            ra = float(to_scale(rater.offset_arousal + rater.scale * (a + noise_a[k]), 1, 9))
            others = [
                to_scale(0.5 * v + trng.normal(0, 0.8), 1, 9),  # dominance
                to_scale(0.7 * v + trng.normal(0, 0.6), 1, 9),  # liking
                to_scale(trng.normal(0, 1.0), 1, 9),  # familiarity
            ]
            emotions = np.zeros(7)
            emotions[int(trng.integers(0, 7))] = 1.0
            missing = bool(trng.random() < missing_rating_rate)
            rating = np.round([ra, rv, *others], 2)
            if not missing:
                labels[0, k] = np.concatenate([rating, emotions])[None, :]
            trial = k + 1
            rows.append({
                "dataset": "amigos", "subject": subject, "trial": trial,
                "trial_id": f"{subject}_{trial}", "stimulus": trial,
                "file": str(path), "fs": FS, "n_samples": n,
                "latent_valence": v, "latent_arousal": a,
                "stimulus_valence": video_v[k], "stimulus_arousal": video_a[k],
                "rating_valence": rating[1], "rating_arousal": rating[0],
                "rating_missing": missing,
                "rater_offset_valence": rater.offset_valence,
                "rater_offset_arousal": rater.offset_arousal, "rater_scale": rater.scale,
                "tonic_level_us": sim.tonic_level_us, "scr_rate_per_min": sim.scr_rate_per_min,
                "scr_amplitude_us": sim.scr_amplitude_us, "n_scr": sim.n_scr,
                "artefact": sim.artefact, "nan_samples": nan_samples,
                "video_type": "long" if long else "short",
                "heart_rate_bpm": rate, "rsa_amplitude_s": rsa, "n_beats": len(times),
                "eeg_beta_gamma_gain": bg_gain, "eeg_frontal_alpha_asymmetry": asym,
                "eeg_emg_gain": emg, "ecg_pop_rate_hz": pops,
            })
            if keep_signals:
                signals[f"{subject}_{trial}"] = gsr
                signals[f"{subject}_{trial}_beats"] = times
        scipy.io.savemat(path, {"joined_data": joined, "labels_selfassessment": labels})
    return Generated(ground_truth_frame(rows), signals)
