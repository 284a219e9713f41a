"""Digest of the tiny study's results, committed in .ci/tiny_study_digest.json and checked in CI,
so that a change that moves any number of the study fails CI until the digest is regenerated on
purpose.

Digested (one sha256 per file, of its canonical content): every table CSV (results/tables/*.csv),
labels.csv, splits*.csv, inputs.npy, every metrics.json and predictions.csv under results/.
Fields that measure the run or the machine, not the result, are left out by exact name
(TIMING_FIELDS: CSV columns and JSON keys at any depth), never by pattern.

    python benchmarks/study_digest.py --check            # CI: results/ against the digest
    python benchmarks/study_digest.py --write            # regenerate it (after the tiny study)

The tiny study first:  snakemake --cores 2 all --configfile config/tiny.yaml
Exit status of --check: 0 when every file's digest equals the committed one, 1 otherwise
(changed, missing and new files listed).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DIGEST = REPO / ".ci" / "tiny_study_digest.json"
REGENERATE = "python benchmarks/study_digest.py --write"
# Columns / JSON keys that measure the run or the machine (time, device, where a killed training
# resumed), not its result: left out of the digest.  Named one by one, so that a result column
# such as lag_s or stimulus_duration_s is never dropped by accident.
TIMING_FIELDS = frozenset({
    # metrics.json (edaffect.training.trainer, vectorised_training, continuous_fit,
    # continuous_refined)
    "train_seconds", "seconds_per_epoch", "resumed_from_epoch", "device",
    # the training state in epoch checkpoints (edaffect.training.trainer: checkpoint/last.pt)
    "seconds", "epoch_seconds",
    # result tables (edaffect.reporting.result_tables: Tables 3-6)
    "valence_seconds_per_epoch_mean", "valence_seconds_per_epoch_std", "valence_device",
    "arousal_seconds_per_epoch_mean", "arousal_seconds_per_epoch_std", "arousal_device",
})
# The same fields as headers of the rendered tables (markdown, LaTeX, HTML: Tables 3-6).
TIMING_HEADERS = frozenset({"s/epoch (V)", "s/epoch (A)", "Device"})
CSV_NAMES = ("labels.csv", "predictions.csv")


def digested_files(results: Path) -> list[str]:
    """Paths (relative to `results`, sorted) of the files the digest covers."""
    found = []
    for path in results.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(results).as_posix()
        name = path.name
        if rel.split("/")[0] in ("logs", "benchmarks") or name.startswith("."):
            continue
        if (
            (rel.startswith("tables/") and path.suffix == ".csv")
            or name in CSV_NAMES
            or (name.startswith("splits") and path.suffix == ".csv")
            or name in ("inputs.npy", "metrics.json")
        ):
            found.append(rel)
    return sorted(found)


def canonical_csv(path: Path) -> bytes:
    """Comment lines, header and cells of a CSV without its TIMING_FIELDS columns."""
    lines = path.read_text().splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    rows = list(csv.reader(lines[n:]))
    header = rows[0] if rows else []
    keep = [i for i, name in enumerate(header) if name not in TIMING_FIELDS]
    out = io.StringIO()
    out.writelines(lines[:n])
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] if i < len(row) else "" for i in keep] + row[len(header):])
    return out.getvalue().encode()


def strip_timing(obj):
    """`obj` (parsed JSON) without TIMING_FIELDS keys at any depth."""
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k not in TIMING_FIELDS}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


def canonical(path: Path) -> bytes:
    """The bytes a file's digest is taken of."""
    if path.suffix == ".csv":
        return canonical_csv(path)
    if path.suffix == ".json":
        data = strip_timing(json.loads(path.read_text()))
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    if path.suffix == ".npy":
        array = np.load(path, allow_pickle=False)
        head = f"{array.dtype.str}{array.shape}".encode()
        return head + np.ascontiguousarray(array).tobytes()
    return path.read_bytes()


def digest(results: Path) -> dict[str, str]:
    """{relative path: sha256 of its canonical content} of the files the digest covers."""
    return {rel: hashlib.sha256(canonical(results / rel)).hexdigest()
            for rel in digested_files(results)}


def compare(expected: dict[str, str], found: dict[str, str]) -> dict[str, list[str]]:
    """Files whose digest changed, that are missing from `found`, and that are new in it."""
    return {
        "changed": sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k]),
        "missing": sorted(expected.keys() - found.keys()),
        "new": sorted(found.keys() - expected.keys()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="compare results/ with the digest")
    mode.add_argument("--write", action="store_true", help="write the digest of results/")
    parser.add_argument("--results", default="results", help="the study's results/ folder")
    parser.add_argument("--digest", default=str(DIGEST), help="the digest file")
    args = parser.parse_args(argv)
    results, digest_path = Path(args.results), Path(args.digest)
    found = digest(results)
    if not found:
        print(f"study_digest: no result files under {results}", file=sys.stderr)
        return 1
    if args.write:
        digest_path.write_text(json.dumps({"timing_fields": sorted(TIMING_FIELDS),
                                           "files": found}, indent=1, sort_keys=True) + "\n")
        print(f"study_digest: {len(found)} files of {results} digested into {digest_path}")
        return 0
    expected = json.loads(digest_path.read_text())["files"]
    diff = compare(expected, found)
    print(f"study_digest: {len(found)} files of {results} against {digest_path} "
          f"({len(expected)} files): {len(diff['changed'])} changed, {len(diff['missing'])} "
          f"missing, {len(diff['new'])} new")
    for kind, files in diff.items():
        for rel in files:
            print(f"  {kind.upper()} {rel}")
    if any(diff.values()):
        print(f"study_digest: the tiny study's results moved; if that is intended, rerun the "
              f"tiny study and regenerate the digest with `{REGENERATE}`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
