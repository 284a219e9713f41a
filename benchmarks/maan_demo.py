"""Time the MAAN part of the default study without Snakemake: synthetic AMIGOS -> trial table ->
labels, splits -> segments -> every `model: maan` experiment (2 worker processes, as on 2 cores)
-> the table and figure. Optionally one fold on CUDA.

    taskset -c 0,1 python benchmarks/maan_demo.py WORKDIR [--cuda]

Prints wall and CPU seconds per stage; the numbers the workflow would give with `--cores 2`.
"""

from __future__ import annotations

import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import yaml


def _train(args):
    name, exp, work, cfg, device = args
    import torch

    torch.set_num_threads(1)
    from edaffect.studies.maan.study import train_maan_fold
    from edaffect.training.fold_runner import RUNTIME_KEYS

    t0, c0 = time.perf_counter(), time.process_time()
    maan, base = cfg["maan"], cfg["training"]
    training = {**{k: v for k, v in base.items() if k not in RUNTIME_KEYS["training"]},
                **maan["training"], "device": device,
                "checkpoint_every": base["checkpoint_every"]}
    n_folds = cfg["split"]["n_folds"]  # both protocols (the fold runner's fold count)
    inputs = {"segments_npz": work / "segments.npz", "segments_csv": work / "segments.csv",
              "labels_csv": work / "labels.csv", "splits_csv": work / "splits.csv"}
    experiment = {**exp, "name": name, "model_settings": maan["model"]}
    accs = {}
    for dim in cfg["dimensions"]:
        accs[dim] = []
        for fold in range(n_folds):
            m = train_maan_fold(experiment, dim, fold, inputs=inputs, training=training,
                                seed=cfg["seed"], n_folds=n_folds,
                                run_dir=work / "runs" / name / "amigos" / dim / f"fold{fold}")
            accs[dim].append(m["accuracy"])
    return name, time.perf_counter() - t0, time.process_time() - c0, accs


def prepare(work: Path, cfg: dict) -> dict[str, tuple[float, float]]:
    """Synthetic AMIGOS -> trial table -> labels, splits -> MAAN segments (as the workflow);
    returns (wall s, CPU s) per stage."""
    from edaffect.datasets import write_trial_table
    from edaffect.model_selection.labels import write_labels
    from edaffect.model_selection.splits import write_splits
    from edaffect.studies.maan.segments import build_segments
    from edaffect.synthetic import generate

    amigos = cfg["datasets"]["amigos"]
    stages = {}
    t0, c0 = time.perf_counter(), time.process_time()
    generate("amigos", work / "synthetic", amigos["synthetic"], seed=cfg["seed"])
    stages["synthesize"] = (time.perf_counter() - t0, time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    native = work / "synthetic" / "data_preprocessed_matlab"
    write_trial_table("amigos", native, work / "trials.csv", work / "raw.npz",
                      work / "excluded.csv", {"videos": amigos["videos"]})
    write_labels(work / "trials.csv", work / "labels.csv", seed=cfg["seed"],
                 n_init=cfg["labels"]["kmeans_n_init"])
    write_splits(work / "trials.csv", work / "splits.csv", work / "splits_summary.csv",
                 n_folds=cfg["split"]["n_folds"], fractions=[1.0], seed=cfg["seed"])
    stages["trials+labels+splits"] = (time.perf_counter() - t0, time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    build_segments(native, work / "labels.csv", cfg["maan"]["segments"], videos=amigos["videos"],
                   segments_npz=work / "segments.npz", index_csv=work / "segments.csv",
                   excluded_csv=work / "segments_excluded.csv")
    stages["maan_segments"] = (time.perf_counter() - t0, time.process_time() - c0)
    return stages


def main() -> None:
    work = Path(sys.argv[1]).resolve()
    work.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    from edaffect.studies.maan.study import write_report

    stages = prepare(work, cfg)
    t0 = time.perf_counter()
    jobs = [(n, e["options"], work, cfg, "cpu") for n, e in cfg["experiments"].items()
            if e["model"] == "maan"]
    with Pool(2) as pool:
        results = pool.map(_train, jobs, chunksize=1)
    stages["training (2 processes)"] = (time.perf_counter() - t0,
                                        sum(r[2] for r in results))
    summary = {}
    for name, wall, cpu, accs in results:
        summary[name] = {d: round(sum(a) / len(a), 3) for d, a in accs.items()}
        print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, mean accuracy {summary[name]}")
    runs = sorted(str(p) for p in (work / "runs").rglob("metrics.json"))
    out = Path(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else work
    t0, c0 = time.perf_counter(), time.process_time()
    write_report(
        metrics=runs, predictions=[r.replace("metrics.json", "predictions.csv") for r in runs],
        paper_csv=str(repo / "src/edaffect/reference/paper_tables.csv"),
        rows=cfg["maan"]["table"], figure=cfg["maan"]["figure"], synthetic=True,
        model=cfg["maan"]["model"], segments=cfg["maan"]["segments"],
        config_note=f"seed {cfg['seed']}; config.yaml maan.*",
        outputs={"csv": out / "maan_table.csv", "md": out / "maan_table.md",
                 "tex": out / "maan_table.tex", "png": out / "maan_attention.png",
                 "pdf": out / "maan_attention.pdf"},
    )
    stages["report"] = (time.perf_counter() - t0, time.process_time() - c0)
    for stage, (wall, cpu) in stages.items():
        print(f"stage {stage}: {wall:.1f} s wall, {cpu:.1f} s CPU")
    print("total wall", round(sum(w for w, _ in stages.values()), 1))
    (out / "maan_summary.json").write_text(json.dumps(
        {"stages": stages, "accuracy": summary}, indent=1))
    if "--cuda" in sys.argv:
        import torch

        if torch.cuda.is_available():
            name = "maan_ecg_eeg_eda"
            exp = {**cfg["experiments"][name]["options"]}
            r = _train((name + "_cuda", exp, work, cfg, "cuda"))
            print(f"CUDA {name}: {r[1]:.1f} s wall, accuracy {r[3]}")


if __name__ == "__main__":
    main()
