"""The published values (../shared/reference/paper_tables.csv) and table writers."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

PAPER_TABLES_ENV = "EDAFFECT_PAPER_TABLES"
_DEFAULT_LOCATIONS = (
    Path("../shared/reference/paper_tables.csv"),
    Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "paper_tables.csv",
)
KEY_COLUMNS = ["method", "dataset", "subset", "input", "config"]


def paper_tables_path() -> Path | None:
    """Where the published values live: $EDAFFECT_PAPER_TABLES, else ../shared/reference/."""
    if os.environ.get(PAPER_TABLES_ENV):
        return Path(os.environ[PAPER_TABLES_ENV])
    for path in _DEFAULT_LOCATIONS:
        if path.is_file():
            return path.resolve()
    return None


def load_paper_values(path: str | Path | None = None) -> pd.DataFrame:
    """All published values in long form (paper, table, method, ..., metric, value).

    Returns an empty frame with the same columns when the file is not available, so tables are
    still written (with empty paper columns) on machines without ../shared.
    """
    path = Path(path) if path else paper_tables_path()
    columns = ["paper", "table", *KEY_COLUMNS, "subjects", "dimension", "metric", "value"]
    if path is None or not Path(path).is_file():
        return pd.DataFrame(columns=columns)
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
    frame.to_csv(csv_path, index=False)
    with open(md_path, "w") as handle:
        handle.write(header.rstrip() + "\n\n")
        handle.write(frame.to_markdown(index=False) if len(frame) else "(no rows)")
        handle.write("\n")
