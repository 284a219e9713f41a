"""The continuous report's numbers (edaffect.studies.continuous.report) on hand-made fold
metrics whose summaries are worked out by hand: which τ validation picks, the paired one-tailed
t-test's p
from the closed-form t distribution with 2 degrees of freedom, the CCC gain over the constant."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from edaffect.studies.continuous.report import continuous_numeric, planted_lags, refined_numeric


def refined_folds() -> pd.DataFrame:
    """Three folds, s = 0.2 with two τ each; validation prefers τ = 0.05 in folds 0 and 1 and
    τ = 0.15 in fold 2; s = 0.4 has one τ whose val accuracy beats s = 0.2 only in fold 2."""
    base = [0.50, 0.40, 0.45]
    sweeps = [
        [{"s": 0.2, "tau": 0.05, "val_accuracy": 0.7, "test_accuracy": 0.60},
         {"s": 0.2, "tau": 0.15, "val_accuracy": 0.6, "test_accuracy": 0.90},
         {"s": 0.4, "tau": 0.05, "val_accuracy": 0.5, "test_accuracy": 0.10}],
        [{"s": 0.2, "tau": 0.05, "val_accuracy": 0.8, "test_accuracy": 0.60},
         {"s": 0.2, "tau": 0.15, "val_accuracy": 0.1, "test_accuracy": 0.00},
         {"s": 0.4, "tau": 0.05, "val_accuracy": 0.2, "test_accuracy": 0.20}],
        [{"s": 0.2, "tau": 0.05, "val_accuracy": 0.3, "test_accuracy": 0.20},
         {"s": 0.2, "tau": 0.15, "val_accuracy": 0.6, "test_accuracy": 0.75},
         {"s": 0.4, "tau": 0.05, "val_accuracy": 0.9, "test_accuracy": 0.30}],
    ]
    return pd.DataFrame({"dimension": "arousal", "fold": [0, 1, 2],
                         "baseline_test_accuracy": base, "sweep": sweeps,
                         "n_test": [30, 30, 30], "n_train": [60, 60, 60]})


def test_refined_rows_take_the_validation_choice_and_test_it_against_the_baseline():
    out = refined_numeric(refined_folds()).set_index("s")
    assert list(out.index) == [0.0, "chosen", 0.2, 0.4]
    assert out.loc[0.0, "accuracy_mean"] == pytest.approx(0.45)
    # s = 0.2: validation picks τ 0.05, 0.05, 0.15 -> test 0.60, 0.60, 0.75
    assert out.loc[0.2, "accuracy_mean"] == pytest.approx(0.65)
    assert out.loc[0.2, "tau_median"] == pytest.approx(0.05)
    # chosen over every (s, τ): fold 0 s=0.2 τ=0.05 (0.60), fold 1 same (0.60), fold 2 s=0.4
    # (val 0.9 -> test 0.30); tau_median holds the chosen s
    assert out.loc["chosen", "accuracy_mean"] == pytest.approx(0.5)
    assert out.loc["chosen", "tau_median"] == pytest.approx(0.2)
    # s = 0.2 minus baseline: 0.10, 0.20, 0.30 -> mean 0.2, sd 0.1, t = 0.2 / (0.1 / √3);
    # with 2 degrees of freedom P(T > t) = 1/2 − t / (2 √(t² + 2))
    t = 0.2 / (0.1 / math.sqrt(3))
    assert out.loc[0.2, "p_one_tailed"] == pytest.approx(0.5 - t / (2 * math.sqrt(t * t + 2)),
                                                         rel=1e-9)
    assert out.loc[0.2, "corrected_diff"] == pytest.approx(0.2)
    assert out.loc[0.2, "corrected_ci_low"] < 0.2 < out.loc[0.2, "corrected_ci_high"]
    # s = 0.4 is below the baseline in every fold: one-tailed p of "better" above 1/2
    assert out.loc[0.4, "accuracy_mean"] == pytest.approx(0.2)
    assert out.loc[0.4, "p_one_tailed"] > 0.5 and out.loc[0.4, "corrected_diff"] < 0


def test_continuous_rows_compare_each_model_with_the_constant_fold_by_fold():
    rows = []
    for fold, (c_ccc, t_ccc) in enumerate(((0.0, 0.3), (0.1, 0.5), (0.05, 0.55))):
        for model, ccc in (("constant", c_ccc), ("tcn", t_ccc)):
            rows.append({"split": "subject", "experiment": f"cont_{model}", "model": model,
                         "dimension": "arousal",
                         "fold": fold, "test_ccc": ccc, "test_rmse": 0.2 - ccc / 10,
                         "test_pcc": ccc, "n_test": 10, "n_train": 40})
    out = continuous_numeric(pd.DataFrame(rows)).set_index("model")
    assert out.loc["tcn", "ccc_mean"] == pytest.approx(0.45)
    assert out.loc["tcn", "ccc_std"] == pytest.approx(np.sqrt(((0.15**2) + 0.05**2 + 0.1**2) / 2))
    assert out.loc["tcn", "n_test_trials"] == 30
    # per-fold gains 0.3, 0.4, 0.5
    assert out.loc["tcn", "ccc_vs_constant_diff"] == pytest.approx(0.4)
    assert out.loc["tcn", "ccc_vs_constant_ci_low"] > 0
    assert np.isnan(out.loc["constant"].get("ccc_vs_constant_p", np.nan))


def test_planted_lags_one_per_listener(tmp_path):
    truth = tmp_path / "ground_truth.csv"
    pd.DataFrame({"subject": ["007", "007", "12"], "music": [1, 2, 1],
                  "response_lag_s": [2.5, 2.5, 1.0]}).to_csv(truth, index=False)
    got = planted_lags(truth)
    assert got.to_dict("records") == [{"subject": "007", "lag_s": 2.5},
                                      {"subject": "12", "lag_s": 1.0}]
    pd.DataFrame({"subject": ["1"], "other": [0]}).to_csv(truth, index=False)
    assert planted_lags(truth) is None and planted_lags(tmp_path / "absent.csv") is None
