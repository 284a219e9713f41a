"""CI cannot pass while the thing is broken: a failed install fails .ci/run, and in CI a test of
an optional oracle that cannot import fails instead of skipping (tests/conftest.py)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README_CMD2 = ("python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 -e '.[test]' && "
               ".venv/bin/python -m pytest")


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def simulate_ci(tmp_path: Path, install_exit: int, readme: str = README_CMD2) -> tuple[int, str]:
    """Run this repository's .ci/run in a throw-away git repository whose `python3 -m venv`
    makes a venv of stand-in tools: pip exits `install_exit` for the test install, every other
    step succeeds at once.  Returns (exit status, output)."""
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    (repo / ".ci").mkdir(parents=True)
    bin_dir.mkdir()
    shutil.copy(REPO / ".ci" / "run", repo / ".ci" / "run")
    _executable(repo / ".ci" / "slurm_study.sh", "#!/bin/sh\nexit 0\n")
    (repo / "README.md").write_text(f"# (2) install and run the tests\n{readme}\n")
    _executable(bin_dir / "python3", f"""#!/bin/sh
[ "$1 $2" = "-m venv" ] || exit 0
mkdir -p "$3/bin"
printf '#!/bin/sh\\necho "stand-in pip $*"; case "$*" in *test*) exit {install_exit};; esac\\n' \\
    > "$3/bin/pip"
printf '#!/bin/sh\\ncase "$*" in *--report*) mkdir -p results; echo x > results/report.html;; \\
    esac\\n' > "$3/bin/snakemake"
for tool in python ruff snakefmt; do printf '#!/bin/sh\\nexit 0\\n' > "$3/bin/$tool"; done
chmod +x "$3"/bin/*
""")
    git = ["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "sim"], cwd=repo, check=True)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", ".ci/run"], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_ci_fails_on_a_failed_install_and_keeps_its_clone(tmp_path):
    rc, out = simulate_ci(tmp_path, install_exit=1)
    assert rc == 1, out
    assert "README command (2) failed" in out and "README command (2) passed" not in out
    kept = re.search(r"the clone is kept in (\S+)", out)
    assert kept and Path(kept.group(1)).is_dir(), out
    shutil.rmtree(kept.group(1))


def test_ci_passes_through_every_step_and_removes_its_clone(tmp_path):
    rc, out = simulate_ci(tmp_path, install_exit=0)
    assert rc == 0, out
    steps = re.findall(r"^== \[.*?\] (.*)$", out, flags=re.M)
    assert steps[1:] == [
        "README command (2) passed", "lint clean (ruff, snakefmt, snakemake --lint)",
        "tiny whole study and its report built", "tiny study equals the committed digest",
        "fault test passed", "SLURM study and SLURM profile tests passed; CI total",
    ]
    clone = re.search(r"isolated clone in (\S+)/edaffect", out).group(1)
    assert not Path(clone).exists()


def test_ci_runs_the_readme_command_verbatim(tmp_path):
    """.ci/run runs README.md's command (2) as written there, and refuses to run when README.md
    no longer holds it."""
    assert README_CMD2 in (REPO / "README.md").read_text().splitlines()
    assert f'README_CMD2="{README_CMD2}"' in (REPO / ".ci" / "run").read_text()
    rc, out = simulate_ci(tmp_path, install_exit=0, readme=README_CMD2.replace("[test]", "[dev]"))
    assert rc == 1 and "README.md no longer holds command (2)" in out, out


def _pytest(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_a_missing_oracle_fails_in_ci_and_skips_elsewhere(tmp_path):
    """The conftest hook on hand-made tests: an `oracle` test whose package cannot import fails
    with CI set and skips without it; an unmarked skip stays a skip; `slurm` tests likewise
    with EDAFFECT_REQUIRE_SLURM."""
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    # A hand-made test module for the hook under test: its skips are the hook's inputs (an oracle
    # skip must fail in CI, a plain skip must stay a skip, a slurm skip fails when SLURM is
    # required), not skips of this suite.
    (tmp_path / "test_guarded.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.oracle\n"
        "def test_needs_oracle():\n"
        "    pytest.importorskip('no_such_oracle_package_xyz')\n\n"
        "def test_plain_skip():\n"
        "    pytest.skip('not an oracle')\n\n"
        "@pytest.mark.slurm\n"
        "@pytest.mark.skipif(True, reason='no sinfo')\n"
        "def test_needs_slurm():\n"
        "    pass\n")
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "EDAFFECT_REQUIRE_SLURM")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"),
                                                       os.environ.get("PYTHONPATH")]))
    outcomes = {}
    for name, extra in (("local", {}), ("ci", {"CI": "1"}),
                        ("slurm", {"EDAFFECT_REQUIRE_SLURM": "1"})):
        done = _pytest(["-v", "test_guarded.py"], dict(base, **extra), tmp_path)
        found = re.findall(r"::(test_\w+) (PASSED|FAILED|SKIPPED|ERROR)", done.stdout)
        outcomes[name] = (done.returncode, [(status, test) for test, status in found])
    assert outcomes["local"][0] == 0
    assert sorted(outcomes["local"][1]) == [("SKIPPED", "test_needs_oracle"),
                                            ("SKIPPED", "test_needs_slurm"),
                                            ("SKIPPED", "test_plain_skip")]
    # a skip in the call phase reports FAILED, one in setup (skipif) ERROR: both fail the run
    assert outcomes["ci"][0] == 1
    assert sorted(outcomes["ci"][1]) == [("FAILED", "test_needs_oracle"),
                                         ("SKIPPED", "test_needs_slurm"),
                                         ("SKIPPED", "test_plain_skip")]
    assert outcomes["slurm"][0] == 1
    assert sorted(outcomes["slurm"][1]) == [("ERROR", "test_needs_slurm"),
                                            ("SKIPPED", "test_needs_oracle"),
                                            ("SKIPPED", "test_plain_skip")]


@pytest.mark.slow
def test_uninstalled_oracle_package_fails_the_ci_test_step(tmp_path):
    """The real oracle test with baycomp made unimportable (a shadowing package that raises
    ModuleNotFoundError, as an uninstalled one would): it skips without CI, fails with it."""
    shadow = tmp_path / "shadow" / "baycomp"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError('baycomp uninstalled (simulated)', name='baycomp')\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "shadow"), str(REPO / "src")])
    args = ["-q", "-rs", "tests/test_oracles.py", "-k", "baycomp"]
    local = _pytest(args, env, REPO)
    assert local.returncode == 0 and "3 skipped" in local.stdout, local.stdout
    done = _pytest(args, dict(env, CI="1"), REPO)
    assert done.returncode == 1, done.stdout
    assert "must run here" in done.stdout and "baycomp uninstalled" in done.stdout
