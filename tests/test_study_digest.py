"""The tiny-study digest (benchmarks/study_digest.py): a moved number fails the check, a
changed timing field does not, and the committed digest covers every kind of result."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def study_digest(repo_root):
    path = repo_root / "benchmarks" / "study_digest.py"
    spec = importlib.util.spec_from_file_location("study_digest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_study(root, cell: str = "61.2", seconds: str = "0.42", device: str = "cpu"):
    """A results/ tree with one file of every digested kind (and a log, not digested)."""
    (root / "tables").mkdir(parents=True)
    (root / "tables" / "table3.csv").write_text(
        "# Table 3, config sha256 6c915d87ff33\n"
        "experiment,valence_accuracy_mean,valence_seconds_per_epoch_mean,valence_device\n"
        f"r_f,{cell},{seconds},{device}\n")
    data = root / "pmemo"
    (data / "leakage").mkdir(parents=True)
    (data / "labels.csv").write_text("trial_id,valence_label\nt1,1\nt2,0\n")
    (data / "splits.csv").write_text("fraction,fold,trial_id,role\n1,0,t1,test\n")
    (data / "leakage" / "splits_song.csv").write_text("fold,trial_id,role\n0,t2,train\n")
    np.save(data / "inputs.npy", np.arange(12, dtype=np.float32).reshape(2, 3, 2))
    run = root / "runs" / "r_f" / "pmemo" / "valence" / "fold0"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(
        {"accuracy": 0.612, "train_seconds": float(seconds), "device": device,
         "resumed_from_epoch": None, "sweep": [{"tau": 0.1, "train_seconds": 1.0}]}))
    (run / "predictions.csv").write_text("trial_id,y_true,y_pred,p_high\nt1,1,1,0.7\n")
    (root / "logs").mkdir()
    (root / "logs" / "x.log").write_text(f"took {seconds} s\n")


def test_digest_covers_each_kind_and_ignores_logs(study_digest, tmp_path):
    small_study(tmp_path)
    assert study_digest.digested_files(tmp_path) == [
        "pmemo/inputs.npy", "pmemo/labels.csv", "pmemo/leakage/splits_song.csv",
        "pmemo/splits.csv", "runs/r_f/pmemo/valence/fold0/metrics.json",
        "runs/r_f/pmemo/valence/fold0/predictions.csv", "tables/table3.csv",
    ]


def test_one_changed_table_cell_fails_the_check(study_digest, tmp_path):
    small_study(tmp_path / "ref")
    small_study(tmp_path / "moved", cell="61.3")
    digest = tmp_path / "digest.json"
    assert study_digest.main(["--write", "--results", str(tmp_path / "ref"),
                              "--digest", str(digest)]) == 0
    assert study_digest.main(["--check", "--results", str(tmp_path / "ref"),
                              "--digest", str(digest)]) == 0
    assert study_digest.main(["--check", "--results", str(tmp_path / "moved"),
                              "--digest", str(digest)]) == 1
    diff = study_digest.compare(json.loads(digest.read_text())["files"],
                                study_digest.digest(tmp_path / "moved"))
    assert diff == {"changed": ["tables/table3.csv"], "missing": [], "new": []}


def test_timing_fields_do_not_move_the_digest_but_results_do(study_digest, tmp_path):
    small_study(tmp_path / "ref")
    small_study(tmp_path / "slow_gpu", seconds="9.75", device="cuda")
    ref = study_digest.digest(tmp_path / "ref")
    assert study_digest.digest(tmp_path / "slow_gpu") == ref
    run = tmp_path / "ref" / "runs" / "r_f" / "pmemo" / "valence" / "fold0"
    inputs = tmp_path / "ref" / "pmemo" / "inputs.npy"
    changes = {
        run / "metrics.json": lambda p: p.write_text(p.read_text().replace("0.612", "0.613")),
        run / "predictions.csv": lambda p: p.write_text(p.read_text().replace("0.7", "0.8")),
        inputs: lambda p: np.save(p, np.load(p) + np.float32(1e-6)),
    }
    for path, change in changes.items():
        change(path)
        moved = study_digest.compare(ref, study_digest.digest(tmp_path / "ref"))["changed"]
        assert moved == [path.relative_to(tmp_path / "ref").as_posix()]
        ref = study_digest.digest(tmp_path / "ref")  # next change against the changed tree
    (tmp_path / "ref" / "pmemo" / "labels.csv").unlink()
    diff = study_digest.compare(ref, study_digest.digest(tmp_path / "ref"))
    assert diff["missing"] == ["pmemo/labels.csv"]


def test_committed_digest_holds_every_kind_of_tiny_study_result(study_digest):
    committed = json.loads(study_digest.DIGEST.read_text())
    assert set(committed["timing_fields"]) == set(study_digest.TIMING_FIELDS)
    names = {rel.rsplit("/", 1)[-1] for rel in committed["files"]}
    assert {"labels.csv", "splits.csv", "inputs.npy", "metrics.json", "predictions.csv",
            "table1.csv", "table3.csv", "table4.csv", "table6.csv"} <= names
    for rel, sha in committed["files"].items():
        assert len(sha) == 64, rel
