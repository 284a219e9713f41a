"""Shared fixtures: the repository, the real test material (tests/data), the published values."""

from __future__ import annotations

from pathlib import Path

import pytest

from edaffect.reporting.paper import PAPER_TABLES

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real public test material (PMEmo demo songs with listeners' EDA, a NeuroKit2 recording);
    sources and licences in tests/data/README.md."""
    return DATA_DIR


@pytest.fixture(scope="session")
def paper_tables() -> Path:
    """The published values shipped with the package (src/edaffect/reference/paper_tables.csv)."""
    return PAPER_TABLES
