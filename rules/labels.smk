# Labels and folds: per-subject k-means labels (paper §4.2), subject-independent splits (§5.1),
# Tables 1-2 and Fig. 3.  Package code: edaffect.labels, edaffect.splits,
# edaffect.reporting.label_tables, edaffect.reporting.label_figure.

import hashlib


LABELS_N_INIT = int(config.get("labels", {}).get("kmeans_n_init", 10))
FIG3_DATASET = "pmemo" if "pmemo" in DATASETS else (DATASETS[0] if DATASETS else None)
# split.fractions plus every experiment's fraction and 1.0, so each training run finds its folds.
LABELS_FRACTIONS = sorted(
    {1.0}
    | {float(f) for f in config["split"].get("fractions", [1.0])}
    | {float(exp.get("fraction", 1.0)) for exp in EXPERIMENTS.values()}
)
# SHA-256 (12 hex digits) of the whole config as sorted JSON, printed in the table headers.
LABELS_CONFIG_SHA = hashlib.sha256(
    json.dumps(config, sort_keys=True, default=str).encode()
).hexdigest()[:12]


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
        group_by=lambda wc: (
            config["split"].get("group_by", "subject") if wc.dataset == "pmemo" else "subject"
        ),
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/splits/{dataset}.log",
    script:
        "../workflow_scripts/splits.py"


rule table1:
    input:
        labels=expand("results/{dataset}/labels.csv", dataset=DATASETS),
    output:
        csv="results/tables/table1.csv",
        md="results/tables/table1.md",
    params:
        table="table1",
        datasets=DATASETS,
        synthetic=[is_synthetic(d) for d in DATASETS],
        config_sha=LABELS_CONFIG_SHA,
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
        config_sha=LABELS_CONFIG_SHA,
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
        subject=config.get("figures", {}).get("fig3_subject"),
        seed=config["seed"],
        n_init=LABELS_N_INIT,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/fig3/fig3.log",
    script:
        "../workflow_scripts/fig3.py"
