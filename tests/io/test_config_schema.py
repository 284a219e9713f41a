"""Defaults live in config/schema.yaml only: validation fills them in, the code sees exactly
those values, config/README.md is generated from the schema, and the fold runner keeps runtime
settings out of the rule params."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from edaffect.io.config_schema import SCHEMA_PATH, config_reference, schema_defaults
from edaffect.studies.ressin.components import ResSINSettings
from edaffect.training import fold_runner
from edaffect.training.trainer import TrainingSettings

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = {
    "seed": 3,
    "datasets": {"deap": {"root": "x", "synthetic": False}},
    "preprocessing": {"crop_s": 3.0, "length": {"deap": 64}, "cvxeda": {}},
    "decomposition": {"batch_size": 10},
    "split": {"n_folds": 3},
    "training": {"epochs": 2, "batch_size": 8, "lr": 0.01},
    "experiments": {"e": {"model": "rtcan1d", "datasets": ["deap"]}},
    "ressin": {"crop_s": 15.0, "image_size": 24, "channels": [4, 8, 16, 32], "batch_size": 10,
               "lr": 0.001, "epochs": 1,
               "table2": {"components": {"origin": "a", "tonic": "b", "phasic": "c", "mix": "d"},
                          "features": {"eda": "a", "music": "b", "multi": "d"}}},
}


@pytest.fixture
def validated():
    config = yaml.safe_load(yaml.safe_dump(MINIMAL))  # a deep copy
    validate(config, str(SCHEMA_PATH), set_default=True)
    return config


def test_validation_fills_in_the_schema_defaults(validated):
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    training = schema["properties"]["training"]["properties"]
    for key, value in schema_defaults("training").items():
        assert validated["training"][key] == value == training[key]["default"]
    experiment = validated["experiments"]["e"]
    for key, value in schema_defaults("experiments").items():
        assert experiment[key] == value
    assert validated["dimensions"] == ["valence", "arousal"]
    assert validated["figures"]["gradcam_dataset"] == "pmemo"
    assert validated["baselines"]["svm_c"] == 0.25
    assert validated["baselines"]["eda_features"]["phasic_method"] == "decomposition"
    assert validated["labels"]["kmeans_n_init"] == 10


def test_code_sees_the_schema_defaults(validated):
    """The settings objects take every value from the validated config: none of their fields has
    a default of its own, and each equals the schema's."""
    for cls in (TrainingSettings, ResSINSettings):
        defaults = [f.name for f in dataclasses.fields(cls)
                    if f.default is not dataclasses.MISSING
                    or f.default_factory is not dataclasses.MISSING]
        assert defaults == [], f"{cls.__name__} repeats schema defaults: {defaults}"
    settings = TrainingSettings.from_config(validated["training"], seed=1, threads=1)
    for key, value in schema_defaults("training").items():
        if hasattr(settings, key) and key != "threads":
            assert getattr(settings, key) == value, key
    ressin = ResSINSettings.from_config(validated["ressin"])
    for key, value in schema_defaults("ressin").items():
        assert getattr(ressin, key) == value, key
    assert fold_runner.fold_mode(validated["training"]) == schema_defaults("training")["fold_mode"]
    with pytest.raises(ValueError, match="missing"):
        TrainingSettings.from_config({"epochs": 1}, seed=1, threads=1)


def test_rules_hold_no_defaults_and_no_lambdas():
    """`.get(key, default)` or a lambda in a rule file would be a second home for a default."""
    mine = ["training", "baselines", "ressin", "features", "labels", "decomposition",
            "reporting", "reporting_inputs", "common"]
    for name in mine:
        text = (ROOT / "rules" / f"{name}.smk").read_text()
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        gets = [g for g in re.findall(r"\.get\([^()]*,[^()]*\)", code)
                if not g.startswith(".get(dataset=")]
        assert gets == [], f"rules/{name}.smk: {gets}"
        assert "lambda" not in code, f"rules/{name}.smk has a lambda"


def test_config_readme_is_generated_from_the_schema():
    readme = (ROOT / "config" / "README.md").read_text()
    assert readme == config_reference(), (
        "config/README.md is stale: python -m edaffect.io.config_schema > config/README.md"
    )
    for key in ("training.fold_mode", "training.threads", "model_families", "ressin.epochs"):
        assert f"`{key}`" in readme


def test_runtime_settings_are_not_params(validated):
    """threads, device, GPU, packing and checkpoints never reach a rule's params."""
    family = fold_runner.BUILTIN_FAMILIES["rtcan1d"]
    base = fold_runner.result_settings(validated, family)
    changed = yaml.safe_load(yaml.safe_dump(validated))
    changed["training"].update(threads=8, device="cuda", gpu=True, fold_mode="per_fold",
                               checkpoint_every=1)
    assert fold_runner.result_settings(changed, family) == base
    assert fold_runner.provenance_config(changed) == fold_runner.provenance_config(validated)
    changed["training"]["lr"] = 0.5  # a result-changing setting
    assert fold_runner.result_settings(changed, family) != base
    ressin = fold_runner.result_settings(validated, fold_runner.BUILTIN_FAMILIES["ressin"])
    assert "table2" not in ressin["ressin"] and "epochs" in ressin["ressin"]
    assert fold_runner.result_settings(validated, fold_runner.BUILTIN_FAMILIES["svm"]) == {
        "baselines.svm_c": 0.25}


def test_fold_mode_and_families(validated, tmp_path):
    assert fold_runner.fold_mode({"fold_mode": "vectorised"}) == "vectorised"
    with pytest.raises(ValueError, match="fold_mode must be one of"):
        fold_runner.fold_mode({"fold_mode": "packing"})
    assert fold_runner.fold_of("results/runs/e/deap/valence/fold12") == 12
    with pytest.raises(ValueError, match="run directory"):
        fold_runner.fold_of("results/runs/e/deap/valence")
    validated["model_families"] = {"toy": f"{ROOT / 'tests' / 'toy_family.py'}:FAMILY"}
    families = fold_runner.model_families(validated)
    assert {"rtcan1d", "cnn3", "svm", "ressin"} <= set(fold_runner.BUILTIN_FAMILIES)
    assert set(families) == (set(fold_runner.BUILTIN_FAMILIES) | set(fold_runner.STUDY_FAMILIES)
                             | {"toy"})
    assert families["maan"].name == "maan" and families["tcn"].name == "tcn"
    validated["model_families"] = {"maan": f"{ROOT / 'tests' / 'toy_family.py'}:FAMILY"}
    with pytest.raises(ValueError, match="'maan' is a built-in family"):
        fold_runner.model_families(validated)
    validated["model_families"] = {"toy": f"{ROOT / 'tests' / 'toy_family.py'}:FAMILY"}
    with pytest.raises(ValueError, match="no family"):
        fold_runner.family_of({"name": "x", "model": "nope"}, families)
    validated["model_families"] = {"bad": "edaffect.training.fold_runner:FOLD_MODES"}
    with pytest.raises(ValueError, match="not a ModelFamily"):
        fold_runner.model_families(validated)
