# SVM baselines of Table 3: linear SVM (C = baselines.svm_c) on the 128 hand-crafted EDA features
# or on the songs' openSMILE features, per (experiment, dataset, dimension, fold), on the same
# folds, labels and trials as the networks.  They are trained by the fold runner
# (rules/training.smk, family `svm` of edaffect.training.fold_runner); this stage asks for every fold.
# Package code: edaffect.training.baselines.  (The 3-layer CNN on the features is a network.)


SVM_EXPERIMENTS = sorted(n for n in EXPERIMENTS if EXPERIMENTS[n]["model"] == "svm")

ALL_TARGETS.extend(
    path
    for name in SVM_EXPERIMENTS
    for dataset in experiment_config(name)["datasets"]
    if dataset in DATASETS
    for path in fold_metrics(name, dataset)
)
