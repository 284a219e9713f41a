"""Shared fixtures: the repository, the real test material (tests/data), the published values."""

from __future__ import annotations

import os
from pathlib import Path

# One BLAS/OpenMP thread per test process (and the workflows the tests start): the tests' models
# are tiny, and on a busy 2-core machine OpenMP threads that wait for each other made a small
# convolution's backward pass 15x slower (measured: 37 ms vs 2.5 ms a step).  Set before any
# import of numpy or torch.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402  (after the thread settings)

from edaffect.reporting.paper import PAPER_TABLES  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"


# Markers whose skips are failures where the run says so: in CI (`CI` set) an optional oracle
# that fails to import must not turn its comparison off silently, and after .ci/slurm_study.sh
# has installed SLURM (`EDAFFECT_REQUIRE_SLURM` set) the SLURM profile tests must run.
REQUIRED_WHEN = {"oracle": "CI", "slurm": "EDAFFECT_REQUIRE_SLURM"}


def required_markers(environ: dict[str, str] | None = None) -> set[str]:
    """The markers whose tests may not skip in this environment."""
    environ = os.environ if environ is None else environ
    return {marker for marker, var in REQUIRED_WHEN.items() if environ.get(var)}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A skip of a test marked `oracle` (in CI) or `slurm` (when SLURM is required) fails."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or getattr(report, "wasxfail", None) is not None:
        return  # only skips are judged here (an xfail is an expected failure, not a skip)
    required = [m for m in required_markers() if item.get_closest_marker(m) is not None]
    if required:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (f"skipped, but tests marked {required[0]!r} must run here "
                           f"({REQUIRED_WHEN[required[0]]} is set): {reason}")


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


@pytest.fixture
def one_torch_thread():
    """One intra-op torch thread for a test (modules opt in with `pytestmark`): the CI machine
    is small and shared, and oversubscription made tiny models 50x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
