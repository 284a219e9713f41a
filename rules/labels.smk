# Labels and folds: per-subject k-means labels (paper §4.2), subject-independent splits (§5.1),
# Tables 1-2 and Fig. 3.  Package code: edaffect.model_selection.labels, edaffect.model_selection.splits,
# edaffect.reporting.label_tables, edaffect.reporting.label_figure.


ALL_TARGETS.extend(
    expand("results/{dataset}/{name}.csv", dataset=DATASETS, name=["labels", "splits"])
    + expand("results/tables/table{n}.{ext}", n=[1, 2], ext=["csv", "md"])
    + (["results/figures/fig3.png", "results/figures/fig3.pdf"] if FIG3_DATASET else [])
)


rule labels:
    input:
        trials="results/{dataset}/trials.csv",
    output:
        labels="results/{dataset}/labels.csv",
    params:
        seed=config["seed"],
        n_init=LABELS_N_INIT,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/labels/{dataset}.log",
    script:
        "../workflow_scripts/labels.py"


rule splits:
    input:
        trials="results/{dataset}/trials.csv",
    output:
        splits="results/{dataset}/splits.csv",
        summary="results/{dataset}/splits_summary.csv",
    params:
        seed=config["seed"],
        n_folds=N_FOLDS,
        fractions=LABELS_FRACTIONS,
        # Song-disjoint folds only where trials are (listener, song) pairs: PMEmo. In DEAP and
        # AMIGOS every subject sees every video, so song-disjointness would empty the train set.
        group_by=split_group_by,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/splits/{dataset}.log",
    script:
        "../workflow_scripts/splits.py"


rule table1:
    input:
        labels=expand("results/{dataset}/labels.csv", dataset=DATASETS),
        # Table 1 also counts the trials that reach the model inputs (passed preprocessing)
        inputs_index=expand("results/{dataset}/inputs_index.csv", dataset=DATASETS),
    output:
        csv="results/tables/table1.csv",
        md="results/tables/table1.md",
    params:
        table="table1",
        datasets=DATASETS,
        synthetic=[is_synthetic(d) for d in DATASETS],
        config_sha=CONFIG_HASH,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/table1/table1.log",
    script:
        "../workflow_scripts/label_table.py"


use rule table1 as table2 with:
    output:
        csv="results/tables/table2.csv",
        md="results/tables/table2.md",
    params:
        table="table2",
        datasets=DATASETS,
        synthetic=[is_synthetic(d) for d in DATASETS],
        config_sha=CONFIG_HASH,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/table2/table2.log",


rule fig3:
    input:
        labels=f"results/{FIG3_DATASET}/labels.csv",
    output:
        png=report(
            "results/figures/fig3.png",
            caption="../report/fig3.rst",
            category="Figures",
            labels={"figure": "Fig. 3"},
        ),
        pdf="results/figures/fig3.pdf",
    params:
        dataset=FIG3_DATASET,
        subject=config["figures"]["fig3_subject"],
        seed=config["seed"],
        n_init=LABELS_N_INIT,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/fig3/fig3.log",
    script:
        "../workflow_scripts/fig3.py"
