"""CSV helpers shared by the readers: every parse problem becomes a message with file and line."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from adray.errors import MalformedFileError


def read_csv(path: Path, header_lines: int = 1, last_column_required: bool = True, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` whose errors name the file and line.

    Besides pandas' own errors it catches the two bad lines pandas lets through: surplus values on the
    first data line (pandas silently turns them into an index) and, with ``last_column_required``, a
    line cut short (pandas pads it with NaN; the last column of every raw file adray reads is the
    label, which is never empty). A truncated or corrupt gzip is reported too.

    The returned frame keeps the default RangeIndex, so row ``i`` is file line ``i + header_lines + 1``
    (see :func:`file_line`); readers must not reset it before calling :func:`to_numeric`.
    """
    try:
        frame = pd.read_csv(path, low_memory=False, **kwargs)
    except pd.errors.EmptyDataError:
        raise MalformedFileError(path, "the file is empty; download it again") from None
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = match.groups()
            raise MalformedFileError(
                path, f"expected {expected} comma-separated values, found {saw}; the file may be "
                "truncated or corrupted: download it again", line=int(line)
            ) from None
        raise MalformedFileError(path, f"cannot be parsed as CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise MalformedFileError(path, f"is not a text CSV file ({exc.reason})") from None
    except (EOFError, OSError, zlib.error) as exc:  # truncated or corrupt gzip
        raise MalformedFileError(path, f"cannot be decompressed ({exc}); download it again") from None
    if frame.empty:
        raise MalformedFileError(path, "has a header but no data rows; download it again")
    frame.attrs["header_lines"] = header_lines
    if not isinstance(frame.index, pd.RangeIndex):
        raise MalformedFileError(
            path, f"expected {frame.shape[1]} comma-separated values as in the header, found "
            f"{frame.shape[1] + frame.index.nlevels}; the file may be corrupted: download it again",
            line=header_lines + 1,
        )
    if last_column_required:
        short = frame[frame.columns[-1]].isna()
        if short.any():
            raise MalformedFileError(
                path, f"the line ends before its last column {frame.columns[-1]!r}; the file may be truncated "
                "or corrupted: download it again", line=file_line(frame, short.idxmax()),
            )
    return frame


def file_line(frame: pd.DataFrame, row_label) -> int:
    """The 1-based file line of a row of a frame returned by :func:`read_csv`."""
    return int(row_label) + frame.attrs.get("header_lines", 1) + 1


def require_columns(frame: pd.DataFrame, columns, path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MalformedFileError(
            path,
            f"missing column(s) {missing}; found {list(frame.columns)[:12]}{'...' if frame.shape[1] > 12 else ''}. "
            "Is this the right file from the dataset's download page?",
            line=1,
        )


def to_numeric(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Convert every column to float64; the first non-numeric cell is reported with its line."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            out[name] = column.astype(np.float64)
            continue
        converted = pd.to_numeric(column, errors="coerce")
        bad = converted.isna() & column.notna()
        if bad.any():
            label = bad.idxmax()
            raise MalformedFileError(
                path,
                f"column {name!r} has the non-numeric value {column.loc[label]!r}",
                line=file_line(frame, label),
            )
        out[name] = converted.astype(np.float64)
    return pd.DataFrame(out, index=frame.index)


def drop_non_finite_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows with NaN or +-Inf in any numeric column (the seeds' rule for traffic captures)."""
    numeric = frame.select_dtypes(include=[np.number])
    finite = np.isfinite(numeric.to_numpy(dtype=np.float64, na_value=np.nan)).all(axis=1)
    return frame.loc[finite & frame.notna().all(axis=1).to_numpy()]


def one_hot(frame: pd.DataFrame, columns, categories: dict | None = None) -> pd.DataFrame:
    """One-hot encode ``columns`` (pandas.get_dummies naming: ``<col>_<value>``) as 0/1 floats.

    ``categories`` fixes the category list of a column so that train and test files get the same
    columns in the same order.
    """
    frame = frame.copy()
    for col in columns:
        cats = (categories or {}).get(col)
        values = frame[col].astype(str)
        frame[col] = pd.Categorical(values, categories=cats if cats is not None else sorted(values.unique()))
    return pd.get_dummies(frame, columns=list(columns), dtype=np.float64)
