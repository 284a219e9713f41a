"""Preprocessing (§5.1): cropping, exclusions, channels, per-trial cache, batches and merging."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

import edaffect.signal.preprocessing as pp
from edaffect.signal.decomposition import CvxEDAResult
from edaffect.signal.decomposition_batches import batch_of, merge_batches, n_batches, run_batch
from edaffect.signal.preprocessing import (
    PreprocessSettings,
    TrialExcluded,
    cached_decompose,
    clean_signal,
    decompose_trial,
    load_components,
    model_input,
    settings_from_config,
)

FS = 10.0
SETTINGS = PreprocessSettings(crop_s=3.0, min_duration_s=10.0, max_nan_gap_s=1.0, length=64)


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def eda(seconds=40.0, fs=FS, seed=0):
    """A plausible EDA trace: drifting tonic level plus a few Bateman responses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    h = np.exp(-t / 2.0) - np.exp(-t / 0.7)
    drv = np.zeros(n)
    drv[rng.choice(n, size=4, replace=False)] = rng.uniform(0.5, 1.5, 4)
    return 5.0 + 0.02 * t + np.convolve(drv, h)[:n] + 0.01 * rng.standard_normal(n)


def test_crop_drops_first_seconds():
    y = eda()
    out, repaired = clean_signal(y, FS, SETTINGS)
    assert repaired == 0
    np.testing.assert_array_equal(out, y[30:])
    out15, _ = clean_signal(y, FS, PreprocessSettings(crop_s=15.0, min_duration_s=10.0))
    np.testing.assert_array_equal(out15, y[150:])


def test_too_short_after_crop_is_excluded():
    with pytest.raises(TrialExcluded, match="too short") as exc:
        clean_signal(eda(seconds=12.0), FS, SETTINGS)  # 9 s left < 10 s
    assert exc.value.stage == "preprocess"


def test_short_nan_gap_is_interpolated():
    y = eda()
    y[100:108] = np.nan  # 0.8 s
    out, repaired = clean_signal(y, FS, SETTINGS)
    assert repaired == 8
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[70:78], np.linspace(y[99], y[108], 10)[1:-1])


def test_long_nan_run_is_excluded_with_reason():
    y = eda()
    y[100:125] = np.nan  # 2.5 s
    with pytest.raises(TrialExcluded, match=r"NaN run of 2.50 s at 10.00 s exceeds max_nan_gap_s"):
        clean_signal(y, FS, SETTINGS)


def test_all_nan_and_flat_are_excluded():
    with pytest.raises(TrialExcluded, match="no finite samples"):
        clean_signal(np.full(400, np.nan), FS, SETTINGS)
    with pytest.raises(TrialExcluded, match="flat signal"):
        clean_signal(np.full(400, 7.3), FS, SETTINGS)


def test_model_input_channels():
    comp = decompose_trial(eda(), FS, SETTINGS)
    assert comp.eda.size == 370
    np.testing.assert_allclose([comp.eda.mean(), comp.eda.std()], [0.0, 1.0], atol=1e-12)
    x = model_input(comp, 64)
    assert x.shape == (3, 64) and x.dtype == np.float32
    # channels: z(EDA), z(phasic), z(tonic), linearly resampled after an anti-aliasing low-pass
    # (tests/signal/test_antialias.py), which leaves these slow signals nearly unchanged
    for c, series in enumerate((comp.eda, comp.phasic, comp.tonic)):
        z = (series - series.mean()) / series.std()
        grid = np.linspace(0, series.size - 1, 64)
        point = np.interp(grid, np.arange(series.size), z)
        assert np.corrcoef(x[c], point)[0, 1] > 0.98 and np.abs(x[c] - point).max() < 0.25


def test_solver_failure_becomes_exclusion(monkeypatch):
    def failing(y, fs, **kw):
        nan = np.full(len(y), np.nan)
        return CvxEDAResult(nan, nan, nan, nan[:2], nan[:2], nan, np.nan, "unknown", 100,
                            {"relative gap": 0.3, "primal infeasibility": 1e-3,
                             "dual infeasibility": 1e-2, "reason": "iteration limit"})

    monkeypatch.setattr(pp, "cvxeda", failing)
    with pytest.raises(TrialExcluded, match="did not converge.*iteration limit") as exc:
        decompose_trial(eda(), FS, SETTINGS)
    assert exc.value.stage == "cvxeda"

    def raising(y, fs, **kw):
        raise ArithmeticError("singular KKT matrix")

    monkeypatch.setattr(pp, "cvxeda", raising)
    with pytest.raises(TrialExcluded, match="solver error.*singular KKT"):
        decompose_trial(eda(), FS, SETTINGS)


def test_settings_from_config_and_batches():
    cfg = {"crop_s": 15, "length": {"pmemo": 128}, "cvxeda": {"alpha": 0.001},
           "resample_hz": None}
    s = settings_from_config(cfg, "pmemo")
    assert (s.crop_s, s.length, s.cvxeda) == (15.0, 128, {"alpha": 0.001})
    with pytest.raises(ValueError, match="deap"):
        settings_from_config(cfg, "deap")
    assert n_batches(401, 200) == 3 and n_batches(0, 200) == 1
    ids = [f"s{i}_{j}" for i in range(30) for j in range(40)]
    counts = np.bincount([batch_of(t, 6) for t in ids], minlength=6)
    assert counts.min() > 120  # roughly balanced
    assert [batch_of(t, 6) for t in ids] == [batch_of(t, 6) for t in ids]  # stable


@pytest.fixture
def counting(monkeypatch):
    """Count actual cvxEDA solves."""
    calls = []
    real = pp.cvxeda

    def wrapped(y, fs, **kw):
        calls.append(len(y))
        return real(y, fs, **kw)

    monkeypatch.setattr(pp, "cvxeda", wrapped)
    return calls


def test_cache_resolves_only_changed_inputs(tmp_path, counting):
    y = eda()
    comp, solved = cached_decompose("a_1", y, FS, SETTINGS, tmp_path)
    assert solved and len(counting) == 1
    again, solved = cached_decompose("a_1", y, FS, SETTINGS, tmp_path)
    assert not solved and len(counting) == 1
    np.testing.assert_array_equal(again.phasic, comp.phasic)
    y2 = y.copy()
    y2[200] += 0.5  # one changed sample -> new key -> solved again
    _, solved = cached_decompose("a_1", y2, FS, SETTINGS, tmp_path)
    assert solved and len(counting) == 2
    other = PreprocessSettings(crop_s=3.0, min_duration_s=10.0, cvxeda={"alpha": 2e-3})
    _, solved = cached_decompose("a_1", y2, FS, other, tmp_path)
    assert solved and len(counting) == 3
    # the output length is not part of the key: resizing reuses the decomposition
    resized = PreprocessSettings(crop_s=3.0, min_duration_s=10.0, length=32,
                                 cvxeda={"alpha": 2e-3})
    _, solved = cached_decompose("a_1", y2, FS, resized, tmp_path)
    assert not solved
    loaded = load_components(tmp_path, "a_1")
    assert loaded.fs == FS and loaded.eda.size == 370
    with pytest.raises(KeyError):
        load_components(tmp_path, "missing_1")


def write_trials(folder, signals: dict, fs=FS, extra_rows=()):
    rows = []
    for tid in list(signals) + list(extra_rows):
        subject, trial = tid.split("_")
        rows.append({"trial_id": tid, "dataset": "deap", "subject": subject, "trial": trial,
                     "stimulus": trial, "fs": fs, "n_samples": 0, "valence": 5.0,
                     "arousal": 5.0, "source": "test"})
    pd.DataFrame(rows).to_csv(folder / "trials.csv", index=False)
    np.savez(folder / "raw_eda.npz", **signals)
    pd.DataFrame([{"dataset": "deap", "subject": "s09", "trial": "1", "file": "s09.dat",
                   "stage": "read", "reason": "unreadable"}]).to_csv(
        folder / "trials_excluded.csv", index=False)


def test_batch_cache_and_corrupt_trials(tmp_path, counting):
    good = {f"s0{i}_{j}": eda(seed=10 * i + j) for i in range(1, 3) for j in range(1, 3)}
    short = eda(seconds=11.0)
    nan_run = eda()
    nan_run[50:80] = np.nan
    signals = dict(good, s03_1=short, s03_2=nan_run, s03_3=np.full(400, 2.0),
                   s03_4=np.ones((2, 200)))
    write_trials(tmp_path, signals, extra_rows=["s03_5"])  # s03_5: not in raw_eda.npz
    cache = tmp_path / "cache"
    out = tmp_path / "batch0.npz"
    report = run_batch(tmp_path / "raw_eda.npz", tmp_path / "trials.csv", 0, 1000, SETTINGS,
                       cache, out)
    assert report.n_trials == 9 and report.n_excluded == 5
    assert len(counting) == 4  # only the four usable trials reach the solver
    with np.load(out) as f:
        assert sorted(f["trial_id"]) == sorted(good)
        assert f["inputs"].shape == (4, 3, 64)
        excluded = {f"{r['subject']}_{r['trial']}": r for r in json.loads(str(f["excluded"]))}
    assert set(excluded) == {"s03_1", "s03_2", "s03_3", "s03_4", "s03_5"}
    assert "too short" in excluded["s03_1"]["reason"]
    assert "NaN run" in excluded["s03_2"]["reason"]
    assert "flat" in excluded["s03_3"]["reason"]
    assert "shape" in excluded["s03_4"]["reason"] and excluded["s03_4"]["stage"] == "read"
    assert "missing" in excluded["s03_5"]["reason"]

    # rerun: nothing re-solved; then one trial's signal changes -> exactly that one
    report = run_batch(tmp_path / "raw_eda.npz", tmp_path / "trials.csv", 0, 1000, SETTINGS,
                       cache, out)
    assert report.n_solved == 0 and len(counting) == 4
    signals["s01_2"] = signals["s01_2"] * 1.01
    write_trials(tmp_path, signals, extra_rows=["s03_5"])
    report = run_batch(tmp_path / "raw_eda.npz", tmp_path / "trials.csv", 0, 1000, SETTINGS,
                       cache, out)
    assert report.n_solved == 1 and len(counting) == 5
    # a deleted cache entry is recomputed alone
    (cache / "s02_1.npz").unlink()
    report = run_batch(tmp_path / "raw_eda.npz", tmp_path / "trials.csv", 0, 1000, SETTINGS,
                       cache, out)
    assert report.n_solved == 1 and len(counting) == 6


def test_unexpected_error_in_one_trial_does_not_kill_batch(tmp_path, monkeypatch):
    signals = {"s01_1": eda(seed=1), "s01_2": eda(seed=2)}
    write_trials(tmp_path, signals)
    real = pp.decompose_trial

    def flaky(y, fs, settings):
        if abs(y[0] - signals["s01_2"][0]) < 1e-12:
            raise RuntimeError("boom")
        return real(y, fs, settings)

    monkeypatch.setattr(pp, "decompose_trial", flaky)
    out = tmp_path / "b.npz"
    report = run_batch(tmp_path / "raw_eda.npz", tmp_path / "trials.csv", 0, 10, SETTINGS,
                       tmp_path / "cache", out)
    assert report.n_excluded == 1
    with np.load(out) as f:
        assert list(f["trial_id"]) == ["s01_1"]
        assert "RuntimeError: boom" in json.loads(str(f["excluded"]))[0]["reason"]


def test_merge_orders_by_trial_table_and_unions_exclusions(tmp_path):
    signals = {f"s0{i}_1": eda(seed=i) for i in range(1, 6)}
    signals["s06_1"] = np.full(400, 1.0)  # flat -> excluded
    write_trials(tmp_path, signals)
    files = []
    nb = 3
    for b in range(nb):
        files.append(tmp_path / f"batch{b}.npz")
        run_batch(tmp_path / "raw_eda.npz", tmp_path / "trials.csv", b, 2, SETTINGS,
                  tmp_path / "cache", files[-1])
    assert n_batches(6, 2) == nb
    n = merge_batches(files, tmp_path / "trials.csv", tmp_path / "trials_excluded.csv",
                      tmp_path / "inputs.npy", tmp_path / "index.csv", tmp_path / "excluded.csv")
    assert n == 5
    index = pd.read_csv(tmp_path / "index.csv", dtype={"trial_id": str})
    assert list(index["trial_id"]) == [f"s0{i}_1" for i in range(1, 6)]  # trial-table order
    arr = np.load(tmp_path / "inputs.npy", mmap_mode="r")
    assert arr.shape == (5, 3, 64) and arr.dtype == np.float32
    excl = pd.read_csv(tmp_path / "excluded.csv", dtype=str)
    assert list(excl.columns) == ["dataset", "subject", "trial", "file", "stage", "reason"]
    assert set(excl["subject"]) == {"s09", "s06"}
    with pytest.raises(ValueError, match="missing from every batch"):
        merge_batches(files[:1], tmp_path / "trials.csv", tmp_path / "trials_excluded.csv",
                      tmp_path / "i.npy", tmp_path / "i.csv", tmp_path / "e.csv")


def test_batch_with_worker_processes_matches_serial(tmp_path):
    signals = {f"s0{i}_1": eda(seed=i) for i in range(1, 5)}
    write_trials(tmp_path, signals)
    serial, pooled = tmp_path / "serial.npz", tmp_path / "pooled.npz"
    run_batch(tmp_path / "raw_eda.npz", tmp_path / "trials.csv", 0, 10, SETTINGS,
              tmp_path / "cache1", serial)
    report = run_batch(tmp_path / "raw_eda.npz", tmp_path / "trials.csv", 0, 10, SETTINGS,
                       tmp_path / "cache2", pooled, threads=2)
    assert report.n_solved == 4
    with np.load(serial) as a, np.load(pooled) as b:
        assert list(a["trial_id"]) == list(b["trial_id"])
        np.testing.assert_array_equal(a["inputs"], b["inputs"])
