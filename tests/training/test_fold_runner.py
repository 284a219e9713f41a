"""The fold runner's packed jobs: one job's outputs (every dimension and fold of an experiment x
dataset) become one FoldJob per dimension, folds in the job's order."""

from pathlib import Path

import pytest

from edaffect.training.fold_runner import runs_by_dimension
from edaffect.training.paths import run_dir


def test_a_packed_job_trains_each_dimension_as_one_fold_job():
    paths = [f"{run_dir('r_f', 'pmemo', dim, k)}/metrics.json"
             for dim in ("valence", "arousal") for k in (0, 1, 2)]
    jobs = runs_by_dimension(paths)
    assert list(jobs) == ["valence", "arousal"]
    folds, runs = jobs["arousal"]
    assert folds == [0, 1, 2]
    assert runs == [Path("results/runs/r_f/pmemo/arousal/fold0"),
                    Path("results/runs/r_f/pmemo/arousal/fold1"),
                    Path("results/runs/r_f/pmemo/arousal/fold2")]


def test_a_one_dimension_job_keeps_its_dimension():
    jobs = runs_by_dimension([f"{run_dir('refined_lstm', 'pmemo', 'arousal', 4)}/metrics.json"])
    assert jobs == {"arousal": ([4], [Path("results/runs/refined_lstm/pmemo/arousal/fold4")])}


def test_an_output_outside_a_fold_folder_is_refused():
    with pytest.raises(ValueError, match="not a run directory"):
        runs_by_dimension(["results/runs/r_f/pmemo/arousal/metrics.json"])
