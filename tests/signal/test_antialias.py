"""Shortening a trial to the model input length L must not fold fast SCR trains back into slow
spurious waves (issue 14 item 6): DEAP's 60 s at 128 Hz -> L = 128 samples (new Nyquist
~1.07 Hz)."""

from __future__ import annotations

import numpy as np

from edaffect.signal.preprocessing import TrialComponents, model_input

FS = 128.0
DURATION = 60.0
LENGTH = 128


def _amplitude(x: np.ndarray, rate: float, freq: float) -> float:
    """Amplitude of the sinusoid at `freq` Hz in x (projection on sin and cos, whole cycles)."""
    t = np.arange(x.size) / rate
    return float(2 * np.hypot(np.mean(x * np.sin(2 * np.pi * freq * t)),
                              np.mean(x * np.cos(2 * np.pi * freq * t))))


def _components(signal: np.ndarray) -> TrialComponents:
    zeros = np.zeros_like(signal)
    return TrialComponents(signal, signal.copy(), signal.copy(), zeros, FS, 0.0, 1.0, "ok", 0)


def test_scr_train_above_new_nyquist_no_longer_aliases():
    n = int(FS * DURATION)
    t = np.arange(n) / FS
    new_rate = (LENGTH - 1) / t[-1]  # samples per second of the model input
    fast = 1.6  # Hz: a (fast) SCR train above the new Nyquist (~1.06 Hz)
    alias = abs(fast - new_rate)  # where point sampling folds it (~0.52 Hz)
    slow = 3.0 / DURATION  # a slow tonic wave that must survive
    # SCR train: Bateman-like pulses every 1/fast s plus the slow wave
    pulses = np.zeros(n)
    kernel_t = np.arange(int(4 * FS)) / FS
    kernel = np.exp(-kernel_t / 0.25) - np.exp(-kernel_t / 0.1)
    pulses[(np.arange(0, DURATION, 1 / fast) * FS).astype(int)] = 1.0
    scr = np.convolve(pulses, kernel / kernel.max())[:n]
    scr -= scr.mean()
    signal = np.sin(2 * np.pi * slow * t) + scr
    assert _amplitude(scr, FS, fast) > 0.3  # the train has a strong component at 1.6 Hz

    out = model_input(_components(signal), LENGTH)[0].astype(float)
    out_t = np.arange(LENGTH) / new_rate
    # the old resampling (point sampling by linear interpolation) as the aliasing reference
    naive = np.interp(np.linspace(0, n - 1, LENGTH), np.arange(n), signal)
    naive = (naive - naive.mean()) / naive.std()
    assert _amplitude(naive, new_rate, alias) > 0.2  # without low-pass: a spurious 0.52 Hz wave
    assert _amplitude(out, new_rate, alias) < 0.1 * _amplitude(naive, new_rate, alias)
    # the slow wave is kept (z-scored: the sine of amplitude 1 dominates the variance)
    assert _amplitude(out, new_rate, slow) > 1.2
    assert out_t[-1] > 59


def test_no_filter_when_not_shortening():
    n = 100
    signal = np.sin(np.arange(n) * 2.5)  # near the Nyquist frequency of the trial itself
    out = model_input(_components(signal), n)[0]
    z = (signal - signal.mean()) / signal.std()
    np.testing.assert_allclose(out, z, atol=1e-6)
