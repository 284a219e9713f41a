"""Rule synthesize_dataset: write one synthetic dataset in its native layout + ground_truth.csv."""

import json
import time
from pathlib import Path

from edaffect.rule_io import log_to_file
from edaffect.synthetic import generate

log = log_to_file(snakemake.log[0])  # noqa: F821
dataset = snakemake.wildcards.dataset  # noqa: F821
params = json.loads(snakemake.params.synthetic)  # noqa: F821
root = Path(snakemake.output.ground_truth).parent  # noqa: F821
start = time.perf_counter()
truth = generate(dataset, root, params, seed=int(snakemake.params.seed)).ground_truth  # noqa: F821
log.info(
    "%s: %d trials of %d subjects written under %s in %.1f s (params %s, seed %s)",
    dataset, len(truth), truth["subject"].nunique(), root, time.perf_counter() - start, params,
    snakemake.params.seed,  # noqa: F821
)
