"""Fast checks of profiles/slurm and profiles/local and of the helpers of the SLURM study test
(tests/slurm/study_check.py).  The study itself runs in CI: .ci/slurm_study.sh."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edaffect.io.config_schema import schema_defaults

sys.path.insert(0, str(Path(__file__).parent))
import study_check  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SLURM_PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
LOCAL_PROFILE = REPO / "profiles" / "local" / "config.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def workflow_rule_names() -> set[str]:
    names = set()
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        names |= set(re.findall(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", text, re.M))
        names |= set(re.findall(r"^\s*use rule \w+ as (\w+)", text, re.M))
    return names


def test_slurm_profile_marks_exactly_the_three_cluster_lines():
    marked = [key for _, key in study_check.change_lines(SLURM_PROFILE.read_text())]
    assert sorted(marked) == sorted(study_check.CHANGE_KEYS)


def test_slurm_profile_rules_exist_in_the_workflow():
    profile = yaml.safe_load(SLURM_PROFILE.read_text())
    rules = workflow_rule_names()
    named = set(profile["set-resources"]) | set(profile.get("groups", {}))
    assert named <= rules, f"profile names rules the workflow lacks: {sorted(named - rules)}"
    # The rule asks for gpu=1 (GPU families) or 0 (SVM, stimulus): the profile must not force it.
    assert all("gpu" not in block for block in profile["set-resources"].values())
    assert profile["set-resources"]["train_fold"]["gpu_model"]
    assert profile["configfile"] == "cluster.yaml"
    assert (SLURM_PROFILE.parent / profile["configfile"]).is_file()


def test_derive_profile_changes_only_the_marked_values_and_caps_the_node():
    text = SLURM_PROFILE.read_text()
    original = yaml.safe_load(text)
    values = {"slurm_partition": "p", "slurm_account": "a", "gpu_model": "m"}
    derived = study_check.derive_profile(text, values, cpus=2, mem_mb=3000)
    assert derived["default-resources"]["slurm_partition"] == "p"
    assert derived["default-resources"]["slurm_account"] == "a"
    assert derived["set-resources"]["train_fold"]["gpu_model"] == "m"
    assert derived["set-resources"]["train_fold"]["cpus_per_gpu"] <= 2
    assert all(int(block.get("mem_mb", 0)) <= 3000 for block in derived["set-resources"].values())
    assert derived["executor"] == original["executor"] == "slurm"
    with pytest.raises(ValueError, match="CHANGE"):
        study_check.derive_profile(text.replace("# <-- CHANGE (2/3)", "#"), values)


def _dry_run(tmp_path: Path, profile: Path, *args: str, home: Path | None = None) -> str:
    """`snakemake --profile PROFILE -n ARGS` in a fresh working directory holding config.yaml."""
    workdir = tmp_path / f"wd{len(list(tmp_path.iterdir()))}"
    workdir.mkdir()
    shutil.copy(REPO / "config.yaml", workdir)
    env = dict(os.environ, HOME=str(home)) if home else None
    result = subprocess.run(
        [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--profile", str(profile),
         "-n", *args],
        cwd=workdir, capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def planned(out: str, rule: str) -> int:
    found = re.search(rf"^{rule}\s+(\d+)$", out, re.M)
    return int(found.group(1)) if found else 0


def gpu_jobs(out: str, rule: str) -> int:
    """Jobs of `rule` in a dry run that request one GPU."""
    blocks = re.split(r"\n(?=\S*rule \w+:)", out)
    return sum(bool(re.match(rf"\S*rule {rule}:", b)) and bool(re.search(r"\bgpu=1\b", b))
               for b in blocks)


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not installed beside python")
@pytest.mark.skipif(shutil.which("sinfo") is None, reason="the SLURM plugin needs a SLURM client")
@pytest.mark.slurm
def test_readme_slurm_command_plans_one_gpu_job_per_fold(tmp_path):
    """`snakemake --profile profiles/slurm all`, exactly as the README says: one job per fold
    (no packed jobs), the cluster settings of cluster.yaml, and the same plan with the profile
    linked as a named profile (`--profile slurm`) under a fresh HOME."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    n_folds = config["split"]["n_folds"]
    out = _dry_run(tmp_path, REPO / "profiles" / "slurm", "all")
    packed = _dry_run(tmp_path, REPO / "profiles" / "local", "all")
    assert planned(out, "train_folds") == planned(out, "train_folds_cpu") == 0
    assert planned(out, "train_folds_kept") == planned(out, "train_dimension_folds") == 0
    assert planned(packed, "train_fold") == planned(packed, "train_fold_cpu") == 0
    assert planned(packed, "train_fold_kept") == 0
    # the folds of training.kept_models train in the *_kept twins (model.pt not temp())
    gpu_folds = planned(out, "train_fold") + planned(out, "train_fold_kept")
    gpu_packed = planned(packed, "train_folds") + planned(packed, "train_folds_kept")
    # every packed job (one experiment x dataset: every dimension's folds) becomes
    # n_dimensions x n_folds jobs, the refined-label experiment's (one dimension) n_folds; every
    # network, Res-SIN and MAAN fold (rule train_fold) asks for a GPU, the SVM / stimulus /
    # continuous baselines (train_fold_cpu) for none
    n_dims = len(config["dimensions"])
    assert planned(out, "train_fold_kept") == n_folds * n_dims * planned(packed, "train_folds_kept")
    kept = schema_defaults("training")["kept_models"]  # config.yaml keeps the default
    assert planned(packed, "train_folds_kept") == len(kept)
    assert planned(packed, "train_dimension_folds") == 1
    assert planned(out, "train_fold_cpu") == n_folds * n_dims * planned(packed, "train_folds_cpu")
    assert gpu_folds + planned(out, "train_fold_cpu") == n_folds * (
        n_dims * (gpu_packed + planned(packed, "train_folds_cpu"))
        + planned(packed, "train_dimension_folds"))
    n_gpu = gpu_jobs(out, "train_fold") + gpu_jobs(out, "train_fold_kept")
    assert 0 < n_gpu == gpu_folds
    assert gpu_jobs(out, "train_fold_cpu") == 0
    assert gpu_jobs(packed, "train_folds") == gpu_jobs(packed, "train_folds_kept") == 0
    print(f"README SLURM command: {n_gpu} GPU fold jobs, "
          f"{planned(out, 'train_fold_cpu')} CPU fold jobs")
    home = tmp_path / "home"
    (home / ".config" / "snakemake").mkdir(parents=True)
    (home / ".config" / "snakemake" / "slurm").symlink_to(REPO / "profiles" / "slurm")
    named = _dry_run(tmp_path, Path("slurm"), "results/tables/table4.md", home=home)
    runs = {row["experiment"] for row in config["tables"]["table4"]}
    n_table4 = len(runs) * len(config["dimensions"]) * n_folds
    named_folds = planned(named, "train_fold") + planned(named, "train_fold_kept")
    assert named_folds == gpu_jobs(named, "train_fold") + gpu_jobs(named, "train_fold_kept")
    assert named_folds == n_table4


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not installed beside python")
def test_local_profile_packs_the_folds(tmp_path):
    out = _dry_run(tmp_path, REPO / "profiles" / "local", "results/tables/table3.md",
                   "--configfile", str(REPO / "config" / "tiny.yaml"))
    assert planned(out, "train_fold") == planned(out, "train_fold_kept") == 0
    assert planned(out, "train_folds") > 0 and planned(out, "train_folds_kept") > 0


SCONTROL = """\
JobId=1 JobName=x UserId=root(0) JobState=COMPLETED Comment=rule_splits_wildcards_deap NumCPUs=1
JobId=2 JobName=x UserId=root(0) JobState=COMPLETED Comment=rule_train_fold_wildcards_r_f_deap_valence_0 NumCPUs=2 TresPerJob=gres:gpu:fake:1
JobId=3 JobName=x UserId=root(0) JobState=FAILED Comment=rule_train_fold_wildcards_r_f_deap_valence_1 NumCPUs=2
JobId=4 JobName=x UserId=root(0) JobState=COMPLETED Comment=rule_train_fold_wildcards_svm_eda_pmemo_valence_0 NumCPUs=1 TresPerJob=gres:gpu:fake:0
"""  # noqa: E501


def test_gpu_record_counts_gpu_jobs_exactly_and_flags_failed_jobs():
    jobs = study_check.parse_scontrol_jobs(SCONTROL)
    assert [study_check.job_rule(j) for j in jobs] == ["splits"] + ["train_fold"] * 3
    problems = study_check.check_gpu_record(jobs, ["train_fold"], "fake", expect_gpu_jobs=1)
    assert len(problems) == 1 and "job 3" in problems[0]
    assert study_check.check_gpu_record(jobs, ["train_fold"], "fake", 1, allowed_failed=1) == []
    assert study_check.check_gpu_record(jobs, ["train_fold"], "fake", 2, allowed_failed=1)
    assert study_check.check_gpu_record(jobs, ["splits"], "fake", 1, allowed_failed=1)


def _write_run(root: Path, accuracy: float, seconds: float) -> None:
    tables = root / "results" / "tables"
    tables.mkdir(parents=True)
    (tables / "table3.csv").write_text(
        "# caption\nexperiment,accuracy_mean,valence_seconds_per_epoch_mean\n"
        f"r_f,{accuracy},{seconds}\n"
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


def test_compare_allows_the_packed_jobs_other_dimension_only(tmp_path):
    """A packed local job also trains the other dimension of a requested experiment x dataset:
    those extra local runs are not a difference; a run of another experiment is."""
    _write_run(tmp_path / "local", 50.0, 1.0)
    _write_run(tmp_path / "slurm", 50.0, 1.0)
    targets = ["results/tables/table3.md"]
    sibling = tmp_path / "local/results/runs/r_f/deap/arousal/fold0"
    sibling.mkdir(parents=True)
    (sibling / "metrics.json").write_text(json.dumps({"accuracy": 55.0}))
    assert study_check.compare_outputs(tmp_path / "local", tmp_path / "slurm", targets) == []
    stray = tmp_path / "local/results/runs/r_e/deap/valence/fold0"
    stray.mkdir(parents=True)
    (stray / "metrics.json").write_text(json.dumps({"accuracy": 55.0}))
    problems = study_check.compare_outputs(tmp_path / "local", tmp_path / "slurm", targets)
    assert any("only local" in p and "r_e/deap" in p for p in problems)
    (tmp_path / "slurm/results/runs/r_f/deap/valence/fold0/metrics.json").unlink()
    problems = study_check.compare_outputs(tmp_path / "local", tmp_path / "slurm", targets)
    assert any("only local" in p and "r_f/deap/valence" in p for p in problems)


# The record of the fault test: a decomposition job and a training cancelled, both resubmitted;
# the second training is an array task (ArrayJobId/ArrayTaskId, comment of the array's first).
FAULT_RECORD = """\
JobId=4 JobState=CANCELLED Comment=rule_decompose_batch_wildcards_deap_0 TresPerNode=N/A
JobId=6 JobState=COMPLETED Comment=rule_decompose_batch_wildcards_deap_0 TresPerNode=N/A
JobId=7 JobState=CANCELLED Comment=rule_train_fold_wildcards_r_f_deap_valence_0 TresPerJob=gres:gpu:fake:1
JobId=9 ArrayJobId=8 ArrayTaskId=1 JobState=COMPLETED Comment=rule_train_fold_wildcards_r_f_deap_valence_1 TresPerJob=gres:gpu:fake:1
JobId=8 ArrayJobId=8 ArrayTaskId=2 JobState=COMPLETED Comment=rule_train_fold_wildcards_r_f_deap_valence_1 TresPerJob=gres:gpu:fake:1
"""  # noqa: E501


def test_fault_record_needs_cancel_resubmission_and_resume(tmp_path):
    jobs = study_check.parse_scontrol_jobs(FAULT_RECORD)
    assert [study_check.record_id(j) for j in jobs] == ["4", "6", "7", "8_1", "8_2"]
    assert study_check.submissions(jobs) == {
        "records": 5, "sbatch": 4, "arrays": 1, "array_tasks": 2}
    fold = tmp_path / "results/runs/r_f/deap/valence/fold0"
    fold.mkdir(parents=True)
    cancelled = [{"jobid": "4", "rule": "decompose_batch"},
                 {"jobid": "7", "rule": "train_fold", "run_dir": str(fold.relative_to(tmp_path))}]
    rules = ["decompose_batch", "train_fold"]
    (fold / "metrics.json").write_text(json.dumps({"resumed_from_epoch": 3}))
    assert study_check.check_fault_record(jobs, cancelled, rules, tmp_path) == []
    assert cancelled[1]["resubmitted_as"] == ["8_1", "8_2"]
    # exactly the cancelled jobs may be non-COMPLETED; the GPU count is of completed jobs
    ids = {"4", "7"}
    assert study_check.check_gpu_record(jobs, ["train_fold"], "fake", 2, cancelled=ids) == []
    assert study_check.check_gpu_record(jobs, ["train_fold"], "fake", 3, cancelled=ids)
    assert study_check.check_gpu_record(jobs, ["train_fold"], "fake", 2, cancelled={"4"})
    # a training that started from scratch again, a job never resubmitted, a missed rule
    (fold / "metrics.json").write_text(json.dumps({"resumed_from_epoch": 0}))
    assert any("did not resume" in p
               for p in study_check.check_fault_record(jobs, cancelled, rules, tmp_path))
    (fold / "metrics.json").write_text(json.dumps({"resumed_from_epoch": 3}))
    assert any("no later COMPLETED" in p for p in study_check.check_fault_record(
        [j for j in jobs if j["JobId"] != "6"], cancelled, rules, tmp_path))
    assert any("was cancelled" in p for p in study_check.check_fault_record(
        jobs, cancelled[1:], rules, tmp_path))


def test_derive_profile_can_leave_cpus_beside_the_gpu_job():
    values = {"slurm_partition": "p", "slurm_account": "a", "gpu_model": "m"}
    derived = study_check.derive_profile(SLURM_PROFILE.read_text(), values, cpus=2, gpu_cpus=1)
    assert derived["set-resources"]["train_fold"]["cpus_per_gpu"] == 1


def test_runtime_fields_are_named_not_matched(tmp_path):
    """Result columns that merely look like times (lag_s, stimulus_duration_s) are compared;
    only the named timing columns are left out."""
    assert study_check.is_runtime("valence_seconds_per_epoch_mean")
    assert study_check.is_runtime("train_seconds") and study_check.is_runtime("Device")
    for name in ("lag_s", "recovered_lag_s", "stimulus_duration_s", "cpu_count"):
        assert not study_check.is_runtime(name)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("# c\nexperiment,lag_s,train_seconds\nx,2.5,1.0\n")
    b.write_text("# c\nexperiment,lag_s,train_seconds\nx,3.0,9.0\n")
    problems = study_check.compare_csv(a, b)
    assert len(problems) == 1 and "lag_s" in problems[0]
