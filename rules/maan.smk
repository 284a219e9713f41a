# MAAN (Woo et al. 2023) on AMIGOS: ECG -> HRV series, EEG -> differential-entropy maps, EDA as a
# third modality; intra-modality U-Nets + modality-aware attention (docs/maan.md).
# Stages: 10-s segments (maan_segments) -> the MAAN experiments of config `experiments` (model
# family `maan`, edaffect.studies.maan.study:FAMILY) trained by the fold runner (rules/training.smk:
# train_fold / train_folds) -> results/tables/maan_table.* and the figure of modality weights +
# 2-D feature view (maan_report).  Constants and input functions: rules/common.smk.
# Package code: edaffect.signal.physio, edaffect.studies.maan.segments, edaffect.studies.maan.study, edaffect.models.maan.


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


rule maan_report:
    input:
        metrics=maan_table_runs("metrics.json"),
        predictions=maan_table_runs("predictions.csv"),
        paper=MAAN_PAPER_TABLES,
        ceilings=table_ceilings("maan"),
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
        model=MAAN["model"],
        segments=MAAN["segments"],
        synthetic=is_synthetic(MAAN_DATASET) if MAAN_ENABLED else True,
        ceiling=CEILING if "maan" in CEILING["tables"] else None,
        config_note=f"seed {config['seed']}; config: maan.*, experiments maan_* (docs/maan.md); config sha256 {CONFIG_HASH}",
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
