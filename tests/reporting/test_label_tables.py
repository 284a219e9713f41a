"""Tables 1-2 (label counts, V/A Spearman) and Fig. 3 from hand-made labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from edaffect.model_selection.labels import assign_labels
from edaffect.reporting.label_figure import pick_subject, write_fig3
from edaffect.reporting.label_tables import write_label_table
from edaffect.reporting.paper import load_paper_values


def fake_trials(n_subjects: int, n_trials: int, rho: float, seed: int, lo=1.0, hi=9.0):
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n_subjects * n_trials)
    ratings = lo + (hi - lo) * stats.norm.cdf(z)
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], n_trials)
    trials = np.tile(np.arange(1, n_trials + 1).astype(str), n_subjects)
    return pd.DataFrame(
        {"trial_id": [f"{s}_{t}" for s, t in zip(subjects, trials, strict=True)],
         "subject": subjects, "trial": trials, "valence": ratings[:, 0], "arousal": ratings[:, 1]}
    )


@pytest.fixture(scope="module")
def label_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("labels")
    paths = {}
    for name, rho, seed in (("pmemo", 0.5, 1), ("deap", 0.15, 2)):
        lo, hi = (0.0, 1.0) if name == "pmemo" else (1.0, 9.0)
        labels = assign_labels(fake_trials(8, 25, rho, seed, lo, hi), seed=0, n_init=3)
        paths[name] = root / f"{name}_labels.csv"
        labels.to_csv(paths[name], index=False)
    return paths


def test_table2_spearman_equals_scipy(label_files, tmp_path, paper_tables):
    paper = paper_tables
    frame = write_label_table(
        "table2", label_files, {"pmemo": True, "deap": False},
        tmp_path / "t2.csv", tmp_path / "t2.md", config_sha="abc123", paper_tables=paper,
    )
    for name, path in label_files.items():
        labels = pd.read_csv(path)
        expected = stats.spearmanr(labels["valence"], labels["arousal"])
        row = frame[frame["dataset"] == {"pmemo": "PMEmo", "deap": "DEAP"}[name]].iloc[0]
        assert row["spearman_r"] == pytest.approx(expected.statistic, abs=5e-4)
        assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-2)
        assert row["n_trials"] == 200
    assert frame.set_index("dataset").loc["PMEmo", "paper_r"] == pytest.approx(0.52)
    assert frame.set_index("dataset").loc["DEAP", "paper_r"] == pytest.approx(0.15)
    assert list(frame.columns).index("paper_r") == list(frame.columns).index("spearman_r") + 1
    md = (tmp_path / "t2.md").read_text()
    first = md.splitlines()[0]
    assert "abc123" in first and "pmemo = synthetic, 8 subjects, 200 trials" in first
    assert "deap = real" in first
    assert frame["data"].tolist() == [
        "synthetic, 8 subjects, 200 trials", "real, 8 subjects, 200 trials"
    ]


def test_table1_counts(label_files, tmp_path, paper_tables):
    paper = paper_tables
    frame = write_label_table(
        "table1", label_files, {"pmemo": True, "deap": True},
        tmp_path / "t1.csv", tmp_path / "t1.md", config_sha="abc123", paper_tables=paper,
    )
    assert len(frame) == 4
    for name, path in label_files.items():
        labels = pd.read_csv(path)
        for dim in ("valence", "arousal"):
            row = frame[(frame["dataset"] == {"pmemo": "PMEmo", "deap": "DEAP"}[name])
                        & (frame["dimension"] == dim)].iloc[0]
            assert row["high_count"] == labels[f"{dim}_label"].sum()
            assert row["high_count"] + row["low_count"] == len(labels)
            percent = 100 * labels[f"{dim}_label"].mean()
            assert row["high_percent"] == pytest.approx(percent, abs=0.05)
    pm_a = frame[(frame["dataset"] == "PMEmo") & (frame["dimension"] == "arousal")].iloc[0]
    assert (pm_a["paper_high_count"], pm_a["paper_high_percent"]) == (4520, 58.8)
    assert pd.read_csv(tmp_path / "t1.csv").shape == frame.shape
    assert load_paper_values(paper).shape[0] > 0


def test_fig3_draws_configured_subject(label_files, tmp_path):
    labels = pd.read_csv(label_files["pmemo"], dtype={"subject": str})
    assert pick_subject(labels, None) == "s00"
    with pytest.raises(ValueError, match="not found"):
        pick_subject(labels, "nobody")
    chosen = write_fig3(label_files["pmemo"], tmp_path / "f.png", None, dataset="pmemo",
                        subject="s03", seed=0, n_init=3)
    assert chosen == "s03" and (tmp_path / "f.png").stat().st_size > 10_000
    # Thresholds in labels.csv that k-means does not reproduce are an error, not a silent plot.
    labels.loc[labels["subject"] == "s03", "v_threshold"] += 0.2
    labels.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="differ from k-means"):
        write_fig3(tmp_path / "bad.csv", tmp_path / "g.png", None, dataset="pmemo",
                   subject="s03", seed=0, n_init=3)


def test_table1_counts_the_trials_that_reach_the_models(label_files, tmp_path, paper_tables):
    """Both counts: all labelled trials and those in inputs_index.csv (pandas counts as oracle)."""
    index = {}
    for name, path in label_files.items():
        labels = pd.read_csv(path, dtype={"trial_id": str})
        kept = labels["trial_id"].iloc[::3]  # a third of the trials passed preprocessing
        index[name] = tmp_path / f"{name}_index.csv"
        pd.DataFrame({"row": range(len(kept)), "trial_id": kept}).to_csv(index[name],
                                                                         index=False)
    frame = write_label_table(
        "table1", label_files, {"pmemo": True, "deap": True}, tmp_path / "t1.csv",
        tmp_path / "t1.md", config_sha="x", paper_tables=paper_tables, inputs_index_csvs=index,
    )
    labels = pd.read_csv(label_files["deap"], dtype={"trial_id": str}).iloc[::3]
    row = frame[(frame["dataset"] == "DEAP") & (frame["dimension"] == "valence")].iloc[0]
    assert row["model_input_trials"] == len(labels)
    assert row["model_input_high_count"] == int(labels["valence_label"].sum())
    assert row["high_count"] + row["low_count"] == 200
    assert "model_input_*" in (tmp_path / "t1.md").read_text().splitlines()[0]
