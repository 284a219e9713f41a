"""Readers on native-layout files written by hand here (not by the generators), bad inputs,
the trial table writer and a dry run of the workflow pointed at a hand-made real-data folder."""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

from edaffect.datasets import (
    EXCLUDED_COLUMNS,
    TRIAL_COLUMNS,
    DatasetError,
    read_dataset,
    write_trial_table,
)
from edaffect.datasets.pmemo import read_static_means

# ----------------------------------------------------------------------------- PMEmo by hand


def write_pmemo(root: Path) -> None:
    """Song 7: listeners 101 (5 samples), 102 (3 samples, then empty cells), 103 (flat);
    song 12: listeners 101 and 104 (104 has no rating). A stray file sits in EDA/."""
    (root / "EDA").mkdir(parents=True)
    (root / "annotations").mkdir()
    (root / "EDA" / "7_EDA.csv").write_text(
        "time(s),101,102,103\n"
        "0.00,1.5,2.25,3.0\n"
        "0.02,1.6,2.5,3.0\n"
        "0.04,1.7,,3.0\n"
        "0.06,1.65,,3.0\n"
        "0.08,1.55,,3.0\n"
    )
    (root / "EDA" / "12_EDA.csv").write_text(
        "time(s),101,104\n0.00,4.0,0.5\n0.02,4.5,0.6\n0.04,,0.7\n"
    )
    (root / "EDA" / "README.txt").write_text("not an EDA file\n")
    (root / "annotations" / "static_annotations_per_listener.csv").write_text(
        "musicId,subjectId,Arousal,Valence\n"
        "7,101,0.75,0.25\n7,102,0.5,0.625\n7,103,0.125,0.5\n12,101,1.0,0.875\n"
    )


def test_pmemo_reader_on_hand_written_folder(tmp_path, caplog):
    write_pmemo(tmp_path)
    with caplog.at_level(logging.WARNING):
        trials, excluded = read_dataset("pmemo", tmp_path)
    assert "README.txt" in caplog.text  # stray file: ignored with a warning
    assert [t.trial_id for t in trials] == ["101_7", "101_12", "102_7"]
    by_id = {t.trial_id: t for t in trials}
    np.testing.assert_array_equal(by_id["101_7"].eda, [1.5, 1.6, 1.7, 1.65, 1.55])
    np.testing.assert_array_equal(by_id["102_7"].eda, [2.25, 2.5])  # trailing empty cells
    np.testing.assert_array_equal(by_id["101_12"].eda, [4.0, 4.5])
    assert (by_id["101_7"].valence, by_id["101_7"].arousal) == (0.25, 0.75)
    assert (by_id["101_12"].valence, by_id["101_12"].arousal) == (0.875, 1.0)
    assert by_id["102_7"].fs == 50.0 and by_id["102_7"].stimulus == 7
    assert by_id["101_7"].source == str(tmp_path / "EDA" / "7_EDA.csv")
    reasons = {(e["subject"], e["trial"]): e["reason"] for e in excluded}
    assert reasons[("103", 7)].startswith("flat signal")
    assert reasons[("104", 12)].startswith("no rating of this listener")


def test_pmemo_interior_nan_kept(tmp_path):
    write_pmemo(tmp_path)
    (tmp_path / "EDA" / "7_EDA.csv").write_text(
        "time(s),101\n0.00,1.5\n0.02,\n0.04,1.7\n"
    )
    trials, _ = read_dataset("pmemo", tmp_path)
    eda = {t.trial_id: t.eda for t in trials}["101_7"]
    assert eda.shape == (3,) and np.isnan(eda[1])


def test_pmemo_truncated_file(tmp_path):
    write_pmemo(tmp_path)
    path = tmp_path / "EDA" / "7_EDA.csv"
    path.write_text(path.read_text()[:-9])  # cut inside the last line
    with pytest.raises(DatasetError, match=r"7_EDA\.csv: truncated or malformed: line 6"):
        read_dataset("pmemo", tmp_path)


def test_pmemo_non_numeric_values(tmp_path):
    write_pmemo(tmp_path)
    (tmp_path / "EDA" / "12_EDA.csv").write_text("time(s),101\n0.00,4.0\n0.02,oops\n")
    with pytest.raises(DatasetError, match=r"12_EDA\.csv: listener 101: non-numeric"):
        read_dataset("pmemo", tmp_path)


def test_pmemo_without_listener_columns(tmp_path):
    write_pmemo(tmp_path)
    (tmp_path / "EDA" / "12_EDA.csv").write_text("time(s)\n0.00\n")
    with pytest.raises(DatasetError, match=r"12_EDA\.csv: no listener column"):
        read_dataset("pmemo", tmp_path)


def test_pmemo_missing_per_listener_table(tmp_path):
    write_pmemo(tmp_path)
    (tmp_path / "annotations" / "static_annotations_per_listener.csv").unlink()
    with pytest.raises(DatasetError, match="static_annotations_per_listener.csv: per-listener"):
        read_dataset("pmemo", tmp_path)


def test_pmemo_empty_and_out_of_range_rating(tmp_path):
    write_pmemo(tmp_path)
    (tmp_path / "annotations" / "static_annotations_per_listener.csv").write_text(
        "musicId,subjectId,Arousal,Valence\n7,101,,0.25\n7,102,0.5,1.5\n12,101,1.0,0.875\n"
    )
    _, excluded = read_dataset("pmemo", tmp_path)
    reasons = {(e["subject"], e["trial"]): e["reason"] for e in excluded}
    assert reasons[("101", 7)] == "missing arousal rating"
    assert reasons[("102", 7)] == "valence rating 1.5 outside the scale 0-1"


def test_pmemo_duplicate_rating_row(tmp_path):
    write_pmemo(tmp_path)
    path = tmp_path / "annotations" / "static_annotations_per_listener.csv"
    path.write_text(path.read_text() + "7,101,0.5,0.5\n")
    with pytest.raises(DatasetError, match="listener 101 rated song 7 twice"):
        read_dataset("pmemo", tmp_path)


def test_real_pmemo_static_means_round_trip(tmp_path, data_dir):
    """The real public song means, written as static_annotations.csv, read back unchanged."""
    source = data_dir / "pmemo-public-samples/static_song_means.json"
    songs = json.loads(source.read_text())
    (tmp_path / "annotations").mkdir()
    table = pd.DataFrame(
        {"musicId": [s["id"] for s in songs], "Arousal(mean)": [s["a"] for s in songs],
         "Valence(mean)": [s["v"] for s in songs]}
    )
    table.to_csv(tmp_path / "annotations" / "static_annotations.csv", index=False)
    means = read_static_means(tmp_path)
    assert len(means) == len(songs) == 767
    song = means.set_index("musicId").loc[108]
    assert (song["valence_mean"], song["arousal_mean"]) == (0.863, 0.863)
    np.testing.assert_array_equal(means["valence_mean"], [s["v"] for s in songs])
    np.testing.assert_array_equal(means["arousal_mean"], [s["a"] for s in songs])


# ----------------------------------------------------------------------------- DEAP by hand


def deap_subject(n_trials: int = 4, n_samples: int = 64) -> dict:
    """A small DEAP-like subject: GSR (channel 36) as skin resistance in Ohm."""
    t = np.arange(n_samples)
    data = np.random.default_rng(0).normal(size=(n_trials, 40, n_samples))
    for i in range(n_trials):
        data[i, 36] = 2.0e5 + 1.0e3 * i + 50.0 * t  # 200 kOhm ~ 5 µS
    labels = np.array([[1.0 + i, 9.0 - i, 5.0, 5.0] for i in range(n_trials)])
    return {"data": data, "labels": labels}


def write_deap(root: Path, subjects: dict[str, dict]) -> Path:
    folder = root / "data_preprocessed_python"
    folder.mkdir(parents=True, exist_ok=True)
    for name, obj in subjects.items():
        with open(folder / f"{name}.dat", "wb") as f:
            pickle.dump(obj, f, protocol=2)
    return folder


def test_deap_reader_on_hand_written_pickles(tmp_path, caplog):
    s01, s02 = deap_subject(), deap_subject(n_trials=2)
    s01["data"][1, 36] = np.nan  # all-NaN GSR
    s01["labels"][2, 0] = np.nan  # empty valence rating
    s01["data"][3, 36] = 1.0e5  # flat
    folder = write_deap(tmp_path, {"s01": s01, "s02": s02})
    (folder / "participant_ratings.csv").write_text("stray\n")
    with caplog.at_level(logging.WARNING):
        trials, excluded = read_dataset("deap", tmp_path)
    assert "participant_ratings.csv" in caplog.text
    assert [t.trial_id for t in trials] == ["s01_1", "s02_1", "s02_2"]
    first = trials[0]
    np.testing.assert_allclose(first.eda, 1e6 / s01["data"][0, 36], rtol=1e-15)  # µS
    assert (first.valence, first.arousal, first.fs, first.n_samples) == (1.0, 9.0, 128.0, 64)
    assert trials[2].valence == 2.0 and trials[2].arousal == 8.0
    assert first.source == str(folder / "s01.dat")
    reasons = {e["trial"]: e["reason"] for e in excluded}
    assert reasons == {
        2: "all-NaN signal", 3: "missing valence rating", 4: reasons[4],
    } and reasons[4].startswith("flat signal")


def test_deap_non_positive_resistance_and_out_of_range_rating(tmp_path):
    s01 = deap_subject(n_trials=2)
    s01["data"][0, 36, 5] = 0.0
    s01["labels"][1, 1] = 9.5
    write_deap(tmp_path, {"s01": s01})
    trials, excluded = read_dataset("deap", tmp_path)
    assert not trials
    assert excluded[0]["reason"].startswith("non-positive skin resistance")
    assert excluded[1]["reason"] == "arousal rating 9.5 outside the scale 1-9"


def test_deap_truncated_pickle(tmp_path):
    folder = write_deap(tmp_path, {"s01": deap_subject()})
    data = (folder / "s01.dat").read_bytes()
    (folder / "s01.dat").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"s01\.dat: unreadable or truncated pickle"):
        read_dataset("deap", tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(data=s["data"][:, 0, :]), r"s01\.dat: 'data' has shape \(4, 64\)"),
        (lambda s: s.update(data=s["data"][:, :36, :]), r"s01\.dat: 'data' has 36 channels.*GSR"),
        (lambda s: s.update(labels=s["labels"][:3]), r"s01\.dat: 'labels' has shape \(3, 4\)"),
        (lambda s: s.pop("labels"), r"s01\.dat: expected a dict with keys 'data' and 'labels'"),
    ],
)
def test_deap_wrong_shapes(tmp_path, change, message):
    subject = deap_subject()
    change(subject)
    write_deap(tmp_path, {"s01": subject})
    with pytest.raises(DatasetError, match=message):
        read_dataset("deap", tmp_path)


# ----------------------------------------------------------------------------- AMIGOS by hand


def amigos_cells(n_samples: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """1x20 joined_data / labels_selfassessment cells; GSR in column 17 = 2 + 0.01 * k + t/100."""
    joined = np.empty((1, 20), dtype=object)
    labels = np.empty((1, 20), dtype=object)
    for k in range(20):
        if k < 16:
            trial = np.zeros((n_samples, 17))
            trial[:, 16] = 2.0 + 0.01 * k + np.arange(n_samples) / 100.0
            joined[0, k] = trial
            labels[0, k] = np.array([[1.0 + k / 2, 9.0 - k / 2, 5, 5, 3, 0, 1, 0, 0, 0, 0, 0]])
        else:
            joined[0, k] = np.zeros((0, 17))
            labels[0, k] = np.zeros((1, 0))
    return joined, labels


def test_amigos_reader_on_hand_written_mat(tmp_path):
    joined, labels = amigos_cells()
    joined[0, 0][5:9, 16] = np.nan  # a NaN run, kept
    labels[0, 1] = np.zeros((1, 0))  # missing rating: a 1x0 array
    joined[0, 2] = np.zeros((0, 17))  # empty recording
    joined[0, 3][:, 16] = np.nan  # all-NaN GSR
    folder = tmp_path / "Data_Preprocessed_P07"  # the real zip nests one folder per participant
    folder.mkdir()
    path = folder / "Data_Preprocessed_P07.mat"
    scipy.io.savemat(path, {"joined_data": joined, "labels_selfassessment": labels})
    trials, excluded = read_dataset("amigos", tmp_path)
    assert [t.trial for t in trials] == [1, *range(5, 17)]
    first = trials[0]
    assert first.trial_id == "P07_1" and first.source == str(path) and first.fs == 128.0
    np.testing.assert_array_equal(first.eda, joined[0, 0][:, 16])  # NaNs included
    assert np.isnan(first.eda[5:9]).all()
    assert (first.arousal, first.valence) == (1.0, 9.0)  # row = arousal, valence, ...
    assert (trials[1].arousal, trials[1].valence) == (3.0, 7.0)
    reasons = {e["trial"]: e["reason"] for e in excluded}
    assert reasons == {
        2: "missing self-assessment (empty 1x0 rating)",
        3: "empty recording (0 samples)",
        4: "all-NaN signal",
    }


def test_amigos_missing_gsr_column(tmp_path):
    joined, labels = amigos_cells()
    joined[0, 4] = joined[0, 4][:, :16]
    path = tmp_path / "Data_Preprocessed_P01.mat"
    scipy.io.savemat(path, {"joined_data": joined, "labels_selfassessment": labels})
    with pytest.raises(DatasetError, match=r"P01\.mat: trial 5: joined_data has 16 columns, GSR"):
        read_dataset("amigos", tmp_path)


def test_amigos_truncated_and_incomplete_files(tmp_path):
    joined, labels = amigos_cells()
    path = tmp_path / "Data_Preprocessed_P01.mat"
    scipy.io.savemat(path, {"joined_data": joined, "labels_selfassessment": labels})
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(DatasetError, match=r"P01\.mat: unreadable or truncated \.mat"):
        read_dataset("amigos", tmp_path)
    scipy.io.savemat(path, {"joined_data": joined})
    with pytest.raises(DatasetError, match="variable 'labels_selfassessment' missing"):
        read_dataset("amigos", tmp_path)


# ----------------------------------------------------------------------------- shared


def test_unknown_dataset_and_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'seed'"):
        read_dataset("seed", tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset("deap", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no DEAP sNN.dat file found"):
        read_dataset("deap", tmp_path)


def test_write_trial_table(tmp_path):
    write_pmemo(tmp_path / "pmemo")
    out = tmp_path / "out"
    table = write_trial_table(
        "pmemo", tmp_path / "pmemo", out / "trials.csv", out / "raw_eda.npz",
        out / "trials_excluded.csv",
    )
    written = pd.read_csv(out / "trials.csv", dtype={"subject": str})
    assert list(written.columns) == TRIAL_COLUMNS
    assert list(written["trial_id"]) == ["101_7", "101_12", "102_7"] == list(table["trial_id"])
    assert list(written["n_samples"]) == [5, 2, 2]
    raw = np.load(out / "raw_eda.npz")
    assert sorted(raw.files) == sorted(written["trial_id"])
    assert raw["102_7"].dtype == np.float64
    np.testing.assert_array_equal(raw["102_7"], [2.25, 2.5])
    excluded = pd.read_csv(out / "trials_excluded.csv")
    assert list(excluded.columns) == EXCLUDED_COLUMNS
    assert set(excluded["stage"]) == {"read"} and len(excluded) == 2


def test_workflow_plans_real_data_folder(tmp_path, repo_root):
    """An extra --configfile pointing datasets.deap.root at a hand-made folder with
    synthetic: false plans the trial table from that folder and no generator job."""
    write_deap(tmp_path / "deap", {"s01": deap_subject()})
    extra = tmp_path / "real.yaml"
    extra.write_text(f"datasets:\n  deap:\n    root: {tmp_path / 'deap'}\n    synthetic: false\n")
    cmd = [
        str(Path(sys.executable).parent / "snakemake"), "-n", "--forcerun", "trial_table",
        "--configfile", str(extra), "--", "results/deap/trials.csv",
    ]
    done = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "trial_table" in done.stdout and "synthesize_dataset" not in done.stdout
    extra.write_text(
        f"datasets:\n  deap:\n    root: {tmp_path / 'missing'}\n    synthetic: false\n"
    )
    done = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "datasets.deap.root" in done.stdout + done.stderr


def test_amigos_wrong_shapes_and_stray_file(tmp_path, caplog):
    joined, labels = amigos_cells()
    joined[0, 6] = np.arange(10.0)[None, None, :]  # a 3-D cell: not (samples, 17)
    path = tmp_path / "Data_Preprocessed_P02.mat"
    scipy.io.savemat(path, {"joined_data": joined, "labels_selfassessment": labels})
    (tmp_path / "Metadata.xlsx").write_text("stray")
    with caplog.at_level(logging.WARNING), pytest.raises(
        DatasetError, match=r"P02\.mat: trial 7: joined_data cell has shape \(1, 1, 10\)"
    ):
        read_dataset("amigos", tmp_path)
    assert "Metadata.xlsx" in caplog.text
    joined, labels = amigos_cells()
    scipy.io.savemat(path, {"joined_data": joined[:, :10], "labels_selfassessment": labels})
    with pytest.raises(DatasetError, match=r"'joined_data' should be a 1x20 cell array"):
        read_dataset("amigos", tmp_path)


# ----------------------------------------------------------------------------- real PMEmo demo


def write_demo_pmemo(data_dir: Path, root: Path, scale: str = "unit") -> dict[int, dict]:
    """A native-layout PMEmo2019 folder from the real public demo (tests/data): per song
    EDA/{musicId}_EDA.csv with the demo's own time column (10-13 Hz) and its 4 listeners, the
    song means as static_annotations.csv, and, since the demo has no per-listener ratings, each
    listener rated with the song mean (on 0-1, or on 1-9 for scale="nine")."""
    (root / "EDA").mkdir(parents=True)
    (root / "annotations").mkdir()
    songs, rows = {}, []
    for path in sorted((data_dir / "pmemo-public-samples").glob("[0-9]*.json")):
        song = json.loads(path.read_text())
        songs[song["id"]] = song
        eda = song["eda"]
        table = pd.DataFrame({"time(s)": eda["t"]})
        for subject in eda["subjects"]:
            table[str(subject["id"])] = subject["values"]
            v, a = song["valence_mean"], song["arousal_mean"]
            if scale == "nine":
                v, a = 1 + 8 * v, 1 + 8 * a
            rows.append((song["id"], str(subject["id"]), a, v))
        table.to_csv(root / "EDA" / f"{song['id']}_EDA.csv", index=False)
    pd.DataFrame(
        [(i, s["arousal_mean"], s["valence_mean"]) for i, s in songs.items()],
        columns=["musicId", "Arousal(mean)", "Valence(mean)"],
    ).to_csv(root / "annotations" / "static_annotations.csv", index=False)
    pd.DataFrame(rows, columns=["musicId", "subjectId", "Arousal", "Valence"]).to_csv(
        root / "annotations" / "static_annotations_per_listener.csv", index=False
    )
    return songs


def test_real_pmemo_demo_reaches_model_inputs_at_its_own_rate(tmp_path, data_dir, caplog):
    """The real demo EDA (resampled by the demo to 10-13 Hz) is read at the rate of its time
    column (not stamped 50 Hz, which made 48-s recordings 12 s long and dropped every trial) and
    all 16 trials reach the model inputs through the trial table and the decomposition stage."""
    from edaffect.signal.decomposition_batches import merge_batches, run_batch
    from edaffect.signal.preprocessing import PreprocessSettings, load_components

    root = tmp_path / "PMEmo2019"
    songs = write_demo_pmemo(data_dir, root)
    out = tmp_path / "results"
    with caplog.at_level(logging.INFO):
        table = write_trial_table("pmemo", tmp_path, out / "trials.csv", out / "raw_eda.npz",
                                  out / "trials_excluded.csv")  # the parent folder works too
    assert len(table) == 16 and table["subject"].nunique() == 16
    for music_id, song in songs.items():
        t = np.asarray(song["eda"]["t"])
        expected = (len(t) - 1) / (t[-1] - t[0])  # 12.2, 10.0, 13.3 Hz
        rows = table[table["stimulus"] == music_id]
        np.testing.assert_allclose(rows["fs"], expected, rtol=1e-4)
        np.testing.assert_allclose((rows["n_samples"] - 1) / rows["fs"], t[-1] - t[0],
                                   rtol=1e-4)
    assert {round(fs) for fs in table["fs"]} == {10, 12, 13}
    assert "sampling rates" in caplog.text
    settings = PreprocessSettings(crop_s=3.0, min_duration_s=10.0, length=128)
    batch = out / "batch0.npz"
    run_batch(out / "raw_eda.npz", out / "trials.csv", 0, 100, settings, out / "cache", batch)
    n = merge_batches([batch], out / "trials.csv", out / "trials_excluded.csv",
                      out / "inputs.npy", out / "inputs_index.csv", out / "excluded.csv")
    assert n == 16 and np.load(out / "inputs.npy").shape == (16, 3, 128)
    for row in table.itertuples():
        comp = load_components(out / "cache", row.trial_id)
        assert comp.fs == row.fs  # solved at the file's own rate
        assert comp.eda.size == row.n_samples - round(3.0 * row.fs)


def test_pmemo_ratings_on_nine_point_scale(tmp_path, data_dir, caplog):
    write_demo_pmemo(data_dir, tmp_path, scale="nine")
    with caplog.at_level(logging.INFO):
        trials, excluded = read_dataset("pmemo", tmp_path)
    assert "1-9 scale" in caplog.text and "(x - 1) / 8" in caplog.text
    assert len(trials) == 16 and not excluded
    by_song = {t.stimulus: t for t in trials}
    assert by_song[372].valence == pytest.approx(0.175) and by_song[372].arousal == pytest.approx(
        0.825)
    unit, _ = read_dataset("pmemo", tmp_path, {"rating_scale": "unit"})  # forced: out of range
    assert not unit
    trials, excluded = read_dataset("pmemo", tmp_path, {"rating_scale": "unit"})
    assert excluded[0]["reason"].endswith("outside the scale 0-1")
    with pytest.raises(DatasetError, match="rating_scale 'ten' unknown"):
        read_dataset("pmemo", tmp_path, {"rating_scale": "ten"})


@pytest.mark.parametrize(
    ("header", "times", "fs"),
    [
        ("time(s)", [i / 25 for i in range(600)], 25.0),
        ("time(ms)", [i * 40 for i in range(600)], 25.0),
        ("", list(range(600)), 50.0),  # a sample index: PMEmo's documented 50 Hz
        ("time", [round(i * 49.16 / 599, 2) for i in range(600)], 12.1847),  # rounded stamps
    ],
)
def test_pmemo_rate_from_time_column(tmp_path, header, times, fs):
    write_pmemo(tmp_path)
    x = 2.0 + np.sin(np.arange(600) / 30.0)
    pd.DataFrame({header: times, "101": x}).to_csv(tmp_path / "EDA" / "7_EDA.csv", index=False)
    trials, _ = read_dataset("pmemo", tmp_path)
    rates = {t.trial_id: t.fs for t in trials}
    assert rates["101_7"] == pytest.approx(fs, rel=1e-4)
    assert rates["101_12"] == 50.0  # the other file keeps its own rate


@pytest.mark.parametrize(
    ("times", "message"),
    [
        ([0.0, 0.02, 0.04, 0.2, 0.22, 0.24], r"7_EDA\.csv: irregular time column 'time\(s\)': "
         r"step\(s\) at line\(s\) 5 \(e\.g\. 0\.16 s before line 5\) differ from the typical "
         r"0\.02 s"),
        ([0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15],  # 50 Hz, then 100 Hz
         r"line\(s\) 4, 5, 6, 7, 8 \.\.\. \(7 lines\) are up to 1\.67 samples off a uniform"),
        ([0.0, 0.02, 0.04, 0.04, 0.06, 0.08], r"time does not increase at line\(s\) 5"),
        ([0.0, 0.02, None, 0.06, 0.08, 0.1], r"empty or non-numeric time at line\(s\) 4"),
    ],
)
def test_pmemo_irregular_time_column(tmp_path, times, message):
    write_pmemo(tmp_path)
    frame = pd.DataFrame({"time(s)": times, "101": np.linspace(1, 2, len(times))})
    frame.to_csv(tmp_path / "EDA" / "7_EDA.csv", index=False)
    with pytest.raises(DatasetError, match=message):
        read_dataset("pmemo", tmp_path)


def test_pmemo_duplicated_listener_columns(tmp_path):
    write_pmemo(tmp_path)
    (tmp_path / "EDA" / "7_EDA.csv").write_text(
        "time(s),101,102,101\n0.00,1.5,2.0,1.4\n0.02,1.6,2.1,1.5\n"
    )
    with pytest.raises(DatasetError, match=r"7_EDA\.csv: listener column\(s\) \['101'\] appear "
                                           "more than once"):
        read_dataset("pmemo", tmp_path)


def test_pmemo_non_numeric_cell_names_line(tmp_path):
    write_pmemo(tmp_path)
    (tmp_path / "EDA" / "12_EDA.csv").write_text(
        "time(s),101,104\n0.00,4.0,0.5\n0.02,4.5,0.6\n0.04,4.7,1,2\n"
    )
    with pytest.raises(DatasetError, match=r"12_EDA\.csv: truncated or malformed: line 4"):
        read_dataset("pmemo", tmp_path)
    (tmp_path / "EDA" / "12_EDA.csv").write_text(
        "time(s),101,104\n0.00,4.0,0.5\n0.02,4.5,0.6\n0.04,4.7,0.6 uS\n"
    )
    with pytest.raises(DatasetError, match=r"12_EDA\.csv: listener 104: non-numeric EDA value "
                                           r"'0\.6 uS' at line 4"):
        read_dataset("pmemo", tmp_path)


def test_pmemo_rated_listener_without_eda(tmp_path, caplog):
    write_pmemo(tmp_path)
    path = tmp_path / "annotations" / "static_annotations_per_listener.csv"
    path.write_text(path.read_text() + "7,999,0.5,0.5\n12,999,0.25,0.75\n12,102,0.5,0.5\n")
    with caplog.at_level(logging.WARNING):
        trials, excluded = read_dataset("pmemo", tmp_path)
    assert "1 listener(s)" in caplog.text and "999" in caplog.text
    assert len(trials) == 3  # unchanged
    reasons = {(e["subject"], e["trial"]): e["reason"] for e in excluded}
    assert reasons[("999", 7)] == reasons[("999", 12)] == (
        "rated, but no EDA recording of this listener in any EDA file")
    assert reasons[("102", 12)] == (
        "rated, but no EDA recording of this listener in EDA/12_EDA.csv")
    assert {e["file"] for e in excluded if e["subject"] == "999"} == {str(path)}


def test_dataset_root_that_is_a_file(tmp_path):
    root = tmp_path / "PMEmo2019.zip"
    root.write_bytes(b"PK\x03\x04")
    for name in ("pmemo", "deap"):
        with pytest.raises(DatasetError, match=rf"PMEmo2019\.zip: dataset root for '{name}' is "
                                               "a file"):
            read_dataset(name, root)


def test_deap_with_32_channels(tmp_path):
    subject = deap_subject()
    subject["data"] = subject["data"][:, :32, :]  # EEG only: the peripheral channels are gone
    write_deap(tmp_path, {"s01": subject})
    with pytest.raises(DatasetError, match=r"s01\.dat: 'data' has 32 channels, expected 40 "
                                           r"\(GSR is channel index 36\)"):
        read_dataset("deap", tmp_path)


def test_config_with_typo_in_dataset_name(repo_root):
    import copy

    import yaml
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    bad = copy.deepcopy(config)
    bad["datasets"]["pmmeo"] = bad["datasets"].pop("pmemo")
    with pytest.raises(WorkflowError, match=r"'pmmeo' was unexpected"):
        validate(bad, str(repo_root / "config/schema.yaml"))
    typo = copy.deepcopy(config)
    typo["datasets"]["pmemo"]["rating_scale"] = "1-9"
    with pytest.raises(WorkflowError, match="rating_scale"):
        validate(typo, str(repo_root / "config/schema.yaml"))
    good = copy.deepcopy(config)
    good["datasets"]["pmemo"].pop("rating_scale", None)
    validate(good, str(repo_root / "config/schema.yaml"))
    assert good["datasets"]["pmemo"]["rating_scale"] == "auto"  # the schema's default


def test_every_trial_excluded_fails_with_reasons_and_keeps_exclusions(tmp_path):
    """The PMEmo case of issue 19: nothing usable -> the error names the top reasons with their
    counts, and trials_excluded.csv (plus a .failed.csv copy that Snakemake will not delete) is
    written; no model input at all after preprocessing fails the same way."""
    from edaffect.signal.decomposition_batches import merge_batches, run_batch
    from edaffect.signal.preprocessing import PreprocessSettings

    write_pmemo(tmp_path / "pmemo")
    ratings = tmp_path / "pmemo" / "annotations" / "static_annotations_per_listener.csv"
    ratings.write_text("musicId,subjectId,Arousal,Valence\n7,101,0.5,\n7,102,0.5,\n")
    out = tmp_path / "out"
    with pytest.raises(DatasetError, match=r"no usable trial found for dataset 'pmemo': 5 "
                                           r"trial\(s\) excluded, most often: 2 x no rating of "
                                           r"this listener .*; 2 x missing valence rating; 1 x "
                                           r"flat signal \(all reasons in .*failed\.csv\)"):
        write_trial_table("pmemo", tmp_path / "pmemo", out / "trials.csv", out / "raw.npz",
                          out / "trials_excluded.csv")
    for path in (out / "trials_excluded.csv", out / "trials_excluded.failed.csv"):
        assert len(pd.read_csv(path)) == 5
    # readable trials, but all too short for the model inputs
    write_pmemo(tmp_path / "short")
    write_trial_table("pmemo", tmp_path / "short", out / "trials.csv", out / "raw.npz",
                      out / "trials_excluded.csv")
    assert not (out / "trials_excluded.failed.csv").exists()  # removed by the successful run
    run_batch(out / "raw.npz", out / "trials.csv", 0, 10, PreprocessSettings(length=16),
              out / "cache", out / "b.npz")
    with pytest.raises(ValueError, match=r"no trial reached the model inputs: 5 trial\(s\) "
                                         r"excluded, most often: 3 x too short after dropping"):
        merge_batches([out / "b.npz"], out / "trials.csv", out / "trials_excluded.csv",
                      out / "inputs.npy", out / "index.csv", out / "excluded.csv")
    assert len(pd.read_csv(out / "excluded.failed.csv")) == 5
