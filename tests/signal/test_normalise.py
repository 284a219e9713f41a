"""The z-score helper against scipy and scikit-learn (independent implementations)."""

from __future__ import annotations

import numpy as np
import scipy.stats
from sklearn.preprocessing import StandardScaler

from edaffect.signal.normalise import standardise, zscore


def test_zscore_matches_scipy_and_handles_flat_signals():
    x = np.random.default_rng(0).normal(3.0, 2.0, 500)
    np.testing.assert_allclose(zscore(x), scipy.stats.zscore(x), rtol=1e-12)
    np.testing.assert_array_equal(zscore(np.full(10, 4.0)), np.zeros(10))
    np.testing.assert_array_equal(zscore(x * 1e-12, min_std=1e-9), np.zeros(500))


def test_standardise_uses_training_rows_only_like_standard_scaler():
    rng = np.random.default_rng(1)
    train, test = rng.normal(5, 3, (40, 6)), rng.normal(-2, 1, (10, 6))
    train[:, 2] = 7.0  # constant column
    z_train, z_test = standardise(train, test, dtype=np.float64)
    scaler = StandardScaler().fit(train)  # constant column: scale 1, as ours
    np.testing.assert_allclose(z_train, scaler.transform(train), atol=1e-12)
    np.testing.assert_allclose(z_test, scaler.transform(test), atol=1e-12)
    test[3, 1] = np.nan
    assert standardise(train, test)[1][3, 1] == 0.0  # NaN -> the training mean
