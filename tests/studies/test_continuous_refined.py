"""The refined-label trainer (edaffect.studies.continuous.refined) on hand-made frames whose
outcome is known without our code: features that name the class perfectly, a centred trace that
makes every
refined label equal the fixed class, listeners' terciles worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from edaffect.studies.continuous.frames import Frames
from edaffect.studies.continuous.refined import RefinedSettings, refined_fold, trial_classes

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SUBJECTS = [f"L{i}" for i in range(6)]
SONGS = [1, 2, 3]
FRAMES_PER_TRIAL = 12


def hand_made_frames(rng: np.random.Generator) -> tuple[Frames, dict[str, int]]:
    """Six listeners x three songs; the trial's class is the song's index (0, 1, 2); 24 features
    the class one-hot (eight copies) plus small noise, 8 pure noise (32 inputs: the thesis LSTM's
    hidden sizes are a half and a quarter of them); the arousal trace is 0.5 (centred zero)."""
    ids, subjects, stimuli, classes = [], [], [], {}
    for subject in SUBJECTS:
        for c, song in enumerate(SONGS):
            trial = f"{subject}_{song}"
            ids.append(trial)
            subjects.append(subject)
            stimuli.append(song)
            classes[trial] = c
    n = len(ids) * FRAMES_PER_TRIAL
    label = np.repeat([classes[t] for t in ids], FRAMES_PER_TRIAL)
    onehot = np.tile(np.eye(3)[label], 8) + 0.05 * rng.standard_normal((n, 24))
    feat = np.column_stack([onehot, rng.standard_normal((n, 8))])
    frames = Frames(
        trial_id=ids, subject=subjects, stimulus=stimuli,
        offsets=np.arange(len(ids) + 1) * FRAMES_PER_TRIAL,
        frame_time=np.tile(15.5 + 0.5 * np.arange(FRAMES_PER_TRIAL), len(ids)),
        valence=np.full(n, 0.5), arousal=np.full(n, 0.5),
        seq=feat.copy(), feat=feat, feature_names=[f"f{i}" for i in range(32)],
    )
    return frames, classes


def settings(epochs: int) -> RefinedSettings:
    return RefinedSettings(dimensions=["arousal"], s_values=[0.2], tau_step=0.08, epochs=epochs,
                           patience=epochs, lr=0.05, batch_size=4, dropout=0.0,
                           music_components=0, device="cpu")


def test_refined_fold_learns_a_class_the_features_name():
    """Separable classes: the fixed-label LSTM and every refined-label one (the refined labels
    equal the class here: trace − 0.5 = 0 shifted by ∓s, and every τ < s) classify every test
    frame right; predictions.csv is the test listeners' frames with their hand-set classes."""
    frames, classes = hand_made_frames(np.random.default_rng(0))
    fold = {"train": [t for t in frames.trial_id if t[:2] in ("L0", "L1", "L2", "L3")],
            "val": [t for t in frames.trial_id if t.startswith("L4")],
            "test": [t for t in frames.trial_id if t.startswith("L5")]}
    metrics, predictions, state = refined_fold(frames, fold, "arousal", classes, settings(60),
                                               seed=3, music_csv=None)
    # τ grid for s = 0.2, step 0.08, from 0.01 up to 0.9 s = 0.18: 0.01, 0.09, 0.17
    assert [row["tau"] for row in metrics["sweep"]] == pytest.approx([0.01, 0.09, 0.17])
    assert metrics["n_fits"] == 4 and len(state["configs"]) == 4
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (12, 3, 3)
    assert metrics["n_test_frames"] == 3 * FRAMES_PER_TRIAL
    assert metrics["train_class_counts"] == [4, 4, 4]
    assert len(predictions) == 3 * FRAMES_PER_TRIAL
    expected = predictions["trial_id"].map(lambda t: int(t.split("_")[1]) - 1)
    assert (predictions["y_true"] == expected).all()
    assert set(predictions["subject"]) == {"L5"}
    assert metrics["baseline_test_accuracy"] == pytest.approx(
        accuracy_score(predictions["y_true"], predictions["y_pred"]))
    assert metrics["baseline_test_accuracy"] == 1.0
    assert metrics["baseline_val_accuracy"] == 1.0
    for row in metrics["sweep"]:
        assert row["val_accuracy"] == 1.0 and row["test_accuracy"] == 1.0
    assert (predictions["y_pred_s0.20"] == predictions["y_true"]).all()


def test_refined_fold_untrained_does_not_classify_every_frame():
    """With zero epochs the same fold is not solved (the perfect accuracy above comes from the
    training), and the reported accuracy is still the one sklearn gets from the predictions."""
    frames, classes = hand_made_frames(np.random.default_rng(1))
    fold = {"train": [t for t in frames.trial_id if t[:2] in ("L0", "L1", "L2", "L3")],
            "val": [t for t in frames.trial_id if t.startswith("L4")],
            "test": [t for t in frames.trial_id if t.startswith("L5")]}
    metrics, predictions, _ = refined_fold(frames, fold, "arousal", classes, settings(0),
                                           seed=3, music_csv=None)
    assert metrics["baseline_epochs_run"] == 0
    acc = accuracy_score(predictions["y_true"], predictions["y_pred"])
    assert metrics["baseline_test_accuracy"] == pytest.approx(acc)
    assert acc < 1.0


def test_trial_classes_are_per_listener_terciles(tmp_path):
    """Listener A rates 1..6: terciles 0,0,1,1,2,2.  Listener B rates 9,9,5,5,1,1 (ties share
    the lower rank): 0-based ranks 4,4,2,2,0,0 -> classes 2,2,1,1,0,0."""
    trials = pd.DataFrame({
        "trial_id": [f"A{i}" for i in range(6)] + [f"B{i}" for i in range(6)],
        "subject": ["A"] * 6 + ["B"] * 6,
        "arousal": [1, 2, 3, 4, 5, 6, 9, 9, 5, 5, 1, 1],
    })
    trials.to_csv(tmp_path / "trials.csv", index=False)
    got = trial_classes(tmp_path / "trials.csv", "arousal")
    assert got == {"A0": 0, "A1": 0, "A2": 1, "A3": 1, "A4": 2, "A5": 2,
                   "B0": 2, "B1": 2, "B2": 1, "B3": 1, "B4": 0, "B5": 0}
