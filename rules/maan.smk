# MAAN (Woo et al. 2023) on AMIGOS: ECG -> HRV series, EEG -> differential-entropy maps, EDA as a
# third modality; intra-modality U-Nets + modality-aware attention (docs/maan.md).
# Stages: 10-s segments (maan_segments) -> per-fold training of every `maan.experiments` entry
# under both protocols (maan_train_folds / maan_train_fold) -> results/tables/maan_table.* and
# the figure of modality weights + 2-D feature view (maan_report).
# Package code: edaffect.physio, edaffect.maan_data, edaffect.maan_study, edaffect.models.maan.

import re

from edaffect.reporting.paper import paper_tables_path


MAAN = config["maan"]
MAAN_DATASET = "amigos"
MAAN_ENABLED = MAAN_DATASET in DATASETS
MAAN_EXPERIMENTS = dict(MAAN["experiments"])
MAAN_SEGMENT_FOLDS = int(MAAN["segment_folds"])
# Runtime choice, as the fold runner's training.fold_mode (older spelling: pack_folds).
MAAN_PER_FOLD = (
    not config["training"]["pack_folds"]
    if config["training"].get("pack_folds") is not None
    else config["training"]["fold_mode"] == "per_fold"
)
# Settings that never change a result: read at run time, never rule params.
MAAN_RUNTIME_KEYS = ("device", "threads", "gpu", "fold_mode", "pack_folds", "checkpoint_every")
MAAN_PAPER_TABLES = str(paper_tables_path())  # published values (a rule input: tables re-render)


def maan_folds(experiment):
    """Fold numbers of one MAAN experiment: the study's split folds or the segment folds."""
    protocol = MAAN_EXPERIMENTS[experiment]["protocol"]
    return list(range(N_FOLDS if protocol == "subject" else MAAN_SEGMENT_FOLDS))


def maan_regex(protocol):
    names = [n for n, e in MAAN_EXPERIMENTS.items() if e["protocol"] == protocol]
    return "|".join(re.escape(n) for n in names) or "(?!)"


def maan_run_files(name, protocol):
    """One run file of every dimension and fold of a packed MAAN job (one per experiment: the
    interpreter and torch start-up, ~2.5 CPU-s, is paid once for 2 x 10 small folds)."""
    folds = range(N_FOLDS if protocol == "subject" else MAAN_SEGMENT_FOLDS)
    return [
        f"results/runs/{{experiment}}/{MAAN_DATASET}/{dim}/fold{k}/{name}"
        for dim in DIMENSIONS
        for k in folds
    ]


def maan_fold_inputs(wildcards):
    """What a MAAN fold reads: segments, their index, labels and (subject protocol) the folds."""
    inputs = {
        "segments": f"results/{MAAN_DATASET}/maan/segments.npz",
        "index": f"results/{MAAN_DATASET}/maan/segments.csv",
        "labels": f"results/{MAAN_DATASET}/labels.csv",
    }
    if MAAN_EXPERIMENTS[wildcards.experiment]["protocol"] == "subject":
        inputs["splits"] = f"results/{MAAN_DATASET}/splits.csv"
    return inputs


def maan_experiment(wildcards):
    """The experiment entry with its name and the model settings (rule param: results change)."""
    return {
        **MAAN_EXPERIMENTS[wildcards.experiment],
        "name": wildcards.experiment,
        "model_settings": MAAN["model"],
    }


def maan_training():
    """config `training` (result-changing keys) with `maan.training` on top (rule param)."""
    base = {k: v for k, v in config["training"].items() if k not in MAAN_RUNTIME_KEYS}
    return {**base, **MAAN["training"]}


def maan_table_runs(name):
    """A run file of every fold and dimension of every experiment the table or figure needs."""
    names = [row["experiment"] for row in MAAN["table"]]
    return [
        f"results/runs/{exp}/{MAAN_DATASET}/{dim}/fold{k}/{name}"
        for exp in dict.fromkeys(names)
        for dim in DIMENSIONS
        for k in maan_folds(exp)
    ]


if MAAN_ENABLED:
    ALL_TARGETS.extend(
        expand("results/tables/maan_table.{ext}", ext=["csv", "md", "tex"])
        + expand("results/figures/maan_attention.{ext}", ext=["png", "pdf"])
        + ["results/report/maan_table.html"]
    )


rule maan_segments:
    input:
        trials=f"results/{MAAN_DATASET}/trials.csv",
        labels=f"results/{MAAN_DATASET}/labels.csv",
    output:
        segments=f"results/{MAAN_DATASET}/maan/segments.npz",
        index=f"results/{MAAN_DATASET}/maan/segments.csv",
        excluded=f"results/{MAAN_DATASET}/maan/segments_excluded.csv",
    params:
        root=dataset_root(MAAN_DATASET) if MAAN_ENABLED else "",
        videos=config["datasets"][MAAN_DATASET]["videos"] if MAAN_ENABLED else "all",
        settings=MAAN["segments"],
    log:
        f"results/logs/maan_segments/{MAAN_DATASET}.log",
    benchmark:
        f"results/benchmarks/maan_segments/{MAAN_DATASET}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/maan_segments.py"


if MAAN_PER_FOLD:

    rule maan_train_fold:
        input:
            unpack(maan_fold_inputs),
        output:
            metrics=f"results/runs/{{experiment}}/{MAAN_DATASET}/{{dimension}}/fold{{fold}}/metrics.json",
            predictions=f"results/runs/{{experiment}}/{MAAN_DATASET}/{{dimension}}/fold{{fold}}/predictions.csv",
            attention=f"results/runs/{{experiment}}/{MAAN_DATASET}/{{dimension}}/fold{{fold}}/attention.csv",
            embedding=f"results/runs/{{experiment}}/{MAAN_DATASET}/{{dimension}}/fold{{fold}}/embedding.npy",
        wildcard_constraints:
            experiment="|".join([maan_regex("subject"), maan_regex("segment")]),
        params:
            experiment=maan_experiment,
            training=maan_training(),
            seed=int(config["seed"]),
            segment_folds=MAAN_SEGMENT_FOLDS,
            n_folds=N_FOLDS,
        threads: 1
        resources:
            mem_mb=3000,
            runtime=60,
        log:
            f"results/logs/maan_train/{{experiment}}/{{dimension}}/fold{{fold}}.log",
        benchmark:
            f"results/benchmarks/maan_train/{{experiment}}/{{dimension}}/fold{{fold}}.tsv"
        conda:
            "../envs/edaffect.yaml"
        script:
            "../workflow_scripts/maan_train.py"

else:

    rule maan_train_folds_subject:
        input:
            unpack(maan_fold_inputs),
        output:
            metrics=maan_run_files("metrics.json", "subject"),
            predictions=maan_run_files("predictions.csv", "subject"),
            attention=maan_run_files("attention.csv", "subject"),
            embedding=maan_run_files("embedding.npy", "subject"),
        wildcard_constraints:
            experiment=maan_regex("subject"),
        params:
            experiment=maan_experiment,
            training=maan_training(),
            seed=int(config["seed"]),
            segment_folds=MAAN_SEGMENT_FOLDS,
            n_folds=N_FOLDS,
        threads: 1
        resources:
            mem_mb=3000,
            runtime=240,
        log:
            "results/logs/maan_train/{experiment}.log",
        benchmark:
            "results/benchmarks/maan_train/{experiment}.tsv"
        conda:
            "../envs/edaffect.yaml"
        script:
            "../workflow_scripts/maan_train.py"

    use rule maan_train_folds_subject as maan_train_folds_segment with:
        output:
            metrics=maan_run_files("metrics.json", "segment"),
            predictions=maan_run_files("predictions.csv", "segment"),
            attention=maan_run_files("attention.csv", "segment"),
            embedding=maan_run_files("embedding.npy", "segment"),
        wildcard_constraints:
            experiment=maan_regex("segment"),


rule maan_report:
    input:
        metrics=maan_table_runs("metrics.json"),
        attention=maan_table_runs("attention.csv"),
        embedding=maan_table_runs("embedding.npy"),
        paper=MAAN_PAPER_TABLES,
    output:
        csv="results/tables/maan_table.csv",
        md="results/tables/maan_table.md",
        tex="results/tables/maan_table.tex",
        png=report(
            "results/figures/maan_attention.png",
            caption="../report/maan_figure.rst",
            category="Figures",
            labels={"figure": "MAAN"},
        ),
        pdf="results/figures/maan_attention.pdf",
    params:
        rows=MAAN["table"],
        figure=MAAN["figure"],
        synthetic=is_synthetic(MAAN_DATASET) if MAAN_ENABLED else True,
        config_note=f"seed {config['seed']}; config: maan.* (docs/maan.md)",
    log:
        "results/logs/maan_report/maan_report.log",
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/maan_report.py"


rule maan_report_table:
    input:
        md="results/tables/maan_table.md",
    output:
        html=report(
            "results/report/maan_table.html",
            caption="../report/maan_table.rst",
            category="Tables",
            labels={"table": "MAAN"},
        ),
    params:
        title="MAAN on AMIGOS",
    log:
        "results/logs/report_table/maan_table.log",
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/table_html.py"
