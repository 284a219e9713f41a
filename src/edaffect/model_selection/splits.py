"""Subject-independent folds (RTCAN-1D §5.1, made leak-free) and nested subject subsets.

- Subjects are split into `n_folds` disjoint subsets, seeded and balanced by trial count
  (greedy: largest subjects first, each to the subset with the fewest trials so far).
- Fold k: subset k is the test set, subset (k + 1) mod n_folds the validation set, the rest
  train. Every subject is tested exactly once per fraction.
- Fractions (Table 3 / Fig. 4): one seeded permutation of all subjects; a fraction f uses its
  first round(f · N) subjects (at least n_folds, so that every fold has test and validation
  subjects), so smaller fractions are nested in larger ones. Each fraction gets its own folds.
- Song-disjoint folds (PMEmo, where trials are (listener, song) pairs) have one rule,
  `song_blocks`: songs are dealt into seeded groups balanced by trial count; in fold k the test
  listeners keep their songs of group k, the validation listeners their songs of group k + 1,
  the training listeners their songs of the other groups, and every other trial is `dropped`.
  So no listener and no song has two roles in a fold, and each trial is tested at most once.
  Every table row called song-disjoint uses it: the leakage arm `song` and the continuous
  study's `*_song` rows. The study's optional `split.group_by: song` (off by default) instead
  drops, per fold, the trials whose song has a higher-priority role (test > val > train,
  `song_priority`), which keeps every test trial: blocks would leave the subject-incremental
  fractions' one-subject validation sets without trials.
- Leakage table only (`make_protocol_splits`): `pairs` reproduces the original code's protocol,
  (subject, stimulus) trials shuffled within each class into class-balanced folds, rows marked
  `split = pairs`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.io import atomic

SPLIT_COLUMNS = ["fraction", "fold", "trial_id", "subject", "stimulus", "role"]
ROLES = ("train", "val", "test", "dropped")
log = logging.getLogger(__name__)


def fraction_tag(fraction: float | str) -> str:
    """Stable file-name form of a fraction, as in rules/common.smk: 0.1 → 'p10', 1.0 → 'p100'."""
    if isinstance(fraction, str) and fraction.startswith("p"):
        return fraction
    return f"p{round(float(fraction) * 100)}"


def subject_order(subjects: Iterable[str], seed: int) -> list[str]:
    """One seeded permutation of the (sorted, unique) subjects; fractions take its prefixes."""
    unique = sorted(set(map(str, subjects)))
    rng = np.random.default_rng([seed, 0])
    return [unique[i] for i in rng.permutation(len(unique))]


def subset_size(n_subjects: int, fraction: float, n_folds: int) -> int:
    """Subjects in a fraction: round(f · N), raised to n_folds (every fold needs test/val)."""
    if n_subjects < max(n_folds, 3):
        raise ValueError(
            f"{n_subjects} subjects cannot form {n_folds} subject-disjoint folds "
            "(each fold needs its own test and validation subjects); lower split.n_folds"
        )
    return min(n_subjects, max(n_folds, round(fraction * n_subjects)))


def assign_folds(trial_counts: dict[str, int], n_folds: int, seed: int) -> dict[str, int]:
    """Subject → subset index, seeded and balanced by trial count (greedy, largest first)."""
    if len(trial_counts) < n_folds:
        raise ValueError(f"{len(trial_counts)} subjects cannot fill {n_folds} folds")
    rng = np.random.default_rng(seed)
    shuffled = [sorted(trial_counts)[i] for i in rng.permutation(len(trial_counts))]
    ordered = sorted(shuffled, key=lambda s: -trial_counts[s])  # stable: ties stay shuffled
    totals = [0] * n_folds
    sizes = [0] * n_folds
    folds: dict[str, int] = {}
    for position, subject in enumerate(ordered):
        # The first n_folds subjects seed one subset each; then the lightest subset takes the next.
        if position < n_folds:
            target = position
        else:
            target = min(range(n_folds), key=lambda k: (totals[k], sizes[k], k))
        folds[subject] = target
        totals[target] += trial_counts[subject]
        sizes[target] += 1
    return folds


def fold_roles(subject_fold: dict[str, int], n_folds: int, fold: int) -> dict[str, str]:
    """Subject → role in fold `fold`: test = subset k, val = subset (k+1) mod n, else train."""
    val_subset = (fold + 1) % n_folds
    return {
        s: "test" if f == fold else "val" if f == val_subset else "train"
        for s, f in subject_fold.items()
    }


def song_priority(roles: pd.Series, stimuli: pd.Series) -> pd.Series:
    """`split.group_by: song` only: drop trials whose song has a higher-priority role
    (test > val > train) in the fold, keeping every test trial."""
    priority = roles.map({"test": 0, "val": 1, "train": 2})
    best = priority.groupby(stimuli.to_numpy()).transform("min")
    return roles.where(priority == best, "dropped")


def song_groups(stimuli: pd.Series, n_groups: int, seed: int) -> dict[str, int]:
    """Song -> group index, seeded and balanced by trial count (as subjects are dealt)."""
    if n_groups < 3:
        raise ValueError(f"song-disjoint folds need at least 3 song groups, got {n_groups}")
    return assign_folds(stimuli.astype(str).value_counts().to_dict(), n_groups, seed)


def song_blocks(roles: np.ndarray, groups: np.ndarray, fold: int | np.ndarray,
                n_groups: int) -> np.ndarray:
    """The one song-disjoint rule: test trials keep songs of group k, validation trials of group
    k + 1, training trials of the other groups; every other trial becomes `dropped` (`fold`: the
    fold k, or each trial's)."""
    roles = np.asarray(roles, dtype=object)
    test_group, val_group = fold % n_groups, (fold + 1) % n_groups
    keep = np.where(roles == "test", groups == test_group,
                    np.where(roles == "val", groups == val_group,
                             (groups != test_group) & (groups != val_group)))
    return np.where(keep & (roles != "dropped"), roles, "dropped").astype(object)


def make_splits(
    trials: pd.DataFrame,
    *,
    n_folds: int,
    fractions: Iterable[float],
    seed: int,
    group_by: str = "subject",
    origin: str = "trials",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """splits.csv rows (every fraction × fold × trial of the fraction) and a per-fold summary."""
    missing = [c for c in ("trial_id", "subject", "stimulus") if c not in trials]
    if missing:
        raise ValueError(f"{origin}: missing column(s) {missing}")
    if group_by not in ("subject", "song"):
        raise ValueError(f"split.group_by must be 'subject' or 'song', not {group_by!r}")
    frame = trials[["trial_id", "subject", "stimulus"]].astype(str).reset_index(drop=True)
    if group_by == "song":
        bad = trials.loc[trials["stimulus"].isna(), "trial_id"].astype(str).tolist()
        if bad:
            raise ValueError(f"{origin}: group_by song needs a stimulus for trial(s) {bad[:10]}")
    dupes = frame.loc[frame["trial_id"].duplicated(), "trial_id"].tolist()
    if dupes:
        raise ValueError(f"{origin}: duplicate trial_id(s) {dupes[:10]}")

    order = subject_order(frame["subject"], seed)
    counts = frame["subject"].value_counts().to_dict()
    parts, summary = [], []
    for fraction in sorted(set(float(f) for f in fractions)):
        size = subset_size(len(order), fraction, n_folds)
        chosen = order[:size]
        if size != round(fraction * len(order)):
            log.warning(
                "fraction %s: round(%s × %d subjects) = %d < %d folds; using %d subjects",
                fraction, fraction, len(order), round(fraction * len(order)), n_folds, size,
            )
        subject_fold = assign_folds(
            {s: counts[s] for s in chosen}, n_folds, seed=seed * 1000 + round(fraction * 100)
        )
        sub = frame[frame["subject"].isin(chosen)]
        for fold in range(n_folds):
            roles = sub["subject"].map(fold_roles(subject_fold, n_folds, fold))
            if group_by == "song":
                roles = song_priority(roles, sub["stimulus"])
            part = sub.assign(fraction=fraction, fold=fold, role=roles.to_numpy())
            parts.append(part[SPLIT_COLUMNS])
            n_role = part["role"].value_counts()
            empty = [r for r in ("train", "val") if not n_role.get(r, 0)]
            if empty:
                raise ValueError(
                    f"{origin}: group_by {group_by!r} leaves fraction {fraction_tag(fraction)} "
                    f"fold {fold} without {' or '.join(empty)} trials (the fold's test songs "
                    "cover them); use split.group_by: subject for this dataset"
                )
            summary.append(
                {
                    "fraction": fraction,
                    "fold": fold,
                    "group_by": group_by,
                    "n_subjects": size,
                    "n_test_subjects": sum(f == fold for f in subject_fold.values()),
                    "n_val_subjects": sum(f == (fold + 1) % n_folds for f in subject_fold.values()),
                    "n_trials": len(part),
                    **{f"n_{r}": int(n_role.get(r, 0)) for r in ROLES},
                }
            )
    splits = pd.concat(parts, ignore_index=True)
    check_splits(splits, song_disjoint=group_by == "song")
    return splits, pd.DataFrame(summary)


SPLIT_KINDS = ("subject", "song", "pairs")


def class_balanced_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """Trial positions shuffled within each class, then interleaved so that every run of
    consecutive positions holds each class in proportion (within one trial): the classes'
    shuffled lists merged by their quantile keys (i + 0.5) / n_class."""
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, 2])
    position, key = [], []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        position.append(rng.permutation(members))
        key.append((np.arange(members.size) + 0.5) / members.size)
    position, key = np.concatenate(position), np.concatenate(key)
    return position[np.argsort(key, kind="stable")]


def make_pair_splits(
    trials: pd.DataFrame, labels: pd.Series, *, n_folds: int, seed: int,
    test_sizes: list[int] | None = None, validation: bool = False, origin: str = "trials",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ORIGINAL code's folds, for the leakage table only: (subject, stimulus) trials
    shuffled within each class (`labels`: trial_id -> class) and cut into `n_folds` class-
    balanced test folds; fold k trains on the rest (no validation fold). `test_sizes` sets each
    test fold's size (default: equal, as the original); `validation` makes fold k+1's test trials
    fold k's validation set. Not subject-independent: rows carry `split = pairs`, which is what
    lets `load_fold` accept them."""
    frame = trials[["trial_id", "subject", "stimulus"]].astype(str).reset_index(drop=True)
    if len(frame) < n_folds:
        raise ValueError(f"{origin}: {len(frame)} trials cannot fill {n_folds} folds")
    y = frame["trial_id"].map(labels)
    if y.isna().any():
        raise ValueError(f"{origin}: no label for trials {frame.loc[y.isna(), 'trial_id'][:5]}")
    if test_sizes is None:
        test_sizes = [len(frame) // n_folds + (f < len(frame) % n_folds) for f in range(n_folds)]
    if len(test_sizes) != n_folds or sum(test_sizes) != len(frame) or min(test_sizes) < 1:
        raise ValueError(f"{origin}: test fold sizes {test_sizes} do not partition "
                         f"{len(frame)} trials into {n_folds} folds")
    order = class_balanced_order(y.to_numpy(), seed)
    fold_of = np.empty(len(frame), dtype=int)
    fold_of[order] = np.repeat(np.arange(n_folds), test_sizes)
    parts, summary = [], []
    for fold in range(n_folds):
        roles = np.where(fold_of == fold, "test", "train").astype(object)
        if validation:
            roles[fold_of == (fold + 1) % n_folds] = "val"
        parts.append(frame.assign(fraction=1.0, fold=fold, role=roles, split="pairs"))
        summary.append(
            {"fraction": 1.0, "fold": fold, "group_by": "pairs",
             "n_subjects": frame["subject"].nunique(),
             "n_test_subjects": frame.loc[roles == "test", "subject"].nunique(),
             "n_val_subjects": frame.loc[roles == "val", "subject"].nunique(),
             "n_trials": len(frame), **{f"n_{r}": int((roles == r).sum()) for r in ROLES}}
        )
    return pd.concat(parts, ignore_index=True)[[*SPLIT_COLUMNS, "split"]], pd.DataFrame(summary)


def make_block_splits(
    trials: pd.DataFrame, *, n_folds: int, seed: int, origin: str = "trials"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subject- AND song-disjoint folds (leakage arm `song`, PMEmo): subject folds as the study
    makes them, songs in `n_folds` groups, and `song_blocks` in every fold."""
    frame = trials[["trial_id", "subject", "stimulus"]].astype(str).reset_index(drop=True)
    subject_fold = assign_folds(frame["subject"].value_counts().to_dict(), n_folds, seed)
    groups = frame["stimulus"].map(song_groups(frame["stimulus"], n_folds, seed + 1)).to_numpy()
    parts, summary = [], []
    for fold in range(n_folds):
        val = (fold + 1) % n_folds
        roles = frame["subject"].map(fold_roles(subject_fold, n_folds, fold)).to_numpy()
        roles = song_blocks(roles, groups, fold, n_folds)
        n_role = pd.Series(roles).value_counts()
        empty = [r for r in ("train", "val", "test") if not n_role.get(r, 0)]
        if empty:
            raise ValueError(f"{origin}: subject x song blocks leave fold {fold} without "
                             f"{' or '.join(empty)} trials; lower n_folds")
        parts.append(frame.assign(fraction=1.0, fold=fold, role=roles, split="song"))
        summary.append(
            {"fraction": 1.0, "fold": fold, "group_by": "subject+song",
             "n_subjects": frame["subject"].nunique(),
             "n_test_subjects": int(sum(f == fold for f in subject_fold.values())),
             "n_val_subjects": int(sum(f == val for f in subject_fold.values())),
             "n_trials": len(frame), **{f"n_{r}": int(n_role.get(r, 0)) for r in ROLES}}
        )
    splits = pd.concat(parts, ignore_index=True)[[*SPLIT_COLUMNS, "split"]]
    kept = splits[splits["role"] != "dropped"]
    for key in ("subject", "stimulus"):
        if (kept.groupby(["fold", key])["role"].nunique() > 1).any():
            raise AssertionError(f"{origin}: a {key} has two roles in one fold")
    return splits, pd.DataFrame(summary)


def make_protocol_splits(
    trials: pd.DataFrame, *, split: str, n_folds: int, seed: int, origin: str = "trials",
    labels: pd.Series | None = None, validation: bool = False,
    test_sizes: list[int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Folds of one evaluation arm (leakage table): `subject` (ours), `song` (ours +
    song-disjoint: subject x song blocks, PMEmo) or `pairs` (the original code's class-balanced
    pair folds; needs `labels`); all subjects (fraction 1.0)."""
    if split not in SPLIT_KINDS:
        raise ValueError(f"split must be one of {SPLIT_KINDS}, not {split!r}")
    if split == "pairs":
        if labels is None:
            raise ValueError("pairs folds are class-balanced: pass the trials' labels")
        return make_pair_splits(trials, labels, n_folds=n_folds, seed=seed,
                                test_sizes=test_sizes, validation=validation, origin=origin)
    if split == "song":
        return make_block_splits(trials, n_folds=n_folds, seed=seed, origin=origin)
    splits, summary = make_splits(
        trials, n_folds=n_folds, fractions=[1.0], seed=seed, group_by=split, origin=origin
    )
    return splits.assign(split=split), summary


def check_splits(splits: pd.DataFrame, *, song_disjoint: bool = False) -> None:
    """Raise AssertionError on any leak: a subject in two roles of a fold, val/test overlap,
    a subject not tested exactly once, non-nested fractions, or (if asked) a shared song."""
    kept = splits[splits["role"] != "dropped"]
    fractions = sorted(splits["fraction"].unique())
    previous: set[str] = set()
    for fraction in fractions:
        frac = splits[splits["fraction"] == fraction]
        subjects = set(frac["subject"])
        if not previous <= subjects:
            raise AssertionError(f"fraction {fraction}: smaller fraction's subjects not nested")
        previous = subjects
        frac_kept = kept[kept["fraction"] == fraction]
        roles_per = frac_kept.groupby(["fold", "subject"])["role"].nunique()
        if (roles_per > 1).any():
            raise AssertionError(
                f"fraction {fraction}: subject in two roles: {roles_per[roles_per > 1].index[:5]}"
            )
        tested = frac_kept[frac_kept["role"] == "test"].groupby("subject")["fold"].nunique()
        if set(tested.index) != subjects or (tested != 1).any():
            raise AssertionError(f"fraction {fraction}: not every subject is tested exactly once")
        for fold, part in frac_kept.groupby("fold"):
            test = set(part.loc[part["role"] == "test", "subject"])
            val = set(part.loc[part["role"] == "val", "subject"])
            if not val or test & val:
                raise AssertionError(f"fraction {fraction} fold {fold}: empty or overlapping val")
            if song_disjoint:
                per_song = part.groupby("stimulus")["role"].nunique()
                if (per_song > 1).any():
                    raise AssertionError(f"fraction {fraction} fold {fold}: song in two roles")


def read_splits(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(
        path, dtype={"trial_id": str, "subject": str, "stimulus": str, "role": str, "split": str}
    )


def load_fold(
    splits_csv: str | Path | pd.DataFrame, fraction: float | str, fold: int
) -> dict[str, list[str]]:
    """Role → trial_ids (train, val, test, dropped) of one fold of one subject fraction.

    `fraction` is a number (0.1) or its tag ('p10'). Re-checks subject disjointness on load.
    """
    splits = splits_csv if isinstance(splits_csv, pd.DataFrame) else read_splits(splits_csv)
    tags = splits["fraction"].map(fraction_tag)
    wanted = fraction_tag(fraction)
    part = splits[(tags == wanted) & (splits["fold"] == int(fold))]
    if part.empty:
        raise KeyError(
            f"{splits_csv if not isinstance(splits_csv, pd.DataFrame) else 'splits'}: no rows for "
            f"fraction {wanted}, fold {fold}; it has fractions {sorted(set(tags))} and folds "
            f"{sorted(splits['fold'].unique().tolist())}"
        )
    kept = part[part["role"] != "dropped"]
    leaky = "split" in part and bool((part["split"] == "pairs").all())  # leakage table only
    if not leaky and (kept.groupby("subject")["role"].nunique() > 1).any():
        raise AssertionError(f"fraction {wanted} fold {fold}: a subject has two roles")
    return {role: part.loc[part["role"] == role, "trial_id"].tolist() for role in ROLES}


def write_splits(
    trials_csv: str | Path,
    splits_csv: str | Path,
    summary_csv: str | Path,
    *,
    n_folds: int,
    fractions: Iterable[float],
    seed: int,
    group_by: str = "subject",
) -> pd.DataFrame:
    """Rule `splits`: trials.csv → splits.csv + splits_summary.csv (drops logged)."""
    trials = pd.read_csv(trials_csv, dtype={"trial_id": str, "subject": str, "stimulus": str})
    splits, summary = make_splits(
        trials, n_folds=n_folds, fractions=fractions, seed=seed, group_by=group_by,
        origin=str(trials_csv),
    )
    Path(splits_csv).parent.mkdir(parents=True, exist_ok=True)
    atomic.to_csv(splits, splits_csv, index=False)
    atomic.to_csv(summary, summary_csv, index=False)
    for fraction, rows in summary.groupby("fraction"):
        log.info(
            "fraction %s (%d subjects, group_by=%s): per fold train/val/test/dropped trials = %s; "
            "dropped in total %d of %d trial-fold rows",
            fraction_tag(fraction), rows["n_subjects"].iloc[0], group_by,
            "; ".join(
                f"{r.n_train}/{r.n_val}/{r.n_test}/{r.n_dropped}" for r in rows.itertuples()
            ),
            rows["n_dropped"].sum(), rows["n_trials"].sum(),
        )
    return summary
