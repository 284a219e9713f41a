"""Music features of the stimuli: openSMILE ComParE_2016 functionals (6,373 per song).

Two sources give the same table (`stimulus` + the 6,373 functionals in openSMILE's order):
the song's audio (`{root}/chorus/{musicId}.wav|mp3`), processed here, or PMEmo's shipped
`features/static_features.csv` when no audio is available.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic

log = logging.getLogger(__name__)

N_MUSIC_FEATURES = 6373
AUDIO_EXTENSIONS = ("wav", "mp3", "flac", "ogg")
STATIC_FEATURES_CSV = "features/static_features.csv"
# Shortest chorus accepted (default of config baselines.music.min_audio_s): a guard against
# broken or wrong files, far below PMEmo's chorus excerpts (tens of seconds).
MIN_AUDIO_S = 2.0


@lru_cache(maxsize=1)
def _smile():
    """One openSMILE extractor per process (building it parses the config: ~0.2 s)."""
    import opensmile

    return opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016,
        feature_level=opensmile.FeatureLevel.Functionals,
    )


def feature_names() -> list[str]:
    """The 6,373 ComParE_2016 functional names in openSMILE's order."""
    names = list(_smile().feature_names)
    if len(names) != N_MUSIC_FEATURES:
        raise RuntimeError(f"openSMILE ComParE_2016 gives {len(names)} functionals, expected 6373")
    return names


def find_audio(root: str | Path, stimulus: str) -> Path | None:
    """The chorus audio of one song (`{root}/chorus/{stimulus}.{wav,mp3,...}`), or None."""
    for ext in AUDIO_EXTENSIONS:
        path = Path(root) / "chorus" / f"{stimulus}.{ext}"
        if path.is_file():
            return path
    return None


def _decoded_seconds(path: str | Path) -> tuple[float, float]:
    """(seconds decoded before the decoder fails, seconds the header announces): reads the
    file block by block to say where a damaged file breaks."""
    import soundfile as sf

    decoded = 0
    with sf.SoundFile(str(path)) as handle:
        rate, announced = handle.samplerate, handle.frames
        with contextlib.suppress(Exception):
            for block in handle.blocks(blocksize=1 << 16, always_2d=True):
                decoded += block.shape[0]
    return decoded / rate, announced / rate


def read_mono(path: str | Path, min_seconds: float = MIN_AUDIO_S) -> tuple[np.ndarray, int]:
    """Audio as a float32 mono signal (channels averaged) and its sample rate.

    openSMILE reads only the first channel of a multi-channel signal, so stereo is mixed down
    here: the features then describe the whole mix, not the left channel.  A file the decoder
    gives up on part-way (a damaged MP3) or one shorter than `min_seconds` is an error naming
    the file, never features of a fragment.
    """
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError/RuntimeError subclasses
        where = ""
        with contextlib.suppress(Exception):
            decoded, announced = _decoded_seconds(path)
            where = f" after {decoded:.1f} s of its {announced:.1f} s"
        raise ValueError(
            f"{path}: cannot decode the audio{where} ({err}); the file is damaged or truncated: "
            "replace or re-encode it"
        ) from err
    if data.shape[0] == 0:
        raise ValueError(f"{path}: audio file holds no samples")
    seconds = data.shape[0] / rate
    if seconds < min_seconds:
        raise ValueError(
            f"{path}: the audio is {seconds:.2f} s long, shorter than the {min_seconds:g} s "
            "minimum (config baselines.music.min_audio_s); a chorus excerpt lasts tens of "
            "seconds, so this is a broken or wrong file (openSMILE's functionals of so short a "
            "clip are degenerate: at 0.5 s dozens are exactly 0, under 0.1 s all are NaN)"
        )
    mono = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    if not np.all(np.isfinite(mono)):
        raise ValueError(f"{path}: audio holds non-finite samples")
    return mono, int(rate)


def audio_features(path: str | Path, min_seconds: float = MIN_AUDIO_S) -> pd.Series:
    """ComParE_2016 functionals of one audio file (stereo mixed to mono, native sample rate)."""
    signal, rate = read_mono(path, min_seconds)
    frame = _smile().process_signal(signal, rate)
    values = frame.iloc[0].to_numpy(dtype=np.float64)
    if values.shape[0] != N_MUSIC_FEATURES:
        raise ValueError(f"{path}: openSMILE gave {values.shape[0]} functionals, expected 6373")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        names = [frame.columns[i] for i in bad[:5]]
        raise ValueError(f"{path}: {bad.size} non-finite openSMILE functionals, e.g. {names}")
    return pd.Series(values, index=list(frame.columns), name=str(Path(path).stem))


def song_feature_row(
    audio: str | Path, stimulus: str, min_seconds: float = MIN_AUDIO_S
) -> pd.DataFrame:
    """One song's cached row: `stimulus` and the 6,373 functionals (the extraction time goes to
    the rule's log only, so that the cache holds data, not run metadata)."""
    start, cpu = time.perf_counter(), time.process_time()
    features = audio_features(audio, min_seconds)
    seconds = time.perf_counter() - start
    log.info(
        "openSMILE on %s (%s): %.2f s wall, %.2f s CPU",
        stimulus, audio, seconds, time.process_time() - cpu,
    )
    row = pd.DataFrame([features.to_numpy()], columns=features.index)
    row.insert(0, "stimulus", str(stimulus))
    return row


def write_song_features(
    audio: str | Path, stimulus: str, out_csv: str | Path, min_seconds: float = MIN_AUDIO_S
) -> None:
    """Rule body of `music_song`: one song's functionals to its per-song cache csv (written
    kill-safe: a failed or killed song leaves no cache and the other songs' caches stand)."""
    row = song_feature_row(audio, stimulus, min_seconds)
    atomic.to_csv(row, out_csv, index=False, float_format="%.9g")


# Older per-song caches hold the extraction time as their second column; it is skipped on reading.
LEGACY_TIMING_COLUMN = "extract_seconds"


def _read_song_csv(path: str | Path) -> tuple[str, list[str], np.ndarray]:
    """One per-song cache: (stimulus, feature names, values). Parsed by hand:
    pandas needs ~0.4 s for a 6,374-column header, this ~5 ms."""
    with open(path) as handle:
        header = handle.readline().rstrip("\n").split(",")
        values = handle.readline().rstrip("\n").split(",")
        extra = handle.readline().strip()
    if header[:2] == ["stimulus", LEGACY_TIMING_COLUMN]:  # a cache written before the timing
        header, values = header[:1] + header[2:], values[:1] + values[2:]  # moved to the log
    if header[:1] != ["stimulus"] or len(header) != N_MUSIC_FEATURES + 1:
        raise ValueError(f"{path}: expected columns stimulus + 6373 functionals")
    if len(values) != len(header) or extra:
        raise ValueError(f"{path}: expected exactly one row of {len(header)} values")
    try:
        numbers = np.asarray(values[1:], dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: non-numeric feature value ({err})") from err
    return values[0], header[1:], numbers


def merge_song_features(song_csvs: Iterable[str | Path], stimuli: Sequence[str]) -> pd.DataFrame:
    """The music table from per-song caches, rows in `stimuli` order."""
    ids, rows = [], []
    names: list[str] | None = None
    for path in song_csvs:
        stimulus, columns, values = _read_song_csv(path)
        if names is None:
            names = columns
        elif columns != names:
            raise ValueError(f"{path}: feature columns differ from the other songs' caches")
        ids.append(stimulus)
        rows.append(values)
    if names is None:
        raise ValueError("no per-song music feature files given")
    return _finish(ids, names, np.vstack(rows), stimuli, source="audio")


def read_static_features(csv_path: str | Path, stimuli: Sequence[str]) -> pd.DataFrame:
    """The music table from PMEmo's `features/static_features.csv` (`musicId` + 6,373)."""
    table = pd.read_csv(csv_path, dtype={"musicId": str})
    if "musicId" not in table.columns:
        raise ValueError(f"{csv_path}: no musicId column (columns start {list(table.columns[:3])})")
    table["musicId"] = table["musicId"].str.strip()
    table = table.rename(columns={"musicId": "stimulus"})
    n_features = table.shape[1] - 1
    if n_features != N_MUSIC_FEATURES:
        raise ValueError(f"{csv_path}: {n_features} feature columns, expected 6373 (ComParE_2016)")
    duplicated = table["stimulus"][table["stimulus"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{csv_path}: songs listed twice: {duplicated[:10]}")
    names = feature_names()
    columns = [str(c) for c in table.columns[1:]]
    values = table.iloc[:, 1:].to_numpy(dtype=np.float64)
    if set(columns) == set(names):
        position = {name: i for i, name in enumerate(columns)}
        values = values[:, [position[name] for name in names]]
        columns = names
    else:
        unknown = sorted(set(columns) - set(names))
        log.warning(
            "%s: %d column names differ from openSMILE's ComParE_2016 names (e.g. %s); "
            "keeping the file's names and order", csv_path, len(unknown), unknown[:3],
        )
    return _finish(list(table["stimulus"]), columns, values, stimuli, source=str(csv_path))


def _finish(
    ids: Sequence[str], columns: Sequence[str], values: np.ndarray, stimuli: Sequence[str],
    source: str,
) -> pd.DataFrame:
    """The table of the study's songs in `stimuli` order; every one present, values finite."""
    wanted = list(dict.fromkeys(str(s) for s in stimuli))
    position = {str(s): i for i, s in enumerate(ids)}
    missing = [s for s in wanted if s not in position]
    if missing:
        raise ValueError(
            f"music features ({source}) lack {len(missing)} songs of trials.csv, "
            f"e.g. {missing[:10]}"
        )
    chosen = values[[position[s] for s in wanted]]
    bad = ~np.isfinite(chosen)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise ValueError(
            f"music features ({source}): {bad.sum()} non-finite values, e.g. song "
            f"{wanted[rows[0]]} column {columns[cols[0]]}"
        )
    features = pd.DataFrame(chosen, columns=list(columns))
    return pd.concat([pd.Series(wanted, name="stimulus", dtype=str), features], axis=1)


def choose_source(root: str | Path, stimuli: Sequence[str], source: str = "auto") -> str:
    """'audio' or 'csv' for the whole table (one source, so every song is described alike).

    auto: audio when every song has a chorus file, else the shipped static_features.csv.
    """
    if source not in ("auto", "audio", "csv"):
        raise ValueError(f"music source must be auto, audio or csv, not {source!r}")
    have = [s for s in stimuli if find_audio(root, s) is not None]
    csv_path = Path(root) / STATIC_FEATURES_CSV
    if source == "audio" or (source == "auto" and len(have) == len(stimuli) and have):
        missing = [s for s in stimuli if find_audio(root, s) is None]
        if missing:
            raise ValueError(
                f"music source 'audio': {len(missing)} songs have no {root}/chorus/<musicId>."
                f"{{{','.join(AUDIO_EXTENSIONS)}}} file, e.g. {missing[:10]}"
            )
        return "audio"
    if not csv_path.is_file():
        raise ValueError(
            f"no music features for PMEmo: {csv_path} does not exist and only {len(have)} of "
            f"{len(stimuli)} songs have chorus audio under {root}/chorus/"
        )
    if have:
        log.warning(
            "%d of %d songs have audio; using %s for all songs", len(have), len(stimuli), csv_path
        )
    return "csv"


def write_music_table(table: pd.DataFrame, out_csv: str | Path) -> None:
    atomic.to_csv(table, out_csv, index=False, float_format="%.9g")


def read_music_table(path: str | Path) -> pd.DataFrame:
    """`results/pmemo/music_features.csv` indexed by stimulus (str), float64 columns."""
    table = pd.read_csv(path, dtype={"stimulus": str}).set_index("stimulus")
    if table.shape[1] != N_MUSIC_FEATURES:
        raise ValueError(f"{path}: {table.shape[1]} feature columns, expected 6373")
    return table.astype(np.float64)


def song_ids(trials_csv: str | Path) -> list[str]:
    """The songs (`stimulus`) of trials.csv, unique, numeric ids in numeric order."""
    trials = pd.read_csv(trials_csv, dtype={"stimulus": str})
    if "stimulus" not in trials.columns:
        raise ValueError(f"{trials_csv}: no stimulus column")
    songs = trials["stimulus"].dropna().astype(str).str.strip().unique().tolist()
    return sorted(songs, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))


def build_music_table(
    trials_csv: str | Path,
    out_csv: str | Path,
    *,
    song_csvs: Sequence[str | Path] | None = None,
    static_csv: str | Path | None = None,
) -> pd.DataFrame:
    """Rule body of `music_features`: the table from per-song caches (audio) or the csv."""
    stimuli = song_ids(trials_csv)
    if song_csvs:
        table = merge_song_features(song_csvs, stimuli)
        log.info("music features of %d songs from audio (openSMILE ComParE_2016)", len(table))
    elif static_csv:
        table = read_static_features(static_csv, stimuli)
        log.info("music features of %d songs from %s", len(table), static_csv)
    else:
        raise ValueError("music features need per-song csvs or static_features.csv")
    write_music_table(table, out_csv)
    return table
