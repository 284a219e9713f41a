"""Fixtures for the continuous-emotion tests: a native PMEmo folder with planted dynamics.

`song_trajectory` + `listener_eda` simulate a listener whose SCR rate and tonic level follow a
song's arousal with a known lag (the tests' own stand-in for the synthetic generator);
`write_dynamic` writes PMEmo's native dynamic_annotations.csv (+ _std); `real_sample_traces`
reads the real songs' dynamic annotations of tests/data/pmemo-public-samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.synthetic.eda import bateman_kernel

SAMPLES = Path(__file__).parents[1] / "data" / "pmemo-public-samples"
FS = 50.0


def song_trajectory(rng: np.random.Generator, duration: float, mean: float):
    """A smooth arousal curve on 0-1 (callable of time in s): mean + three slow sinusoids."""
    periods = rng.uniform(6.0, 25.0, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    amps = rng.uniform(0.05, 0.1, 3)

    def curve(t):
        t = np.asarray(t, dtype=float)
        x = mean + sum(a * np.sin(2 * np.pi * t / p + f)
                       for a, p, f in zip(amps, periods, phases, strict=True))
        return np.clip(x, 0.02, 0.98)

    return curve


def listener_eda(rng, arousal, lag: float, n: int, fs: float = FS,
                 tonic_gain: float = 0.0) -> np.ndarray:
    """Skin conductance whose SCR rate (and, with `tonic_gain` µS per unit, tonic level) follows
    arousal(t - lag). A tonic that follows fast arousal changes leaks into the cvxEDA driver
    (docs/continuous.md, lag caveat), so the lag test plants the SCR rate only."""
    t = np.arange(n) / fs
    a = arousal(t - lag)
    rate = 10.0 / 60.0 * np.exp(4.0 * (a - 0.5))  # SCRs per second
    onsets = np.flatnonzero(rng.random(n) < rate / fs)
    signal = 3.0 + tonic_gain * (a - 0.5) + rng.normal(0, 0.003, n)
    kernel = bateman_kernel(fs)
    for onset in onsets:
        stop = min(n, onset + kernel.size)
        signal[onset:stop] += 0.3 * np.exp(rng.normal(0, 0.3)) * kernel[: stop - onset]
    return signal


def write_dynamic(root: Path, traces: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
                  with_std: bool = True) -> None:
    """Native dynamic_annotations.csv (+ _std) from {musicId: (t, valence, arousal)}."""
    rows = [(m, t_, a_, v_) for m, (t, v, a) in traces.items()
            for t_, v_, a_ in zip(t, v, a, strict=True)]
    folder = root / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["musicId", "frameTime", "Arousal(mean)", "Valence(mean)"]).to_csv(
        folder / "dynamic_annotations.csv", index=False
    )
    if with_std:
        std = [(m, t_, 0.1, 0.12) for m, t_, _, _ in rows]
        pd.DataFrame(std, columns=["musicId", "frameTime", "Arousal(std)", "Valence(std)"]).to_csv(
            folder / "dynamic_annotations_std.csv", index=False
        )


def real_sample_traces() -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The four real PMEmo songs' dynamic annotations (tests/data/pmemo-public-samples)."""
    out = {}
    for path in sorted(SAMPLES.glob("*.json")):
        if not path.stem.isdigit():
            continue
        d = json.loads(path.read_text())["dynamic"]
        out[int(path.stem)] = (np.array(d["t"]), np.array(d["v"]), np.array(d["a"]))
    return out


def test_real_samples_present():
    traces = real_sample_traces()
    assert sorted(traces) == [108, 372, 634, 683]
    for t, v, a in traces.values():
        assert t[0] == 15.5 and np.allclose(np.diff(t), 0.5)
        assert len(v) == len(a) == len(t)
