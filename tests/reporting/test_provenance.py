"""One config hash per run: a table given the provenance config and a figure given the full config
name the same configuration; runtime settings never change it, result settings always do."""

import copy

import pytest

from edaffect.reporting.provenance import config_hash, data_line, provenance_line
from edaffect.training.fold_runner import provenance_config

CONFIG = {
    "seed": 1,
    "datasets": {"pmemo": {"root": "r/PMEmo2019", "synthetic": {"n_subjects": 3}},
                 "deap": {"root": "/data/DEAP", "synthetic": False}},
    "training": {"epochs": 3, "lr": 0.01, "threads": 1, "device": "auto", "fold_mode": "packed"},
    "decomposition": {"batch_size": 400, "threads": 1},
}


def test_full_and_provenance_config_share_one_hash():
    assert config_hash(CONFIG) == config_hash(provenance_config(CONFIG))


@pytest.mark.parametrize("section, key, value", [("training", "threads", 2),
                                                 ("training", "fold_mode", "vectorised"),
                                                 ("decomposition", "threads", 8)])
def test_runtime_settings_leave_the_hash(section, key, value):
    changed = copy.deepcopy(CONFIG)
    changed[section][key] = value
    assert config_hash(changed) == config_hash(CONFIG)


@pytest.mark.parametrize("section, key, value", [("training", "lr", 0.02), ("seed", None, 2)])
def test_result_settings_change_the_hash(section, key, value):
    changed = copy.deepcopy(CONFIG)
    if key is None:
        changed[section] = value
    else:
        changed[section][key] = value
    assert config_hash(changed) != config_hash(CONFIG)


def test_lines_name_kind_size_root_and_hash():
    line = provenance_line(CONFIG, {"pmemo": "12 test trials of 3 subjects", "deap": None})
    assert line == ("data: pmemo = SYNTHETIC (12 test trials of 3 subjects, root r/PMEmo2019); "
                    f"deap = real (root /data/DEAP); config sha256 {config_hash(CONFIG)}")
    assert data_line(CONFIG, ["deap"]) == f"data deap: real; config sha256 {config_hash(CONFIG)}"
