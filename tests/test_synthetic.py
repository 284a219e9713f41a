"""Synthetic generators: generator -> reader round trip, determinism, planted ground truth,
realistic EDA and the datasets section of the config schema."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.io
import yaml
from scipy.stats import spearmanr

from edaffect.datasets import read_dataset
from edaffect.datasets.pmemo import read_static_features, read_static_means
from edaffect.synthetic import generate
from edaffect.synthetic.eda import (
    TAU0,
    TAU1,
    bateman_kernel,
    draw_latents,
    draw_subject,
    simulate_eda,
)
from edaffect.synthetic.pmemo import assign_listeners, compare_feature_names

PMEMO_SMALL = {"n_subjects": 8, "n_songs": 6, "listeners_per_song": 4, "n_trials": 26}
AMIGOS_SMALL = {"n_subjects": 3, "duration_s": [12.0, 20.0], "nan_run_rate": 0.5,
                "missing_rating_rate": 0.2}


@pytest.fixture(scope="module")
def pmemo_small(tmp_path_factory):
    root = tmp_path_factory.mktemp("pmemo")
    return root, generate("pmemo", root, {**PMEMO_SMALL, "keep_signals": True}, seed=7)


@pytest.fixture(scope="module")
def amigos_small(tmp_path_factory):
    root = tmp_path_factory.mktemp("amigos")
    return root, generate("amigos", root, {**AMIGOS_SMALL, "keep_signals": True}, seed=7)


@pytest.fixture(scope="module")
def deap_small(tmp_path_factory):
    root = tmp_path_factory.mktemp("deap")
    return root, generate("deap", root, {"n_subjects": 2, "keep_signals": True}, seed=7)


def test_pmemo_round_trip(pmemo_small):
    root, gen = pmemo_small
    truth = gen.ground_truth
    assert truth.equals(pd.read_csv(root / "ground_truth.csv", dtype={"subject": str}).astype(
        truth.dtypes.to_dict()))
    trials, excluded = read_dataset("pmemo", root)
    assert not excluded and len(trials) == len(truth) == 26
    assert truth.groupby("stimulus").size().min() == 4  # every song heard by >= 4 listeners
    by_id = truth.set_index("trial_id")
    for t in trials:
        np.testing.assert_allclose(t.eda, gen.signals[t.trial_id], rtol=0, atol=1e-9)
        assert t.n_samples == by_id.loc[t.trial_id, "n_samples"]
        assert (t.valence, t.arousal) == (
            by_id.loc[t.trial_id, "rating_valence"], by_id.loc[t.trial_id, "rating_arousal"])
        assert t.fs == 50.0 and t.stimulus == t.trial
    # listeners of one song have different lengths -> trailing empty cells in the same file
    lengths = truth.groupby("stimulus")["n_samples"].nunique()
    assert (lengths > 1).any()
    per_listener = pd.read_csv(root / "annotations/static_annotations_per_listener.csv")
    assert list(per_listener.columns) == ["musicId", "subjectId", "Arousal", "Valence"]
    assert set((per_listener[["Arousal", "Valence"]] * 8).stack().round(9) % 1) == {0.0}
    means = read_static_means(root).set_index("musicId")
    expected = per_listener.groupby("musicId")["Valence"].mean().round(4)
    np.testing.assert_allclose(means.loc[expected.index, "valence_mean"], expected)


def test_pmemo_music_features(pmemo_small):
    root, gen = pmemo_small
    features = read_static_features(root)
    names = compare_feature_names()
    assert len(names) == 6373 and list(features.columns) == ["musicId", *names]
    truth = gen.ground_truth.drop_duplicates("stimulus").set_index("stimulus")
    assert sorted(features["musicId"]) == sorted(truth.index)
    x = features.set_index("musicId").loc[truth.index].to_numpy()
    r = np.array([np.corrcoef(col, truth["stimulus_valence"])[0, 1] for col in x.T])
    assert np.nanmax(np.abs(r)) > 0.9 and np.nanmedian(np.abs(r)) < 0.6


def test_amigos_round_trip_with_nan_runs_and_missing_ratings(amigos_small):
    root, gen = amigos_small
    truth = gen.ground_truth.set_index("trial_id")
    trials, excluded = read_dataset("amigos", root)
    missing = set(truth.index[truth["rating_missing"]])
    assert missing, "the small config should plant at least one missing rating"
    assert {f"{e['subject']}_{e['trial']}" for e in excluded} == missing
    assert all("1x0" in e["reason"] for e in excluded)
    assert len(trials) + len(excluded) == 3 * 16
    assert any(np.isnan(t.eda).any() for t in trials)
    for t in trials:
        np.testing.assert_array_equal(t.eda, gen.signals[t.trial_id])  # NaN runs included
        assert (t.valence, t.arousal) == (
            truth.loc[t.trial_id, "rating_valence"], truth.loc[t.trial_id, "rating_arousal"])
    mat = scipy.io.loadmat(root / "Data_Preprocessed_P01.mat")
    assert mat["joined_data"].shape == (1, 20) and mat["labels_selfassessment"].shape == (1, 20)
    assert mat["joined_data"][0, 0].shape[1] == 17 and mat["joined_data"][0, 19].size == 0


def test_deap_round_trip_and_native_shapes(deap_small):
    root, gen = deap_small
    with open(root / "data_preprocessed_python/s02.dat", "rb") as f:
        subject = pickle.load(f, encoding="latin1")
    assert subject["data"].shape == (40, 40, 8064) and subject["labels"].shape == (40, 4)
    assert (subject["data"][:, 36] > 1e4).all()  # skin resistance in Ohm
    assert not subject["data"][:, :36].any()
    trials, excluded = read_dataset("deap", root)
    assert not excluded and len(trials) == 80
    truth = gen.ground_truth.set_index("trial_id")
    for t in trials:
        np.testing.assert_allclose(t.eda, 1e6 / gen.signals[t.trial_id].astype(float), rtol=1e-12)
        assert (t.valence, t.arousal) == (
            truth.loc[t.trial_id, "rating_valence"], truth.loc[t.trial_id, "rating_arousal"])
    # the simulated conductance comes back within float32 precision
    first = trials[0]
    assert abs(first.eda.mean() / truth.loc[first.trial_id, "tonic_level_us"] - 1) < 0.5


def test_generation_is_deterministic_and_subject_streams_are_stable(tmp_path, amigos_small):
    root, gen = amigos_small
    again = generate("amigos", tmp_path / "a", AMIGOS_SMALL, seed=7).ground_truth
    pd.testing.assert_frame_equal(again, gen.ground_truth.assign(file=again["file"]))
    cells = [scipy.io.loadmat(p / "Data_Preprocessed_P02.mat")["joined_data"][0, 5]
             for p in (root, tmp_path / "a")]
    np.testing.assert_array_equal(*cells)
    bigger = generate("amigos", tmp_path / "b", {**AMIGOS_SMALL, "n_subjects": 4}, seed=7)
    p01 = scipy.io.loadmat(tmp_path / "b" / "Data_Preprocessed_P01.mat")["joined_data"][0, 3]
    np.testing.assert_array_equal(p01, scipy.io.loadmat(
        root / "Data_Preprocessed_P01.mat")["joined_data"][0, 3])  # EDA independent of n
    assert len(bigger.ground_truth) == 64
    other = generate("amigos", tmp_path / "c", AMIGOS_SMALL, seed=8).ground_truth
    assert not np.allclose(other["latent_arousal"], gen.ground_truth["latent_arousal"])


def test_regeneration_removes_stale_files(tmp_path):
    generate("pmemo", tmp_path, {**PMEMO_SMALL, "n_trials": None}, seed=1)
    generate("pmemo", tmp_path, {"n_subjects": 4, "n_songs": 3, "listeners_per_song": 2}, seed=1)
    assert len(list((tmp_path / "EDA").iterdir())) == 3
    trials, _ = read_dataset("pmemo", tmp_path)
    assert len(trials) == 6


def test_listener_assignment_paper_scale_counts():
    counts = [len(x) for x in assign_listeners(np.random.default_rng(0), 794, 457, 10, 7962)]
    assert sum(counts) == 7962 and min(counts) == 10 and max(counts) == 11
    with pytest.raises(ValueError, match="listeners_per_song 12 > n_subjects 10"):
        assign_listeners(np.random.default_rng(0), 5, 10, 12, 60)


def test_planted_effects_default_sizes(tmp_path, repo_root):
    """On the default PMEmo/AMIGOS sizes: arousal drives SCRs, V/A ratings correlate as in the
    paper's Table 2, raters differ in offset, songs carry shared latents."""
    config = yaml.safe_load((repo_root / "config.yaml").read_text())["datasets"]
    for name, target in (("pmemo", 0.52), ("amigos", 0.56)):
        truth = generate(name, tmp_path / name, config[name]["synthetic"], seed=2026).ground_truth
        rated = truth[~truth["rating_missing"]]
        rho = spearmanr(rated["rating_valence"], rated["rating_arousal"])[0]
        assert abs(rho - target) < 0.1, (name, rho)
        assert spearmanr(truth["latent_arousal"], truth["scr_rate_per_min"])[0] > 0.6
        assert spearmanr(truth["latent_arousal"], truth["n_scr"])[0] > 0.4
        assert spearmanr(truth["latent_arousal"], truth["tonic_level_us"])[0] > 0.1
        offsets = truth.groupby("subject")["rater_offset_valence"].first()
        assert offsets.std() > 0.3  # own offsets -> per-subject thresholds matter
        assert spearmanr(truth["stimulus_valence"], truth["latent_valence"])[0] > 0.5


def test_simulated_eda_is_realistic():
    rng = np.random.default_rng(3)
    subject = draw_subject(rng)
    calm, aroused = (
        [simulate_eda(rng, subject, n_samples=3000, fs=50, arousal=a, valence=0) for _ in range(30)]
        for a in (-1.5, 1.5)
    )
    assert all((s.signal > 0).all() for s in calm + aroused)
    assert np.mean([s.n_scr for s in aroused]) > 2 * np.mean([s.n_scr for s in calm])
    kernel = bateman_kernel(100.0)
    peak = np.argmax(kernel) / 100.0
    expected = TAU0 * TAU1 / (TAU0 - TAU1) * np.log(TAU0 / TAU1)
    assert abs(peak - expected) < 0.02 and kernel[-1] < 0.01
    spiky = simulate_eda(
        rng, subject, n_samples=3000, fs=50, arousal=0, valence=0, artefact_rate=1
    )
    assert spiky.artefact in {"spike", "step"}


def test_exact_latents():
    v, a = draw_latents(np.random.default_rng(0), 16, 0.8, exact=True)
    assert abs(np.corrcoef(v, a)[0, 1] - 0.8) < 1e-9 and abs(v.std(ddof=1) - 1) < 1e-9
    stim = np.random.default_rng(1).normal(size=(16, 2))
    v, a = draw_latents(np.random.default_rng(0), 16, 0.5, exact=True, orthogonal_to=stim)
    assert np.abs(stim.T @ np.column_stack([v, a])).max() < 1e-9


def test_datasets_schema(repo_root):
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    validate(copy.deepcopy(config), str(repo_root / "config/schema.yaml"))
    paper = yaml.safe_load((repo_root / "config/paper-scale.yaml").read_text())
    merged = copy.deepcopy(config)
    for name, block in paper["datasets"].items():
        merged["datasets"][name]["synthetic"].update(block["synthetic"])
    validate(merged, str(repo_root / "config/schema.yaml"))
    bad = copy.deepcopy(config)
    bad["datasets"]["deap"]["synthetic"]["n_trials"] = 40  # unknown generator key
    with pytest.raises(WorkflowError, match="n_trials"):
        validate(bad, str(repo_root / "config/schema.yaml"))
    real = copy.deepcopy(config)
    real["datasets"]["pmemo"]["synthetic"] = False
    validate(real, str(repo_root / "config/schema.yaml"))
