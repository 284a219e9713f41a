"""The project stands alone: the published values ship with the package, every paper-table row of
config.yaml finds its published value, and nothing reads material from outside the repository."""

from __future__ import annotations

import re

import pytest
import yaml

from edaffect.reporting.paper import load_paper_values, paper_value

DIMENSIONS = ("valence", "arousal")
# Rows of ours that the paper does not have (printed without a published value).
OUR_OWN_MODELS = {"stimulus"}
SHARED_PATTERN = r"\.\./" + "shared|parent / \"" + "shared\"|/work/" + "shared"


def test_published_values_ship_with_the_package(paper_tables):
    values = load_paper_values()
    assert paper_tables.is_file() and len(values) > 300
    assert {"rtcan-1d", "res-sin", "maan", "thesis-ch4"} <= set(values["paper"])
    assert values["value"].notna().all(), "every published value parses as a number"


def test_missing_published_values_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="published values"):
        load_paper_values(tmp_path / "nothing.csv")


def test_every_table_row_finds_exactly_one_published_value(repo_root):
    """Each (table, row) of config.yaml names one published accuracy per dimension; a typo in a
    key would silently print '—' beside our number."""
    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    values = load_paper_values()
    missing = []
    for table, rows in config["tables"].items():
        if not re.fullmatch(r"table\d", table):
            continue
        for row in rows:
            if config["experiments"][row["experiment"]]["model"] in OUR_OWN_MODELS:
                continue
            for dim in DIMENSIONS:
                found = paper_value(values, paper="rtcan-1d", table=table.removeprefix("table"),
                                    dimension=dim, metric="accuracy", key=row["paper"])
                if found is None:
                    missing.append((table, row["experiment"], row["dataset"], dim))
    assert not missing, f"rows without exactly one published accuracy: {missing}"


def test_nothing_reads_material_outside_the_repository(repo_root):
    """The developers' reference folder beside the checkout is no runtime dependency: no file
    of the project names it (the pattern is built below so this file does not match itself)."""
    offenders = [name for name in ("config.yaml", "Snakefile", "README.md")
                 if re.search(SHARED_PATTERN, (repo_root / name).read_text())]
    for folder in ("src", "rules", "workflow_scripts", "tests", "config", "profiles", "benchmarks"):
        for path in (repo_root / folder).rglob("*"):
            if path.suffix not in {".py", ".smk", ".yaml", ".sh"} or "data" in path.parts[-2:-1]:
                continue
            text = path.read_text(errors="ignore")
            if re.search(SHARED_PATTERN, text):
                offenders.append(str(path.relative_to(repo_root)))
    assert not offenders, offenders
