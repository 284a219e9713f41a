"""The workflow end to end on a tiny synthetic study: data → trial tables → cvxEDA → labels,
folds → training → paper tables, with one corrupt trial that must be excluded, not fatal."""

from __future__ import annotations

import json
import pickle
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

# config/tiny.yaml (the tiny whole study of the README and CI) with two changes for speed: the
# 100 % subset only and a two-row Table 3 (a network on DEAP, the SVM on PMEmo).
E2E = {
    "split": {"fractions": [1.0]},
    "tables": {
        "table3": [
            {"experiment": "r_e", "dataset": "deap",
             "paper": {"method": "RTCAG", "dataset": "DEAP", "subset": "100%", "input": "EDA"}},
            {"experiment": "svm_eda", "dataset": "pmemo",
             "paper": {"method": "SVM", "dataset": "PMEmo", "subset": "100%",
                       "input": "EDA hand-crafted feature"}},
        ],
    },
}
TARGETS = [
    "results/tables/table1.md",
    "results/tables/table2.md",
    "results/tables/table3.md",
    "results/figures/fig3.png",
    "results/deap/excluded.csv",
]
CORRUPT_SUBJECT, CORRUPT_TRIAL = "s02", 5  # DEAP trial whose GSR we flatten


def snakemake(workdir: Path, repo_root: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [str(exe), *args, "--snakefile", str(repo_root / "Snakefile"), "--directory",
           str(workdir), "--cores", "2", "--configfile", str(workdir / "tiny.yaml"),
           str(workdir / "e2e.yaml")]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        logs = "\n".join(
            f"== {p}\n{p.read_text()[-1500:]}" for p in (workdir / "results/logs").rglob("*.log")
            if "Error" in p.read_text() or "Traceback" in p.read_text()
        )
        pytest.fail(f"{' '.join(args)} failed:\n{proc.stderr[-4000:]}\n{logs}")
    return proc


def make_study(workdir: Path, repo_root: Path, fold_mode: str) -> None:
    shutil.copy(repo_root / "config.yaml", workdir / "config.yaml")
    shutil.copy(repo_root / "config" / "tiny.yaml", workdir / "tiny.yaml")
    e2e = {**E2E, "training": {"fold_mode": fold_mode}}
    (workdir / "e2e.yaml").write_text(yaml.safe_dump(e2e))


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory, repo_root) -> Path:
    """Packed mode (all folds of a run in one job), with a corrupt trial."""
    workdir = tmp_path_factory.mktemp("study")
    make_study(workdir, repo_root, "packed")
    snakemake(workdir, repo_root, "results/synthetic/deap/ground_truth.csv")
    # A corrupt trial in the native files: a flat GSR trace (a dead electrode).
    path = workdir / f"results/synthetic/deap/data_preprocessed_python/{CORRUPT_SUBJECT}.dat"
    with open(path, "rb") as handle:
        subject = pickle.load(handle, encoding="latin1")
    subject["data"][CORRUPT_TRIAL - 1, 36, :] = subject["data"][CORRUPT_TRIAL - 1, 36, 0]
    with open(path, "wb") as handle:
        pickle.dump(subject, handle)
    snakemake(workdir, repo_root, *TARGETS)
    return workdir


def test_tiny_study_builds_the_tables(tiny_study):
    table3 = pd.read_csv(tiny_study / "results/tables/table3.csv", skiprows=1)  # 1: provenance
    assert list(table3["experiment"]) == ["r_e", "svm_eda", *["planted_ceiling"] * 2]
    ceiling = table3[table3["source"] == "planted ceiling"]
    assert list(ceiling["dataset"]) == ["deap", "pmemo"]
    assert ceiling["valence_accuracy_mean"].between(0, 100).all()
    assert table3.loc[0, "valence_single_class_known"] == 3  # one per fold
    assert (tiny_study / "results/figures/fig3.png").stat().st_size > 10_000
    for name in ("table1", "table2", "table3"):
        text = (tiny_study / f"results/tables/{name}.md").read_text()
        assert "SYNTHETIC" in text.upper(), f"{name}.md does not say which data produced it"
    metrics = sorted((tiny_study / "results/runs/r_e/deap").rglob("metrics.json"))
    assert len(metrics) == 2 * 3  # two dimensions, three folds


def test_corrupt_trial_is_excluded_not_fatal(tiny_study):
    excluded = pd.read_csv(tiny_study / "results/deap/excluded.csv", dtype=str)
    hit = excluded[(excluded["subject"] == CORRUPT_SUBJECT)
                   & (excluded["trial"] == str(CORRUPT_TRIAL))]
    assert len(hit) == 1, excluded
    assert "flat" in hit["reason"].iloc[0].lower()
    trials = pd.read_csv(tiny_study / "results/deap/trials.csv", dtype=str)
    index = pd.read_csv(tiny_study / "results/deap/inputs_index.csv", dtype=str)
    corrupt_id = f"{CORRUPT_SUBJECT}_{CORRUPT_TRIAL}"
    assert corrupt_id not in set(index["trial_id"])
    assert len(index) == len(trials) - (corrupt_id in set(trials["trial_id"]))
    inputs = np.load(tiny_study / "results/deap/inputs.npy")
    assert inputs.shape[0] == len(index) and np.isfinite(inputs).all()


def test_rerun_is_a_no_op(tiny_study, repo_root):
    """Also with the fold models gone: model.pt is temp() by default (training.keep_models),
    deleted once no target needs it, and a missing temp file reruns nothing; only those of
    training.kept_models (here r_e on DEAP) stay."""
    runs = tiny_study / "results/runs"
    assert len(list(runs.rglob("metrics.json"))) == 12
    kept = sorted(p.relative_to(runs).as_posix() for p in runs.rglob("model.pt"))
    assert kept == [f"r_e/deap/{dim}/fold{k}/model.pt" for dim in ("arousal", "valence")
                    for k in range(3)]
    proc = snakemake(tiny_study, repo_root, "--dry-run", *TARGETS)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_per_fold_jobs_give_the_same_runs_as_packed_jobs(tiny_study, tmp_path, repo_root):
    """One job per fold (cluster mode) and all folds in one job (local mode) train the same
    models: same metrics and predictions for every fold."""
    make_study(tmp_path, repo_root, "per_fold")
    shutil.copytree(tiny_study / "results/synthetic", tmp_path / "results/synthetic")
    shutil.copytree(tiny_study / ".snakemake", tmp_path / ".snakemake")  # generator provenance
    runs = [f"results/runs/r_e/deap/{dim}/fold{k}/metrics.json"
            for dim in ("valence", "arousal") for k in range(3)]
    runs += [f"results/runs/svm_eda/pmemo/valence/fold{k}/metrics.json" for k in range(3)]
    proc = snakemake(tmp_path, repo_root, *runs)
    assert re.search(r"\btrain_fold\b", proc.stdout + proc.stderr)
    assert not re.search(r"\btrain_folds\b", proc.stdout + proc.stderr)
    for run in runs:
        ours = json.loads((tmp_path / run).read_text())
        packed = json.loads((tiny_study / run).read_text())
        for key in ("accuracy", "f1", "confusion_matrix", "chosen_epoch", "val_curve"):
            assert ours.get(key) == packed.get(key), (run, key)
        predictions = Path(run).with_name("predictions.csv")
        assert (tmp_path / predictions).read_text() == (tiny_study / predictions).read_text()


def test_runtime_settings_rerun_nothing(tiny_study, repo_root, tmp_path):
    """Threads, device, checkpoints and the fold packing are runtime settings, not params: with
    all of them changed the finished study plans nothing (the per-fold rule takes over the
    packed rule's files)."""
    e2e = yaml.safe_load((tiny_study / "e2e.yaml").read_text())
    e2e["training"].update(fold_mode="per_fold", threads=2, device="cpu", checkpoint_every=3)
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(e2e))
    exe = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [str(exe), "--dry-run", *TARGETS, "--snakefile", str(repo_root / "Snakefile"),
         "--directory", str(tiny_study), "--cores", "2", "--configfile",
         str(tiny_study / "tiny.yaml"), str(changed)],
        cwd=tiny_study, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]


def test_add_a_model_through_config_only(tiny_study, repo_root, tmp_path):
    """docs/architecture.md "Add a model": a family in a file, registered under
    config model_families, an experiment naming it and a Table 3 row - no rule, no script."""
    shutil.copy(repo_root / "tests/toy_family.py", tiny_study / "toy_family.py")
    toy = yaml.safe_load((tiny_study / "e2e.yaml").read_text())
    toy["model_families"] = {"toy": "toy_family.py:FAMILY"}
    toy["experiments"] = {"toy_eda": {"model": "toy", "input": "eda_features",
                                      "datasets": ["pmemo"], "options": {"shrink": 0.1}}}
    toy["tables"]["table3"].append(
        {"experiment": "toy_eda", "dataset": "pmemo",
         "paper": {"method": "toy nearest centroid", "dataset": "PMEmo", "subset": "100%",
                   "input": "EDA hand-crafted feature"}})  # no published value: shown as —
    (tiny_study / "toy.yaml").write_text(yaml.safe_dump(toy))
    exe = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [str(exe), "results/tables/table3.md", "--snakefile", str(repo_root / "Snakefile"),
         "--directory", str(tiny_study), "--cores", "2", "--configfile",
         str(tiny_study / "tiny.yaml"), str(tiny_study / "toy.yaml")],
        cwd=tiny_study, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    splits = pd.read_csv(tiny_study / "results/pmemo/splits.csv", dtype=str)
    for dim in ("valence", "arousal"):
        for fold in range(3):
            run = tiny_study / f"results/runs/toy_eda/pmemo/{dim}/fold{fold}"
            metrics = json.loads((run / "metrics.json").read_text())
            predictions = pd.read_csv(run / "predictions.csv", dtype={"trial_id": str})
            test = splits[(splits["fold"] == str(fold)) & (splits["role"] == "test")
                          & (splits["fraction"].astype(float) == 1.0)]
            assert set(predictions["trial_id"]) <= set(test["trial_id"])
            accuracy = (predictions["y_true"] == predictions["y_pred"]).mean()
            assert metrics["accuracy"] == pytest.approx(accuracy)
    table3 = pd.read_csv(tiny_study / "results/tables/table3.csv", skiprows=1)
    assert "toy_eda" in set(table3["experiment"])


def readme_predict_command(repo_root: Path) -> list[str]:
    """The command of the README's "Use a trained model" example, as words."""
    text = (repo_root / "README.md").read_text()
    section = text.split("## Use a trained model", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return shlex.split(block.replace("\\\n", " "))


def test_readme_predict_example_runs_after_the_study(tiny_study, repo_root, tmp_path):
    """The README example, verbatim but for the paths of the venv and of tests/data, on the
    fold models the study kept (training.kept_models: r_e on DEAP)."""
    words = readme_predict_command(repo_root)
    assert words[:2] == [".venv/bin/edaffect", "predict"] and "--audio" not in words
    words[0] = str(Path(sys.executable).with_name("edaffect"))
    words = [str(repo_root / w) if w.startswith("tests/data/") else w for w in words]
    work = tmp_path / "user"
    shutil.copytree(tiny_study / "results/runs/r_e", work / "results/runs/r_e")
    proc = subprocess.run(words, cwd=work, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_csv(work / "probabilities.csv")
    assert len(table) >= 1
    for dim in ("valence", "arousal"):
        assert table[f"{dim}_p_high"].between(0, 1).all()
        assert np.allclose(table[f"{dim}_p_high"] + table[f"{dim}_p_low"], 1.0)
    assert (work / "gradcam.png").stat().st_size > 10_000
