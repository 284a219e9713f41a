"""Fast checks of profiles/slurm and profiles/local and of the helpers of the SLURM study test
(tests/slurm/study_check.py).  The study itself runs in CI: .ci/slurm_study.sh."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
import study_check  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SLURM_PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
LOCAL_PROFILE = REPO / "profiles" / "local" / "config.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def workflow_rule_names() -> set[str]:
    names = set()
    for smk in (REPO / "rules").glob("*.smk"):
        names |= set(re.findall(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", smk.read_text(), re.M))
    return names


def test_slurm_profile_marks_exactly_the_three_cluster_lines():
    marked = [key for _, key in study_check.change_lines(SLURM_PROFILE.read_text())]
    assert sorted(marked) == sorted(study_check.CHANGE_KEYS)


def test_slurm_profile_rules_exist_in_the_workflow():
    profile = yaml.safe_load(SLURM_PROFILE.read_text())
    rules = workflow_rule_names()
    named = set(profile["set-resources"]) | set(profile.get("groups", {}))
    # Rules that only exist in one layout (pack_folds / one_job_per_fold) must still exist.
    assert named <= rules, f"profile names rules the workflow lacks: {sorted(named - rules)}"
    assert "train_network" in profile["set-resources"]
    assert profile["set-resources"]["train_network"]["gpu"] == 1


def test_derive_profile_changes_only_the_marked_values_and_caps_the_node():
    text = SLURM_PROFILE.read_text()
    original = yaml.safe_load(text)
    values = {"slurm_partition": "p", "slurm_account": "a", "gpu_model": "m"}
    derived = study_check.derive_profile(text, values, cpus=2, mem_mb=3000)
    assert derived["default-resources"]["slurm_partition"] == "p"
    assert derived["default-resources"]["slurm_account"] == "a"
    assert derived["set-resources"]["train_network"]["gpu_model"] == "m"
    assert derived["set-resources"]["train_network"]["cpus_per_gpu"] <= 2
    assert all(int(block.get("mem_mb", 0)) <= 3000 for block in derived["set-resources"].values())
    assert derived["executor"] == original["executor"] == "slurm"
    with pytest.raises(ValueError, match="CHANGE"):
        study_check.derive_profile(text.replace("# <-- CHANGE (2/3)", "#"), values)


def _dry_run(tmp_path: Path, profile: Path) -> str:
    workdir = tmp_path / profile.parent.name
    workdir.mkdir()
    shutil.copy(REPO / "config.yaml", workdir)
    result = subprocess.run(
        [
            str(SNAKEMAKE),
            "-n",
            "results/tables/table3.md",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--profile",
            str(profile.parent),
            "--configfile",
            str(REPO / "profiles/slurm/cluster.yaml"),
            str(REPO / "tests/slurm/tiny.yaml"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not installed beside python")
def test_profiles_parse_and_plan_the_tiny_study(tmp_path):
    out = _dry_run(tmp_path, SLURM_PROFILE)
    assert "slurm_partition=compute" in out and "slurm_account=my_account" in out
    assert re.search(r"train_network\s+6", out), out[-2000:]
    out = _dry_run(tmp_path, LOCAL_PROFILE)
    assert re.search(r"train_network\s+6", out), out[-2000:]


SCONTROL = """\
JobId=1 JobName=x UserId=root(0) JobState=COMPLETED Comment=rule_splits_wildcards_deap NumCPUs=1
JobId=2 JobName=x UserId=root(0) JobState=COMPLETED Comment=rule_train_network_wildcards_r_f_deap_valence_0 NumCPUs=2 TresPerJob=gres:gpu:fake:1
JobId=3 JobName=x UserId=root(0) JobState=FAILED Comment=rule_train_network_wildcards_r_f_deap_valence_1 NumCPUs=2
"""  # noqa: E501


def test_gpu_record_flags_missing_gpu_requests_and_failed_jobs():
    jobs = study_check.parse_scontrol_jobs(SCONTROL)
    assert [study_check.job_rule(j) for j in jobs] == ["splits", "train_network", "train_network"]
    problems = study_check.check_gpu_record(jobs, ["train_network"], "fake")
    assert len(problems) == 2 and all("job 3" in p for p in problems)
    assert study_check.check_gpu_record(jobs[:2], ["train_network"], "fake") == []
    assert study_check.check_gpu_record(jobs[:1], ["train_network"], "fake")  # no GPU job


def _write_run(root: Path, accuracy: float, seconds: float) -> None:
    tables = root / "results" / "tables"
    tables.mkdir(parents=True)
    (tables / "table3.csv").write_text(
        f"# caption\nexperiment,accuracy_mean,seconds_per_epoch_mean\nr_f,{accuracy},{seconds}\n"
    )
    (tables / "table3.md").write_text(
        f"| Experiment | acc |\n|:--|:--|\n| r_f | {accuracy:.1f} |\n"
    )
    fold = root / "results" / "runs" / "r_f" / "deap" / "valence" / "fold0"
    fold.mkdir(parents=True)
    metrics = {"accuracy": accuracy, "train_seconds": seconds, "device": "cpu"}
    (fold / "metrics.json").write_text(json.dumps(metrics))
    (fold / "predictions.csv").write_text("trial_id,y_pred\ns01_1,1\n")


def test_compare_ignores_runtime_columns_but_not_results(tmp_path):
    _write_run(tmp_path / "local", 50.0, 1.0)
    _write_run(tmp_path / "same", 50.0, 7.0)
    _write_run(tmp_path / "other", 60.0, 1.0)
    targets = ["results/tables/table3.md"]
    assert study_check.compare_outputs(tmp_path / "local", tmp_path / "same", targets) == []
    problems = study_check.compare_outputs(tmp_path / "local", tmp_path / "other", targets)
    assert any("accuracy_mean" in p for p in problems)
    assert any("table3.md" in p for p in problems)
    assert any("metrics.json: accuracy" in p for p in problems)
