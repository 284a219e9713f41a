#!/usr/bin/env bash
# Snakemake runs this once inside the freshly created conda environment (`--sdm conda`), from the
# run's working directory.  It installs the edaffect package of this repository into it, without
# dependencies (the environment file brings them).  Run Snakemake from the repository root, or
# set EDAFFECT_REPO to the repository when you use --directory elsewhere.
set -euo pipefail
repo="${EDAFFECT_REPO:-$PWD}"
if [ ! -f "$repo/pyproject.toml" ] || [ ! -d "$repo/src/edaffect" ]; then
    echo "edaffect.post-deploy.sh: $repo is not the edaffect repository; run snakemake from" \
         "the repository root or set EDAFFECT_REPO" >&2
    exit 1
fi
python -m pip install --no-deps --no-build-isolation -e "$repo"
