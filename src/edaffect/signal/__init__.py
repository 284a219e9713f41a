"""Signal processing: EDA preprocessing and cvxEDA, EDA and music features, ECG/EEG physiology,
normalisation (numpy/scipy only, no torch)."""
