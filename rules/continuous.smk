# Continuous emotion on PMEmo (issue 16; thesis ch. 3-4; docs/continuous.md): the dynamic V/A
# annotations aligned to each listener's EDA, per-frame inputs from the decomposition cache, the
# continuous-regression experiments (TCN on 1 - CCC, ridge, constant; trained by the fold runner,
# rules/training.smk, families in config model_families), the refined-labels LSTM sweep, the lag
# of the skin's response, and their tables and figures.  Package code: edaffect.studies.continuous.frames*,
# edaffect.datasets.pmemo_dynamic, edaffect.models.tcn / .lstm.

# Constants and input functions: rules/common.smk ("input functions of rules/continuous.smk").

ALL_TARGETS.extend(
    expand("results/tables/{table}.{ext}", table=CONTINUOUS_TABLES, ext=["csv", "md"])
    + expand("results/figures/{figure}.{ext}", figure=CONTINUOUS_FIGURES, ext=["png", "pdf"])
    + expand("results/report/{table}.html", table=CONTINUOUS_TABLES)
)


rule continuous_dynamic:
    input:
        trials=f"results/{CONTINUOUS_DATASET}/trials.csv",
        source=continuous_truth,
    output:
        dynamic=f"results/{CONTINUOUS_DATASET}/dynamic.csv",
    params:
        root=dataset_root(CONTINUOUS_DATASET),
    conda:
        "../envs/edaffect.yaml"
    log:
        f"results/logs/continuous_dynamic/{CONTINUOUS_DATASET}.log",
    script:
        "../workflow_scripts/continuous_dynamic.py"


rule continuous_song_splits:
    input:
        splits=f"results/{CONTINUOUS_DATASET}/splits.csv",
    output:
        splits=f"results/{CONTINUOUS_DATASET}/continuous/splits_song.csv",
        summary=f"results/{CONTINUOUS_DATASET}/continuous/splits_song_summary.csv",
    params:
        seed=config["seed"],
        song_groups=CONTINUOUS["song_groups"],
    conda:
        "../envs/edaffect.yaml"
    log:
        f"results/logs/continuous_song_splits/{CONTINUOUS_DATASET}.log",
    script:
        "../workflow_scripts/continuous_splits.py"


rule continuous_frames:
    input:
        dynamic=f"results/{CONTINUOUS_DATASET}/dynamic.csv",
        trials=f"results/{CONTINUOUS_DATASET}/trials.csv",
        # the decomposition stage's index: its per-trial cache is complete when this exists
        inputs_index=f"results/{CONTINUOUS_DATASET}/inputs_index.csv",
    output:
        frames=f"results/{CONTINUOUS_DATASET}/continuous/frames.npz",
        excluded=f"results/{CONTINUOUS_DATASET}/continuous/frames_excluded.csv",
    params:
        cache_dir=f"results/{CONTINUOUS_DATASET}/cache",
        crop_s=config["preprocessing"]["crop_s"],
        feature_window_s=CONTINUOUS["feature_window_s"],
        min_frames=CONTINUOUS["min_frames"],
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/edaffect.yaml"
    log:
        f"results/logs/continuous_frames/{CONTINUOUS_DATASET}.log",
    benchmark:
        f"results/benchmarks/continuous_frames/{CONTINUOUS_DATASET}.tsv"
    script:
        "../workflow_scripts/continuous_frames.py"


rule continuous_table:
    input:
        metrics=continuous_metrics,
        predictions=continuous_figure_predictions,
    output:
        csv="results/tables/continuous_table.csv",
        md="results/tables/continuous_table.md",
        png=report(
            "results/figures/continuous_traces.png",
            caption="../report/continuous_traces.rst",
            category="Continuous emotion",
            labels={"figure": "predicted vs annotated traces"},
        ),
        pdf="results/figures/continuous_traces.pdf",
    params:
        config=config,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/continuous_table/continuous_table.log",
    script:
        "../workflow_scripts/continuous_table.py"


rule refined_labels_table:
    input:
        metrics=refined_metrics,
    output:
        csv="results/tables/refined_labels_table.csv",
        md="results/tables/refined_labels_table.md",
        png=report(
            "results/figures/refined_accuracy.png",
            caption="../report/refined_accuracy.rst",
            category="Continuous emotion",
            labels={"figure": "accuracy vs s (thesis Fig. 4.3)"},
        ),
        pdf="results/figures/refined_accuracy.pdf",
    params:
        config=config,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/refined_labels_table/refined_labels_table.log",
    script:
        "../workflow_scripts/continuous_refined_table.py"


rule continuous_lag:
    input:
        dynamic=f"results/{CONTINUOUS_DATASET}/dynamic.csv",
        inputs_index=f"results/{CONTINUOUS_DATASET}/inputs_index.csv",
        truth=continuous_truth,
    output:
        curves=f"results/{CONTINUOUS_DATASET}/continuous/lag_curves.csv",
        csv="results/tables/lag_table.csv",
        md="results/tables/lag_table.md",
        png=report(
            "results/figures/lag_curve.png",
            caption="../report/lag_curve.rst",
            category="Continuous emotion",
            labels={"figure": "arousal to SCR-rate lag"},
        ),
        pdf="results/figures/lag_curve.pdf",
    params:
        cache_dir=f"results/{CONTINUOUS_DATASET}/cache",
        crop_s=config["preprocessing"]["crop_s"],
        lag=CONTINUOUS["lag"],
        config=config,
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/edaffect.yaml"
    log:
        f"results/logs/continuous_lag/{CONTINUOUS_DATASET}.log",
    benchmark:
        f"results/benchmarks/continuous_lag/{CONTINUOUS_DATASET}.tsv"
    script:
        "../workflow_scripts/continuous_lag.py"


# One HTML page per table for the Snakemake report (the table itself, with its caption).
for _table in CONTINUOUS_TABLES:

    rule:
        name:
            f"report_{_table}"
        input:
            md=f"results/tables/{_table}.md",
        output:
            html=report(
                f"results/report/{_table}.html",
                caption=f"../report/{_table}.rst",
                category="Continuous emotion",
                labels={"table": _table.replace("_", " ")},
            ),
        params:
            title=_table.replace("_", " "),
        conda:
            "../envs/edaffect.yaml"
        log:
            f"results/logs/report_table/{_table}.log",
        script:
            "../workflow_scripts/table_html.py"
