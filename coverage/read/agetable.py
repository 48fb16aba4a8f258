"""Age tables: residents aged 65 and over per community, from a CSV or Excel file (issue 21).

One reader for the command line (``--age-table FILE``) and the app's upload. A table
names each community by ``code`` (社区代码 …) or ``name`` (社区名称 …) and gives either a
head count (``population_65plus`` / ``65岁及以上人口``) or a share 0–1 (``share_65plus`` /
``65岁及以上人口占比``). The column names live here, once; :mod:`coverage.groups` joins the
table to the communities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from coverage.errors import MissingColumnError, ValueInputError
from coverage.read.cells import population_numbers
from coverage.read.officedata import _TOTAL_ROWS, TABLE_ALIASES, _read_office_table, name_key

__all__ = ["AGE_COUNT_COLUMNS", "AGE_SHARE_COLUMNS", "age_values", "find_column", "read_age_table"]

#: Column names read as the 65+ head count (lower-cased).
AGE_COUNT_COLUMNS = ("population_65plus", "pop_65plus", "population_65", "65岁及以上人口", "65岁及以上",
                     "65岁以上人口", "65周岁及以上人口")
#: Column names read as the 65+ share (0–1) of the community's residents.
AGE_SHARE_COLUMNS = ("share_65plus", "share_65", "65岁及以上人口占比", "65岁及以上人口比例", "65岁以上人口占比")


def find_column(columns: list, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` among ``columns`` (case and surrounding spaces ignored)."""
    low = {str(c).strip().lower(): c for c in columns}
    return next((low[n.lower()] for n in names if n.lower() in low), None)


def age_values(frame: pd.DataFrame, col: str, kind: str, where: str, path: str | Path | None = None,
               rows: np.ndarray | None = None) -> np.ndarray:
    """Numbers of the age column; refuse text, negatives and shares above 1, naming the row and column.

    Parameters
    ----------
    frame : DataFrame
    col : str
        The age column.
    kind : {"count", "share"}
    where : str
        What the frame is, for the message (``communities layer``, ``age table``).
    path : path, optional
        The file, for the message.
    rows : ndarray, optional
        Row numbers for the message (default: the frame's index).

    Returns
    -------
    ndarray of float
        NaN for blank cells.
    """
    values, bad = population_numbers(frame[col])
    wrong = bad | (values < 0) | ~np.isfinite(np.where(np.isnan(values), 0, values))
    if kind == "share":
        wrong |= values > 1
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        fix = "give the share as a fraction 0–1 (18.5 % → 0.185)" if kind == "share" else \
            "give a non-negative head count"
        row = (rows if rows is not None else np.asarray(frame.index))[i]
        raise ValueInputError(f"{where}: column {col} = {frame[col].iloc[i]!r} is not valid; {fix}", path=path,
                              row=row)
    return values


def read_age_table(path: str | Path) -> pd.DataFrame:
    """Read an age table (``.csv`` UTF-8/GBK or ``.xlsx``) and check every cell.

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    DataFrame
        ``code`` and/or ``name`` (as written) and the age column (numbers, NaN for blanks),
        indexed by the spreadsheet row number (header = row 1); ``attrs["path"]`` is the file.
        Total rows (合计 …) are dropped.

    Raises
    ------
    LayerReadError
        Not found, or not CSV/Excel.
    MissingColumnError
        No 65+ column, or no community code/name column.
    ValueInputError
        No rows, or a cell that is not a non-negative count / a share 0–1 (row and column named).
    """
    path = Path(path)
    df, rows = _read_office_table(path)
    cols = list(df.columns)
    age_col = find_column(cols, AGE_COUNT_COLUMNS)
    kind = "count"
    if age_col is None:
        age_col, kind = find_column(cols, AGE_SHARE_COLUMNS), "share"
    if age_col is None:
        raise MissingColumnError(f"no 65+ column; add {AGE_COUNT_COLUMNS[0]} (or {AGE_COUNT_COLUMNS[3]}, head count) "
                                 f"or {AGE_SHARE_COLUMNS[0]} (share 0–1); columns found: {cols}", path=path)
    keys = {k: find_column(cols, TABLE_ALIASES[k]) for k in ("code", "name")}
    if not any(keys.values()):
        raise MissingColumnError(f"no community column; add code (社区代码) or name (社区名称) to say which community "
                                 f"each row is; columns found: {cols}", path=path)
    out = pd.DataFrame({k: df[c].to_numpy() for k, c in keys.items() if c})
    if keys["name"]:
        total = out["name"].map(lambda v: bool(_TOTAL_ROWS.match(name_key(v)))).to_numpy()
        out, df, rows = out.loc[~total].reset_index(drop=True), df.loc[~total].reset_index(drop=True), rows[~total]
    if len(out) == 0:
        raise ValueInputError("the age table has no rows; give one row per community", path=path)
    out[age_col] = age_values(df, age_col, kind, "age table", path=path, rows=rows)
    out.index = pd.Index(rows, name="row")
    out.attrs["path"] = str(path)
    return out
