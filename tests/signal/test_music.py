"""openSMILE ComParE_2016 music features on PMEmo's real MP3s; the csv path gives the same table."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from edaffect.signal import music

SONGS = ["108", "372", "634", "683"]


@pytest.fixture(scope="module")
def samples(data_dir):
    return data_dir / "pmemo-public-samples"


@pytest.fixture(scope="module")
def song_rows(samples, tmp_path_factory):
    """Per-song caches of the four real MP3s, written by the rule body (timed)."""
    out = tmp_path_factory.mktemp("music")
    paths, seconds = [], []
    for song in SONGS:
        start = time.perf_counter()
        music.write_song_features(samples / f"{song}.mp3", song, out / f"{song}.csv")
        seconds.append(time.perf_counter() - start)
        paths.append(out / f"{song}.csv")
    print(f"openSMILE seconds per song: {np.round(seconds, 2).tolist()}")
    return paths


def test_real_mp3s_give_6373_finite_functionals(song_rows):
    names = music.feature_names()
    assert len(names) == 6373 == len(set(names))
    rows = []
    for song, path in zip(SONGS, song_rows, strict=True):
        stimulus, columns, values = music._read_song_csv(path)
        assert stimulus == song and columns == names
        assert values.shape == (6373,) and np.isfinite(values).all()
        rows.append(values)
    # four different songs, four different feature vectors
    assert all(not np.allclose(rows[i], rows[j]) for i in range(4) for j in range(i + 1, 4))


def test_same_song_twice_is_identical(samples, song_rows):
    """A second extraction of a song equals the first (cached by the fixture) bit for bit at
    openSMILE's float32 precision (the cache's 9 significant digits round-trip float32)."""
    again = music.audio_features(samples / "634.mp3")
    assert again.dtype == np.float64
    _, columns, cached = music._read_song_csv(song_rows[SONGS.index("634")])
    assert columns == list(again.index)
    np.testing.assert_array_equal(cached.astype(np.float32), again.to_numpy().astype(np.float32))


def test_stereo_is_mixed_to_mono(samples, tmp_path):
    data, rate = sf.read(str(samples / "108.mp3"), dtype="float32", always_2d=True)
    assert data.shape[1] == 2, "the sample is stereo"
    mono, mono_rate = music.read_mono(samples / "108.mp3")
    assert mono_rate == rate
    np.testing.assert_allclose(mono, data.mean(axis=1), atol=1e-7)
    # a file whose channels differ: the features follow the mix, not the first channel
    seconds = 3 * rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(seconds) / rate).astype(np.float32)
    stereo = np.stack([tone, data[:seconds, 1]], axis=1)
    sf.write(tmp_path / "mix.wav", stereo, rate)
    sf.write(tmp_path / "left.wav", tone, rate)
    mixed = music.audio_features(tmp_path / "mix.wav").to_numpy()
    left = music.audio_features(tmp_path / "left.wav").to_numpy()
    assert not np.allclose(mixed, left)


def test_csv_path_gives_the_same_table(song_rows, tmp_path):
    trials = pd.DataFrame({"trial_id": ["a_683", "a_108", "b_108"], "stimulus": [683, 108, 108]})
    trials.to_csv(tmp_path / "trials.csv", index=False)
    from_audio = music.build_music_table(
        tmp_path / "trials.csv", tmp_path / "audio.csv", song_csvs=song_rows
    )
    assert list(from_audio["stimulus"]) == ["108", "683"]  # trials.csv's songs, numeric order
    assert list(from_audio.columns) == ["stimulus", *music.feature_names()]
    # the shipped csv: musicId + the same functionals, columns in another order
    shipped = from_audio.rename(columns={"stimulus": "musicId"})
    shuffled = ["musicId", *np.random.default_rng(0).permutation(music.feature_names())]
    shipped[shuffled].to_csv(tmp_path / "static_features.csv", index=False, float_format="%.9g")
    from_csv = music.build_music_table(
        tmp_path / "trials.csv", tmp_path / "csv.csv", static_csv=tmp_path / "static_features.csv"
    )
    pd.testing.assert_frame_equal(from_csv, from_audio, rtol=1e-8)
    on_disk = music.read_music_table(tmp_path / "csv.csv")
    assert on_disk.shape == (2, 6373) and list(on_disk.index) == ["108", "683"]


def test_csv_path_errors_name_the_problem(song_rows, tmp_path):
    table = music.merge_song_features(song_rows, SONGS).rename(columns={"stimulus": "musicId"})
    table.to_csv(tmp_path / "ok.csv", index=False)
    with pytest.raises(ValueError, match=r"lack 1 songs.*'999'"):
        music.read_static_features(tmp_path / "ok.csv", ["108", "999"])
    table.iloc[:, :-1].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match="6372 feature columns, expected 6373"):
        music.read_static_features(tmp_path / "short.csv", ["108"])
    bad = table.copy()
    bad.iloc[1, 5] = np.nan
    bad.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(ValueError, match="non-finite values, e.g. song 372"):
        music.read_static_features(tmp_path / "nan.csv", SONGS)


def test_source_choice(tmp_path, caplog):
    root = tmp_path / "pmemo"
    (root / "chorus").mkdir(parents=True)
    for song in ("1", "2"):
        (root / "chorus" / f"{song}.mp3").write_bytes(b"")
    assert music.choose_source(root, ["1", "2"]) == "audio"
    with pytest.raises(ValueError, match="static_features.csv does not exist"):
        music.choose_source(root, ["1", "2", "3"])
    (root / "features").mkdir()
    (root / "features" / "static_features.csv").write_text("musicId\n")
    with caplog.at_level(logging.WARNING):
        assert music.choose_source(root, ["1", "2", "3"]) == "csv"
    assert "2 of 3 songs have audio" in caplog.text
    assert music.choose_source(root, ["1", "2"], "csv") == "csv"
    with pytest.raises(ValueError, match=r"1 songs have no .*'3'"):
        music.choose_source(root, ["1", "2", "3"], "audio")
    (root / "chorus" / "2.wav").write_bytes(b"")
    assert music.find_audio(root, "2").name == "2.wav"  # wav preferred


def test_mp3_that_breaks_half_way_is_an_error_naming_file_and_position(samples, tmp_path):
    """A real MP3 whose second half is damaged: libsndfile decodes ~24 s, then gives up.  The
    error names the file and how far decoding got (oracle: soundfile's own header duration);
    no per-song cache is written and another song's cache stays as it was."""
    original = (samples / "108.mp3").read_bytes()
    half = len(original) // 2
    noise = np.random.default_rng(1).integers(0, 256, len(original) - half, dtype=np.uint8)
    damaged = tmp_path / "108.mp3"
    damaged.write_bytes(original[:half] + noise.tobytes())
    announced = sf.info(str(samples / "108.mp3")).duration
    with pytest.raises(ValueError) as info:
        music.read_mono(damaged)
    message = str(info.value)
    assert str(damaged) in message and "damaged or truncated" in message
    decoded = float(message.split("after ")[1].split(" s")[0])
    assert 0.3 * announced < decoded < 0.7 * announced
    assert f"of its {announced:.1f} s" in message
    other = tmp_path / "music" / "372.csv"
    other.parent.mkdir()
    other.write_text("kept\n")
    with pytest.raises(ValueError, match="cannot decode the audio after"):
        music.write_song_features(damaged, "108", tmp_path / "music" / "108.csv")
    assert sorted(p.name for p in other.parent.iterdir()) == ["372.csv"]
    assert other.read_text() == "kept\n"


def test_half_second_audio_is_refused_with_the_minimum_named(samples, tmp_path):
    """0.5 s of real music: refused (file, length, config key named), no cache written; with
    the minimum lowered the same file gives 6,373 finite functionals."""
    data, rate = sf.read(str(samples / "634.mp3"), dtype="float32", always_2d=True)
    clip = tmp_path / "634.wav"
    sf.write(clip, data[10 * rate: 10 * rate + rate // 2], rate)
    with pytest.raises(ValueError, match=r"634\.wav: the audio is 0\.50 s long, shorter than the "
                                         r"2 s minimum \(config baselines\.music\.min_audio_s\)"):
        music.write_song_features(clip, "634", tmp_path / "634.csv")
    assert not (tmp_path / "634.csv").exists()
    values = music.audio_features(clip, min_seconds=0.25).to_numpy()
    assert values.shape == (6373,) and np.isfinite(values).all()


def test_cache_with_the_old_timing_column_reads_the_same(song_rows, tmp_path):
    """A per-song cache written when it still held `extract_seconds` gives the same row."""
    lines = song_rows[0].read_text().splitlines()
    head, row = lines[0].split(","), lines[1].split(",")
    legacy = tmp_path / "legacy.csv"
    legacy.write_text(",".join([head[0], "extract_seconds", *head[1:]]) + "\n"
                      + ",".join([row[0], "1.25", *row[1:]]) + "\n")
    new, old = music._read_song_csv(song_rows[0]), music._read_song_csv(legacy)
    assert new[0] == old[0] and new[1] == old[1]
    np.testing.assert_array_equal(new[2], old[2])
