"""Training infrastructure: the fold runner, sequential and fold-vectorised loops, SGD, devices,
run-folder paths, the SVM and stimulus baselines."""
