"""Labels, subject-independent folds, fold data and metrics."""
