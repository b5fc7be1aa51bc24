"""UCI Daily and Sports Activities (DSADS), read from the unpacked ``data/aXX/pY/sZZ.txt`` tree.

Source: https://archive.ics.uci.edu/dataset/256/daily+and+sports+activities (Barshan & Altun): 19
activities (a01..a19) performed by 8 subjects (p1..p8), each recording cut into 60 segments of 5 s
(s01..s60): 9,120 files. AMSL ships the same tree (``adray/detectors/amsl/README.md``).

Format: each file is one segment of 125 rows (25 Hz x 5 s) by 45 comma-separated floats: 5 sensor
units (torso T, right arm RA, left arm LA, right leg RL, left leg LL), each with x/y/z accelerometer,
gyroscope and magnetometer channels, in that order.

Preprocessing: none. X has shape (n, 125, 45), the label is the activity ("a01".."a19") and the
group the subject ("p1".."p8"). AMSL's six transformations and its scaling belong to the method,
not to the data. Every file is checked for 125 rows of 45 values (errors name file and line); the
checked texts are then parsed in one pass by pyarrow's CSV reader: about 5 s on two cores for
all 9,120 files (``np.loadtxt`` per file takes about a minute).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from adray.data.sources import RawData
from adray.errors import DatasetMissingError, MalformedFileError

ROWS, COLS = 125, 45
UNITS = ("T", "RA", "LA", "RL", "LL")
SENSORS = ("xacc", "yacc", "zacc", "xgyro", "ygyro", "zgyro", "xmag", "ymag", "zmag")
CHANNELS = [f"{unit}_{sensor}" for unit in UNITS for sensor in SENSORS]


def _checked_text(path: Path) -> bytes:
    """The file's text with exactly ROWS lines of COLS comma-separated fields, or MalformedFileError."""
    text = path.read_bytes()
    text = (text.replace(b"\r", b"") if b"\r" in text else text).rstrip()
    if not text:
        raise MalformedFileError(path, "the file is empty; unpack the dataset again")
    lines = text.split(b"\n")
    if len(lines) != ROWS:
        line = ROWS + 1 if len(lines) > ROWS else len(lines)
        raise MalformedFileError(path, f"has {len(lines)} rows, expected {ROWS} (5 s at 25 Hz)", line=line)
    for number, line in enumerate(lines, start=1):
        if line.count(b",") != COLS - 1:
            raise MalformedFileError(
                path, f"expected {COLS} comma-separated values, found {line.count(b',') + 1}", line=number
            )
    return text + b"\n"


def _first_bad_value(path: Path) -> None:
    """Raise MalformedFileError at the first field that is not a finite number (slow; error path only)."""
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        for field in line.split(","):
            try:
                if np.isfinite(float(field)):
                    continue
            except ValueError:
                pass
            raise MalformedFileError(path, f"the value {field!r} is not a number", line=number)


def read(root: Path, files: list[Path]) -> RawData:
    if not files:
        raise DatasetMissingError(f"no a*/p*/s*.txt files under {root}/: unpack the DSADS archive there")
    text = b"".join([_checked_text(path) for path in files])  # every file: ROWS lines of COLS fields
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text),
            pa_csv.ReadOptions(column_names=CHANNELS),
            convert_options=pa_csv.ConvertOptions(column_types={name: pa.float32() for name in CHANNELS}),
        )
        X = np.empty((table.num_rows, COLS), dtype=np.float32)
        for j, column in enumerate(table.columns):
            start = 0
            for chunk in column.chunks:  # copy chunk by chunk: no concatenated temporary
                X[start : start + len(chunk), j] = chunk.to_numpy(zero_copy_only=False)
                start += len(chunk)
    except pa.ArrowInvalid:  # a non-numeric value somewhere: find it file by file
        X = None
    if X is None or not np.isfinite(X).all():
        suspects = range(len(files)) if X is None else np.flatnonzero(~np.isfinite(X).all(axis=1)) // ROWS
        for index in suspects:
            _first_bad_value(files[index])
        raise MalformedFileError(root, "a value in the a*/p*/s*.txt files is not a number")
    X = X.reshape(len(files), ROWS, COLS)
    activities = np.array([path.parent.parent.name for path in files])
    subjects = np.array([path.parent.name for path in files])
    return RawData(X, activities, list(CHANNELS), groups=subjects)
