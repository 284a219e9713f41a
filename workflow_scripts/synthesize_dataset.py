"""Rule synthesize_dataset: one synthetic dataset -> its native folder + ground_truth.csv
beside it."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

import json
import time
from pathlib import Path

from edaffect.synthetic import generate

dataset = smk.wildcards.dataset
params = json.loads(smk.params.synthetic)
out_dir = Path(smk.output.ground_truth).parent
start = time.perf_counter()
result = generate(dataset, out_dir, params, seed=int(smk.params.seed))
truth = result.ground_truth
log.info(
    "%s: %d trials of %d subjects written under %s (truth in %s) in %.1f s (params %s, seed %s)",
    dataset, len(truth), truth["subject"].nunique(), result.root, out_dir,
    time.perf_counter() - start, params, smk.params.seed,
)
