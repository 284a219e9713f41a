"""binary_metrics against scikit-learn (the oracle), including folds of one true class."""

import numpy as np
import pytest
from sklearn import metrics as skm

from edaffect.model_selection.metrics import binary_metrics


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    got = binary_metrics(y, p)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, p))
    assert got["f1"] == pytest.approx(skm.f1_score(y, p, zero_division=0))
    assert got["confusion_matrix"] == skm.confusion_matrix(y, p, labels=[0, 1]).tolist()


def test_one_class_prediction_scores_half_whatever_the_balance():
    y = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    assert binary_metrics(y, np.ones(10, int))["balanced_accuracy"] == 0.5
    assert binary_metrics(y, np.ones(10, int))["accuracy"] == 0.7
    # one true class only: the mean over the classes present
    assert binary_metrics(np.ones(4, int), np.array([1, 1, 0, 1]))["balanced_accuracy"] == 0.75
