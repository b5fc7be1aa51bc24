"""Bring your own table: any CSV in ``data/csv/`` becomes dataset ``csv:<file stem>``.

The class column is ``label`` when the header has one, else the last column; every other column must
be numeric. Parsing uses pyarrow's multithreaded CSV reader (a 1,000,000 x 50 file reads in
seconds), so large user tables are prepared once and then shared like any other dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from adray.data.sources import RawData
from adray.errors import MalformedFileError


def read_file(root: Path, files: list[Path]) -> RawData:
    path = files[0]
    try:
        table = pacsv.read_csv(path)
    except pa.ArrowInvalid as exc:
        raise MalformedFileError(path, f"cannot be parsed as CSV: {exc}") from None
    if table.num_rows == 0:
        raise MalformedFileError(path, "has no data rows")
    label_name = "label" if "label" in table.column_names else table.column_names[-1]
    features = [n for n in table.column_names if n != label_name]
    if not features:
        raise MalformedFileError(path, "needs at least one feature column besides the label column", line=1)
    columns = []
    for name in features:
        column = table.column(name)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise MalformedFileError(path, f"column {name!r} is not numeric{_first_bad(column)}")
        columns.append(column.cast(pa.float32()).to_numpy())
    X = np.column_stack(columns) if len(columns) > 1 else columns[0][:, None]
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise MalformedFileError(
            path, f"column {features[col]!r} is {X[row, col]} ({int(bad.any(axis=1).sum())} row(s) have NaN/Inf "
            "features); remove or impute them", line=int(row) + 2,
        )
    labels = table.column(label_name).cast(pa.string()).to_numpy(zero_copy_only=False)
    return RawData(X, labels, features)


def _first_bad(column: pa.ChunkedArray) -> str:
    """Describe the first value of a text column that is not a number, with its file line."""
    as_text = column.cast(pa.string())
    for row, value in enumerate(as_text.to_pylist()):
        try:
            float(value)
        except (TypeError, ValueError):
            return f": line {row + 2} has {value!r}"
    return ""
