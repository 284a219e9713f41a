"""Shared realistic EDA simulator: tonic level with drift + Bateman-shaped SCRs + noise + artefacts.

The planted effect: a trial's latent arousal raises the SCR rate, the SCR amplitude and the tonic
level; latent valence has a weak effect on the SCR rate only. Subjects differ in all three
baselines, so a subject-independent model must learn the within-trial dynamics. With `dynamics`
(PMEmo) the SCR rate and tonic level follow a per-sample arousal/valence trajectory (already
delayed by the listener's response lag), so SCR onsets form an inhomogeneous Poisson process.
The SCR rate follows the trajectory at once; the tonic level (skin conductance level) responds
slowly: its dynamic arousal modulation passes a first-order low-pass with time constant
TONIC_TAU_S = 15 s (`slow_response`), so it keeps the slow part of the arousal (gain 0.47 and
8.6 s extra delay at 0.02 Hz; 0.09 and 2.0 s at 0.12 Hz) and, like a real SCL, does not track
the fast changes. Without it the tonic changed faster than cvxEDA's tonic spline can follow and
leaked into the driver ahead of the arousal (docs/continuous.md, lag of the skin's response).

Calibrated against the real recordings in tests/data (docs/datasets.md, "Synthetic EDA vs real
recordings"): baseline SCR rate ~4.5/min (real: 3.6/min NeuroKit2 recording, 7.6/min median over
the 16 PMEmo demo listeners), SCR amplitude ~0.3 µS, measurement noise as a white spectrum of
5e-7 µS²/Hz (with the SCRs' own content the 1-5 Hz floor measures ~2e-6, the NeuroKit2
recording 1.5e-6) whatever the sampling rate, and one subject in five with a noisy electrode
(100-3000x that noise power, as 4 of the 16 demo listeners whose 1-5 Hz band holds 1-18 % of
the signal variance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TAU0 = 2.0  # s, slow (recovery) time constant of the Bateman SCR shape (cvxEDA default)
TAU1 = 0.7  # s, fast (rise) time constant
MIN_CONDUCTANCE = 0.05  # µS, the simulated skin conductance never goes below this
NOISE_PSD = 5e-7  # µS²/Hz white measurement noise; with the SCRs' own 1-5 Hz content the floor
# measures ~1.5e-6 µS²/Hz, as the real NeuroKit2 recording
NOISY_SHARE = 0.2  # share of subjects with a noisy electrode ...
NOISY_FACTOR = (100.0, 3000.0)  # ... whose noise power is this many times higher (log-uniform)

# Strength of the planted effects (log-scale slopes per unit of latent, latents ~ N(0, 1)).
AROUSAL_ON_RATE = 0.55
AROUSAL_ON_AMPLITUDE = 0.35
AROUSAL_ON_TONIC = 0.12
VALENCE_ON_RATE = 0.12
# The tonic level (SCL) responds slowly: its dynamic arousal modulation passes a first-order
# low-pass of this time constant (s); the SCR rate follows the arousal without it.
TONIC_TAU_S = 15.0


@dataclass(frozen=True)
class SubjectPhysiology:
    """One subject's EDA baselines (what makes subjects differ regardless of emotion)."""

    tonic_us: float  # typical skin conductance level, µS
    scr_rate_per_min: float  # spontaneous + evoked SCRs per minute at neutral arousal
    scr_amplitude_us: float  # typical SCR amplitude, µS
    noise_psd: float  # white measurement noise power spectral density, µS²/Hz (one-sided)


@dataclass(frozen=True)
class SimulatedEDA:
    """A simulated trace plus the planted quantities written to ground_truth.csv."""

    signal: np.ndarray  # µS, float64
    n_scr: int
    scr_rate_per_min: float
    scr_amplitude_us: float
    tonic_level_us: float
    artefact: str  # "none" | "spike" | "step"
    onsets_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # SCR onsets, sorted


def draw_subject(rng: np.random.Generator) -> SubjectPhysiology:
    """Draw a subject's physiology (log-normal baselines, realistic ranges)."""
    tonic = float(np.exp(rng.normal(np.log(4.0), 0.5)))
    rate = float(np.exp(rng.normal(np.log(4.5), 0.35)))
    amplitude = float(np.exp(rng.normal(np.log(0.3), 0.45)))
    noise = float(NOISE_PSD * np.exp(rng.normal(0.0, 0.6)))
    if rng.random() < NOISY_SHARE:
        noise *= float(np.exp(rng.uniform(*np.log(NOISY_FACTOR))))
    return SubjectPhysiology(
        tonic_us=tonic, scr_rate_per_min=rate, scr_amplitude_us=amplitude, noise_psd=noise
    )


def bateman_kernel(fs: float, tau0: float = TAU0, tau1: float = TAU1) -> np.ndarray:
    """Bateman function exp(-t/tau0) - exp(-t/tau1), normalised to a peak of 1, ~8 tau0 long."""
    t = np.arange(int(np.ceil(8 * tau0 * fs))) / fs
    kernel = np.exp(-t / tau0) - np.exp(-t / tau1)
    return kernel / kernel.max()


def slow_response(x: np.ndarray, fs: float, tau_s: float) -> np.ndarray:
    """First-order low-pass dy/dt = (x - y) / tau_s of a sampled signal, exact for x held over
    each sample (y[n] = a y[n-1] + (1 - a) x[n], a = exp(-1 / (tau_s fs))), starting at rest
    at x[0] (the skin in equilibrium with the arousal at the recording's start)."""
    from scipy.signal import lfilter

    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return x.copy()
    a = float(np.exp(-1.0 / (tau_s * fs)))
    y, _ = lfilter([1.0 - a], [1.0, -a], x, zi=[a * x[0]])
    return y


def simulate_eda(
    rng: np.random.Generator,
    subject: SubjectPhysiology,
    *,
    n_samples: int,
    fs: float,
    arousal: float,
    valence: float,
    artefact_rate: float = 0.0,
    baseline_s: float = 0.0,
    dynamics: tuple[np.ndarray, np.ndarray] | None = None,
) -> SimulatedEDA:
    """Simulate one trial of skin conductance (µS) driven by latent arousal/valence.

    The first `baseline_s` seconds (pre-trial baseline) carry the subject's neutral activity.
    `dynamics` = (valence, arousal) deviations per sample (n_samples each, latent units, mean ~0)
    added to the trial's latents in the SCR rate and the tonic level (the listener's lag already
    applied); the reported rate and tonic level are their trial means.
    """
    duration = n_samples / fs
    rate = subject.scr_rate_per_min * np.exp(AROUSAL_ON_RATE * arousal + VALENCE_ON_RATE * valence)
    amplitude = subject.scr_amplitude_us * np.exp(AROUSAL_ON_AMPLITUDE * arousal)
    tonic = subject.tonic_us * np.exp(AROUSAL_ON_TONIC * arousal)
    rate_t = tonic_t = None
    if dynamics is not None:
        dv, da = (np.asarray(x, dtype=float) for x in dynamics)
        if dv.shape != (n_samples,) or da.shape != (n_samples,):
            raise ValueError(f"dynamics must be two arrays of {n_samples} samples")
        rate_t = rate * np.exp(AROUSAL_ON_RATE * da + VALENCE_ON_RATE * dv)
        tonic_t = tonic * np.exp(AROUSAL_ON_TONIC * slow_response(da, fs, TONIC_TAU_S))

    t = np.arange(n_samples) / fs
    # Tonic: level, slow linear drift and two slow random oscillations (periods 20-120 s).
    drift = rng.normal(0.0, 0.004) * tonic * t
    for _ in range(2):
        period = rng.uniform(20.0, 120.0)
        drift = drift + rng.normal(0.0, 0.03) * tonic * np.sin(
            2 * np.pi * t / period + rng.uniform(0, 2 * np.pi)
        )
    signal = (tonic if tonic_t is None else tonic_t) + drift

    # Phasic: Poisson SCR onsets, neutral rate during the baseline, log-normal amplitudes.
    kernel = bateman_kernel(fs)
    onsets: list[float] = []
    if baseline_s > 0:
        n_base = rng.poisson(subject.scr_rate_per_min * min(baseline_s, duration) / 60.0)
        onsets.extend(rng.uniform(0.0, min(baseline_s, duration), n_base))
    active = max(duration - baseline_s, 0.0)
    if rate_t is None:
        n_active = rng.poisson(rate * active / 60.0)
        onsets.extend(rng.uniform(baseline_s, duration, n_active))
    else:  # inhomogeneous Poisson: count from the integral, positions with density ~ rate_t
        first = min(int(np.ceil(baseline_s * fs)), n_samples)
        weights = rate_t[first:]
        if weights.size:
            n_active = rng.poisson(weights.sum() / fs / 60.0)
            at = rng.choice(weights.size, n_active, p=weights / weights.sum())
            onsets.extend((first + at + rng.random(n_active)) / fs)
        rate, tonic = float(rate_t.mean()), float(tonic_t.mean())
    amps = amplitude * np.exp(rng.normal(0.0, 0.4, len(onsets)))
    for onset, amp in zip(onsets, amps, strict=True):
        start = int(onset * fs)
        stop = min(n_samples, start + len(kernel))
        signal[start:stop] += amp * kernel[: stop - start]

    signal = signal + rng.normal(0.0, np.sqrt(subject.noise_psd * fs / 2.0), n_samples)

    artefact = "none"
    if artefact_rate > 0 and rng.random() < artefact_rate:
        at = int(rng.integers(0, n_samples))
        if rng.random() < 0.6:  # motion spike: sharp, short, either sign
            width = max(1, int(rng.uniform(0.1, 0.5) * fs))
            shape = np.hanning(width + 2)[1:-1]
            stop = min(n_samples, at + width)
            signal[at:stop] += rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0) * shape[: stop - at]
            artefact = "spike"
        else:  # electrode shift: a sudden level step
            signal[at:] += rng.uniform(-0.3, 0.3) * tonic
            artefact = "step"

    np.maximum(signal, MIN_CONDUCTANCE, out=signal)
    return SimulatedEDA(
        signal=signal,
        n_scr=len(onsets),
        scr_rate_per_min=float(rate),
        scr_amplitude_us=float(amplitude),
        tonic_level_us=float(tonic),
        artefact=artefact,
        onsets_s=np.sort(np.asarray(onsets, dtype=float)),
    )


def draw_latents(
    rng: np.random.Generator,
    n: int,
    correlation: float,
    exact: bool = False,
    orthogonal_to: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """n (valence, arousal) latent pairs, standard normal with the given correlation.

    exact=True whitens the sample, so that the n pairs have exactly mean 0, SD 1 and the requested
    correlation, and (with `orthogonal_to`, shape (n, k)) are exactly uncorrelated with those
    columns; this keeps the planted V/A rating correlation from drifting with small samples.
    """
    z = rng.normal(size=(n, 2))
    if exact and n > 2:
        basis = np.ones((n, 1))
        if orthogonal_to is not None and n > orthogonal_to.shape[1] + 3:
            basis = np.column_stack([basis, orthogonal_to])
        q, _ = np.linalg.qr(basis)
        z = z - q @ (q.T @ z)
        z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False)).T)
    chol = np.linalg.cholesky(np.array([[1.0, correlation], [correlation, 1.0]]))
    z = z @ chol.T
    return z[:, 0], z[:, 1]


@dataclass(frozen=True)
class RaterStyle:
    """How one subject uses the rating scale: own offset and scale per dimension."""

    offset_valence: float
    offset_arousal: float
    scale: float


def draw_raters(rng: np.random.Generator, n: int, offset_sd: float = 0.5) -> list[RaterStyle]:
    """n subjects' rating habits: offsets (latent units) exactly uncorrelated between V and A
    across the n subjects, so that the planted V/A rating correlation does not drift with the
    draw; a log-normal scale factor each."""
    ov, oa = draw_latents(rng, n, 0.0, exact=True)
    scales = np.exp(rng.normal(0.0, 0.25, n))
    return [
        RaterStyle(float(offset_sd * v), float(offset_sd * a), float(c))
        for v, a, c in zip(ov, oa, scales, strict=True)
    ]


def rating_noise(rng: np.random.Generator, n: int, sd: float) -> tuple[np.ndarray, np.ndarray]:
    """(valence, arousal) rating noise for n trials of one subject, exactly uncorrelated."""
    nv, na = draw_latents(rng, n, 0.0, exact=True)
    return sd * nv, sd * na


def to_scale(x: np.ndarray | float, low: float, high: float, spread: float = 1.6) -> np.ndarray:
    """Map an unbounded rating axis onto [low, high] with a logistic squashing."""
    return low + (high - low) / (1.0 + np.exp(-np.asarray(x, dtype=float) / spread))
