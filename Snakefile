# edaffect: emotion recognition from EDA and music (RTCAN-1D, Res-SIN) as one dependency graph.
# Stages: synthetic data (native layouts) -> trial tables -> cvxEDA decomposition -> labels and
# folds -> per-fold training -> tables and figures.  See README.md and docs/architecture.md.


configfile: "config.yaml"


include: "rules/common.smk"


wildcard_constraints:
    dataset="|".join(DATASETS) if DATASETS else "none",
    dimension="valence|arousal",
    fold=r"\d+",
    batch=r"\d+",
    experiment=r"[A-Za-z0-9_\-]+",


rule all:
    input:
        all_targets,
    default_target: True


include: "rules/synthetic.smk"
include: "rules/trials.smk"
include: "rules/decomposition.smk"
include: "rules/labels.smk"
include: "rules/features.smk"
include: "rules/training.smk"
include: "rules/baselines.smk"
include: "rules/ressin.smk"
include: "rules/reporting.smk"
include: "rules/leakage.smk"
include: "rules/continuous.smk"
include: "rules/maan.smk"
