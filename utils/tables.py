"""User tables (CSV or Parquet) read strictly: every parse failure an :class:`~migravity.errors.InputError`
naming the file and, for CSV, the line.

:func:`read_user_table` backs ``calibrate --table``, scenario price tables and segment tables.
A CSV must be UTF-8 text (a NUL byte means a binary file; another encoding is reported with the
line of the first byte that is not UTF-8), rectangular (a ragged row is named by its line) and
hold at least one data row. Columns named ``numeric`` must hold numbers only (text and infinities
are refused, naming the line); ``codes`` columns must hold non-empty labels without surrounding
spaces; ``key`` columns must be unique together. Lines are those of the file (1 = the header);
for Parquet, ``row`` numbers count from 1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from migravity.errors import ConfigError, MalformedDataError

_LINE = re.compile(r"line (\d+)")
#: Suffixes read as CSV and as Parquet.
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")


def _where(parquet: bool, i: int) -> int:
    """The file line (CSV, header = 1) or the 1-based row (Parquet) of data row ``i`` (0-based)."""
    return i + 1 if parquet else i + 2


def read_user_table(
    path: str | os.PathLike[str],
    option: str,
    *,
    columns: Sequence[str] = (),
    numeric: Sequence[str] = (),
    codes: Sequence[str] = (),
    key: Sequence[str] = (),
    dtype: dict[str, type] | None = None,
) -> pd.DataFrame:
    """Read a user's CSV or Parquet table and check it; raise one clear error otherwise.

    Parameters
    ----------
    path : path-like
        The table (``.csv``, ``.parquet`` or ``.pq``).
    option : str
        The option or key that named the file (``--table``, ``house_prices[0].table``), for messages.
    columns : sequence of str
        Columns that must be present.
    numeric : sequence of str
        Columns that must hold finite numbers (empty cells are left as NaN for the caller).
    codes : sequence of str
        Columns of labels (area codes): no empty cell, no surrounding spaces.
    key : sequence of str
        Columns that identify a row: duplicates are an error naming both lines.
    dtype : dict, optional
        Passed to :func:`pandas.read_csv` (e.g. ``{"lad": str}``).

    Returns
    -------
    pandas.DataFrame
        The table, ``numeric`` columns as float.

    Raises
    ------
    ConfigError
        If the file does not exist or has another suffix.
    MalformedDataError
        Naming the file and the line (or Parquet row) of the first problem.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        raise ConfigError(option, str(p), "no such file" if not p.exists() else "not a file")
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise ConfigError(option, str(p), "give a .csv or .parquet file")
    parquet = suffix in PARQUET_SUFFIXES
    df = _read_parquet(p) if parquet else _read_csv(p, dtype)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MalformedDataError(p, f"missing column(s) {missing}; found {list(map(str, df.columns))[:12]}",
                                 None if parquet else 1)
    if len(df) == 0:
        raise MalformedDataError(p, "the table has a header but no data rows", None if parquet else 1)
    for col in codes:
        s = df[col]
        text = s.astype("string")
        empty = s.isna().to_numpy() | (text.fillna("").str.len() == 0).to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise MalformedDataError(p, f"column {col!r} is empty in row {_where(parquet, i)}" if parquet
                                     else f"column {col!r} is empty", None if parquet else _where(parquet, i))
        padded = (text != text.str.strip()).fillna(False).to_numpy(dtype=bool)
        if padded.any():
            i = int(np.flatnonzero(padded)[0])
            raise MalformedDataError(p, f"column {col!r} holds {str(s.iloc[i])!r} with surrounding spaces",
                                     None if parquet else _where(parquet, i))
    for col in numeric:
        if col not in df.columns:
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        bad = (values.isna() & df[col].notna()).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MalformedDataError(p, f"column {col!r} holds non-numeric value {df[col].iloc[i]!r}"
                                     + (f" (row {i + 1})" if parquet else ""), None if parquet else i + 2)
        arr = values.to_numpy(dtype=float)
        inf = np.isinf(arr)
        if inf.any():
            i = int(np.flatnonzero(inf)[0])
            raise MalformedDataError(p, f"column {col!r} holds an infinite value"
                                     + (f" (row {i + 1})" if parquet else ""), None if parquet else i + 2)
        df[col] = arr
    if key:
        dup = df.duplicated(list(key), keep=False).to_numpy()
        if dup.any():
            rows = np.flatnonzero(dup)
            first = rows[0]
            same = rows[(df.iloc[rows][list(key)] == df.iloc[first][list(key)]).all(axis=1).to_numpy()]
            k = {c: df[c].iloc[first] for c in key}
            lines = [_where(parquet, int(r)) for r in same[:2]]
            raise MalformedDataError(
                p, f"duplicate key {k} ({'rows' if parquet else 'lines'} {lines[0]} and {lines[1]}): give each "
                   "once", None if parquet else lines[1])
    return df


def _read_csv(path: Path, dtype: dict[str, type] | None) -> pd.DataFrame:
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise MalformedDataError(path, "a binary file, not a CSV text file (NUL bytes)")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise MalformedDataError(
            path, f"not UTF-8 text (byte 0x{raw[e.start]:02x}); save the file as UTF-8 (e.g. from latin-1)", line
        ) from e
    return parse_csv(path, dtype=dtype)


def parse_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` (UTF-8, optionally gzipped) whose failures are one :class:`MalformedDataError` line.

    An empty file, a parse error (with its line number where pandas gives one), undecodable bytes or
    a truncated archive name the file; the data files' readers and the user tables share it.
    """
    try:
        return pd.read_csv(path, encoding="utf-8-sig", low_memory=False, **kwargs)
    except pd.errors.EmptyDataError as e:
        raise MalformedDataError(path, "the file is empty (no header, no rows)") from e
    except pd.errors.ParserError as e:
        m = _LINE.search(str(e))
        problem = f"cannot parse CSV ({' '.join(str(e).split())})"
        raise MalformedDataError(path, problem, int(m.group(1)) if m else None) from e
    except (ValueError, EOFError, OSError) as e:
        raise MalformedDataError(path, f"cannot read file ({e})") from e


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError and friends on corrupt files
        raise MalformedDataError(path, f"not a readable Parquet file ({type(e).__name__}: {e})") from e
