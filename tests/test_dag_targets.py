"""A table target schedules only the jobs that table needs (dry run of the real workflow)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

RUN_PATH = re.compile(r"results/runs/([^/\s,]+)/([^/\s,]+)/([^/\s,]+)/fold(\d+)/")


def planned_outputs(workdir: Path, *targets: str) -> list[str]:
    """Output paths of every job a forced dry run of `targets` plans (whatever already exists).

    Checkpoints that have not run yet stop the planning of their dependants' inputs, but the
    training jobs of a table do not depend on the trial list, so they are always planned.
    """
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [str(snakemake), "--dry-run", "--forceall", "--cores", "1", "--nocolor", *targets]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=120)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"dry run of {targets} failed ({proc.returncode}):\n{text[-3000:]}")
    outputs: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("output:"):
            outputs += [p.strip() for p in line.removeprefix("output:").split(",") if p.strip()]
    if not outputs:
        pytest.fail(f"dry run of {targets} listed no job outputs:\n{text[-3000:]}")
    return outputs


def test_table4_plans_only_its_own_training_runs(repo_root):
    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    rows = config["tables"]["table4"]
    wanted = {(r["experiment"], r["dataset"]) for r in rows}
    datasets = {r["dataset"] for r in rows}
    outputs = planned_outputs(repo_root, "results/tables/table4.md")

    runs = [m.groups() for p in outputs if (m := RUN_PATH.search(p))]
    planned = {(exp, ds) for exp, ds, _dim, _fold in runs}
    assert planned == wanted, f"unrelated training runs planned: {sorted(planned - wanted)}"
    n_folds = int(config["split"]["n_folds"])
    dims = config.get("dimensions", ["valence", "arousal"])
    for exp, ds in wanted:
        got = {(dim, int(fold)) for e, d, dim, fold in runs if (e, d) == (exp, ds)}
        assert got == {(dim, f) for dim in dims for f in range(n_folds)}, (exp, ds)

    others = [p for p in outputs if p.startswith(("results/tables/", "results/figures/"))]
    assert all(Path(p).stem == "table4" for p in others), f"other tables/figures planned: {others}"
    other_datasets = set(config["datasets"]) - datasets
    strays = [p for p in outputs if any(f"/{d}/" in p or p.endswith(f"/{d}") for d in
                                        other_datasets)]
    assert not strays, f"jobs for datasets Table 4 does not use: {strays[:10]}"
