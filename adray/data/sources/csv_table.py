"""Bring your own table: any CSV in ``data/csv/`` becomes dataset ``csv:<file stem>``.

The class of each row is in a column named ``label`` (required: without it no column can be told
apart from a feature, and guessing would turn a feature into hundreds of "classes"); every other
column must be numeric. A row without a label is refused with its line. Integers above 2^24
(timestamps, byte counts) are accepted and stored rounded to float32, with a
:class:`~adray.data.precision.PrecisionWarning` saying by how much. Parsing uses pyarrow's
multithreaded CSV reader (a 1,000,000 x 50 file reads in seconds), so large user tables are prepared
once and then shared like any other dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from adray.data.precision import float32_rounding
from adray.data.sources import RawData
from adray.errors import MalformedFileError

LABEL = "label"


def read_file(root: Path, files: list[Path]) -> RawData:
    path = files[0]
    try:
        table = pacsv.read_csv(path)
    except pa.ArrowInvalid as exc:
        raise MalformedFileError(path, f"cannot be parsed as CSV: {exc}") from None
    if table.num_rows == 0:
        raise MalformedFileError(path, "has no data rows")
    if LABEL not in table.column_names:
        raise MalformedFileError(path, _no_label_message(table.column_names), line=1)
    features = [n for n in table.column_names if n != LABEL]
    if not features:
        raise MalformedFileError(path, "needs at least one feature column besides the label column", line=1)
    labels = _labels(table.column(LABEL), path)
    columns, rounding = [], []
    for name in features:
        column = table.column(name)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise MalformedFileError(path, f"column {name!r} is not numeric{_first_bad(column)}")
        if pa.types.is_integer(column.type):
            note = float32_rounding(pc.drop_null(column).to_numpy(), name)
            rounding += [note] if note else []
        columns.append(column.cast(pa.float32(), safe=False).to_numpy())
    X = np.column_stack(columns) if len(columns) > 1 else columns[0][:, None]
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise MalformedFileError(
            path, f"column {features[col]!r} is {X[row, col]} ({int(bad.any(axis=1).sum())} row(s) have NaN/Inf "
            "features); remove or impute them", line=int(row) + 2,
        )
    return RawData(X, labels, features, rounding_notes=rounding)


def _no_label_message(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
    near = [n for n in names if n.strip().lower() in ("label", "labels", "class", "target", "y", "anomaly")]
    hint = f" (is it {near[0]!r}?)" if near else ""
    return (f"has no {LABEL!r} column; found {shown}. Rename the column that holds each row's class to "
            f"{LABEL!r}{hint} (the default setting takes 0 as normal and 1 as anomaly)")


def _labels(column: pa.ChunkedArray, path: Path) -> np.ndarray:
    """The label column as strings; an empty or missing label is refused with its line."""
    text = column.cast(pa.string())
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
    count = pc.sum(empty).as_py() or 0
    if count:
        row = pc.index(empty, True).as_py()
        raise MalformedFileError(
            path, f"the {LABEL!r} value is empty ({count} row(s) have no label); give every row its class "
            "or remove the unlabelled rows", line=row + 2,
        )
    return text.to_numpy(zero_copy_only=False)


def _first_bad(column: pa.ChunkedArray) -> str:
    """Describe the first value of a text column that is not a number, with its file line."""
    as_text = column.cast(pa.string())
    for row, value in enumerate(as_text.to_pylist()):
        try:
            float(value)
        except (TypeError, ValueError):
            return f": line {row + 2} has {value!r}"
    return ""
