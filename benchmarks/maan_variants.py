"""Compare MAAN design variants against Basic on the default demo data (benchmarks/maan_demo.py
must have written WORKDIR first): attention form x epochs, subject-independent protocol.

    python benchmarks/maan_variants.py WORKDIR
"""

from __future__ import annotations

import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from maan_demo import _train  # noqa: E402


def main() -> None:
    work = Path(sys.argv[1]).resolve()
    repo = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    jobs = []
    for epochs in (6, 10):
        for form in ("scale", "residual"):
            for mods, att in ((["ecg", "eeg"], False), (["ecg", "eeg"], True),
                              (["ecg", "eeg", "eda"], True)):
                if not att and form == "residual":
                    continue
                c = {**cfg, "maan": {**cfg["maan"], "model": {**cfg["maan"]["model"],
                                                              "attention_form": form},
                                     "training": {**cfg["maan"]["training"], "epochs": epochs}}}
                name = f"v_{'+'.join(mods)}_{'att' if att else 'basic'}_{form}_e{epochs}"
                exp = {"modalities": mods, "attention": att, "protocol": "subject"}
                jobs.append((name, exp, work, c, "cpu"))
    with Pool(min(12, len(jobs))) as pool:
        results = {r[0]: r[3] for r in pool.map(_train, jobs, chunksize=1)}
    for name, accs in sorted(results.items()):
        epochs = name.rsplit("_e", 1)[1]
        basic = results[f"v_ecg+eeg_basic_scale_e{epochs}"]
        diffs = {d: round(float(np.mean(np.subtract(a, basic[d]))), 3) for d, a in accs.items()}
        means = {d: round(float(np.mean(a)), 3) for d, a in accs.items()}
        print(f"{name}: mean {means} minus Basic {diffs}")


if __name__ == "__main__":
    main()
