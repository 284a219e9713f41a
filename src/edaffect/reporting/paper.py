"""The published values (shipped as edaffect/reference/paper_tables.csv) and table writers."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from edaffect.io import atomic

PAPER_TABLES_ENV = "EDAFFECT_PAPER_TABLES"
# Every published value of the papers this project re-creates, transcribed from the papers
# (source and known inconsistencies: edaffect/reference/README.md). Project data, not a download.
PAPER_TABLES = Path(__file__).resolve().parents[1] / "reference" / "paper_tables.csv"
KEY_COLUMNS = ["method", "dataset", "subset", "input", "config"]


def paper_tables_path() -> Path:
    """Where the published values live: $EDAFFECT_PAPER_TABLES if set, else the packaged file."""
    if os.environ.get(PAPER_TABLES_ENV):
        return Path(os.environ[PAPER_TABLES_ENV])
    return PAPER_TABLES


def load_paper_values(path: str | Path | None = None) -> pd.DataFrame:
    """All published values in long form (paper, table, method, ..., metric, value).

    A missing file is an error: a table without the paper's values beside ours loses its point.
    """
    path = Path(path) if path else paper_tables_path()
    if not path.is_file():
        raise FileNotFoundError(f"published values {path} not found (set ${PAPER_TABLES_ENV} or "
                                "reinstall edaffect: the file ships with the package)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def paper_value(
    values: pd.DataFrame,
    *,
    paper: str,
    table: str | int,
    dimension: str | None,
    metric: str,
    key: dict[str, str],
) -> float | None:
    """The one published value matching `key` (method, dataset, subset, input, config), or None."""
    sel = (values["paper"] == paper) & (values["table"].astype(str) == str(table))
    sel &= values["metric"] == metric
    if dimension is not None:
        sel &= values["dimension"] == dimension
    for column, wanted in key.items():
        sel &= values[column].str.replace(" ", "") == str(wanted).replace(" ", "")
    hits = values.loc[sel, "value"]
    if len(hits) == 1:
        return float(hits.iloc[0])
    return None


def write_table(
    frame: pd.DataFrame, csv_path: str | Path, md_path: str | Path, header: str
) -> None:
    """Write a table as CSV and as Markdown, the Markdown led by `header` (data provenance)."""
    atomic.to_csv(frame, csv_path, index=False)
    with atomic.atomic_open(md_path, "w") as handle:
        handle.write(header.rstrip() + "\n\n")
        handle.write(frame.to_markdown(index=False) if len(frame) else "(no rows)")
        handle.write("\n")
