"""A third-party reader on the synthetic AMIGOS folder as generated: TorchEEG's `AMIGOSDataset`
(torcheeg 1.1.2, the `test` extra) reads every participant file of the native folder and must
find the generator's trials, lengths and ratings, long videos included."""

import numpy as np
import pytest
from torcheeg.datasets import AMIGOSDataset

from edaffect.datasets.amigos import physio_trials
from edaffect.synthetic import generate

BASELINE = 5 * 128  # TorchEEG's defaults: num_baseline=5 chunks of baseline_chunk_size=128


@pytest.fixture(scope="module")
def amigos(tmp_path_factory):
    """A tiny synthetic AMIGOS (4 participants, some without the long videos, some ratings
    missing) and its ground truth."""
    out = tmp_path_factory.mktemp("amigos")
    generated = generate("amigos", out, {
        "n_subjects": 4, "duration_s": [8.0, 10.0], "long_duration_s": [9.0, 11.0],
        "long_video_rate": 0.5, "missing_rating_rate": 0.05,
    }, seed=5)
    truth = generated.ground_truth
    # the folder exercises both of TorchEEG's skip paths: empty long-video cells of the
    # participants who did not take part, and a trial whose rating is missing (1x0)
    long_takers = truth.loc[truth["video_type"] == "long", "subject"].unique()
    assert 0 < len(long_takers) < 4
    assert truth["rating_missing"].any()
    return generated.root, truth, out


def _read(root, io_path, **kwargs):
    return AMIGOSDataset(root_path=str(root), io_path=str(io_path), io_mode="pickle",
                         chunk_size=-1, skipped_subjects=[], verbose=False, **kwargs)


def test_torcheeg_reads_every_rated_trial_with_its_length_and_ratings(amigos, tmp_path):
    root, truth, _ = amigos
    dataset = _read(root, tmp_path / "io", num_trial=-1)  # all 20 cells: long videos too
    rated = truth[~truth["rating_missing"]]
    expected = {(int(r.subject[1:]), int(r.trial)): r for r in rated.itertuples()}
    assert len(dataset) == len(expected)
    ours = {(int(t.subject[1:]), t.trial): t.eeg for t in physio_trials(root)}
    seen = set()
    for index in range(len(dataset)):
        eeg, info = dataset[index]
        key = (int(info["subject_id"]), int(info["trial_id"]) + 1)  # TorchEEG counts from 0
        row = expected[key]
        seen.add(key)
        # chunk_size=-1: one sample per trial, everything after the 5-s baseline, 14 EEG rows
        assert eeg.shape == (14, row.n_samples - BASELINE)
        assert info["arousal"] == pytest.approx(row.rating_arousal, abs=1e-9)
        assert info["valence"] == pytest.approx(row.rating_valence, abs=1e-9)
        emotions = [info[k] for k in ("neutral", "disgust", "happiness", "surprise", "anger",
                                      "fear", "sadness")]
        assert sorted(emotions) == [0.0] * 6 + [1.0]
        np.testing.assert_array_equal(eeg, ours[key][:, BASELINE:])
    assert seen == set(expected)
    assert {t for _, t in seen if t > 16}, "no long-video trial was read"


def test_torcheeg_default_reads_the_short_videos_only(amigos, tmp_path):
    root, truth, out = amigos
    assert sorted(p.name for p in root.iterdir()) == [
        f"Data_Preprocessed_P{s:02d}.mat" for s in range(1, 5)]
    assert not (root / "ground_truth.csv").exists() and (out / "ground_truth.csv").is_file()
    dataset = _read(root, tmp_path / "io")  # TorchEEG's default num_trial=16
    short = truth[(truth["video_type"] == "short") & ~truth["rating_missing"]]
    assert len(dataset) == len(short)
    assert max(int(dataset[i][1]["trial_id"]) for i in range(len(dataset))) == 15
