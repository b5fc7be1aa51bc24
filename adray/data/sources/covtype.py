"""Forest CoverType (UCI), from ``covtype.data.gz`` / ``covtype.data`` or a ``covtype.csv``.

Source: https://archive.ics.uci.edu/dataset/31/covertype (581,012 30x30 m cells of the Roosevelt
National Forest, Colorado; 7 forest cover types).

Format: the UCI file has no header; each line holds 55 comma-separated integers: 10 quantitative
attributes, 4 binary wilderness-area columns, 40 binary soil-type columns and ``Cover_Type`` (1-7).
The ``covtype.csv`` that ARGUE and R2-AD2 read (the Kaggle copy) holds the same rows
with a header of the same names, last column ``Cover_Type``. Both give the same 54 features in the
UCI order.

Preprocessing: none besides taking ``Cover_Type`` as the label ("1".."7"); the seeds use all 54
columns as they are and MinMax-scale them on the training rows (done later, per trial).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adray.data.sources import RawData
from adray.data.sources._csv import file_line, read_csv, require_columns, to_numeric
from adray.errors import MalformedFileError

FEATURES = [
    "Elevation", "Aspect", "Slope", "Horizontal_Distance_To_Hydrology", "Vertical_Distance_To_Hydrology",
    "Horizontal_Distance_To_Roadways", "Hillshade_9am", "Hillshade_Noon", "Hillshade_3pm",
    "Horizontal_Distance_To_Fire_Points",
    *(f"Wilderness_Area{i}" for i in range(1, 5)),
    *(f"Soil_Type{i}" for i in range(1, 41)),
]  # fmt: skip
LABEL = "Cover_Type"


def read(root: Path, files: list[Path]) -> RawData:
    path = files[0]
    if path.name.endswith(".csv"):  # Kaggle copy: header with the UCI names
        frame = read_csv(path)
        require_columns(frame, [*FEATURES, LABEL], path)
        frame = frame[[*FEATURES, LABEL]]
    else:  # UCI covtype.data(.gz): no header
        frame = read_csv(path, header_lines=0, header=None)
        if frame.shape[1] != len(FEATURES) + 1:
            raise MalformedFileError(
                path, f"expected {len(FEATURES) + 1} comma-separated values, found {frame.shape[1]}", line=1
            )
        frame.columns = [*FEATURES, LABEL]
    values = to_numeric(frame, path)
    missing = values.isna().any(axis=1)
    if missing.any():
        raise MalformedFileError(
            path,
            "too few values (or an empty cell); download the file again",
            line=file_line(frame, missing.idxmax()),
        )
    bad = ~values[LABEL].isin(range(1, 8))
    if bad.any():
        row = bad.idxmax()
        raise MalformedFileError(
            path, f"{LABEL} must be 1..7, found {frame[LABEL][row]!r}", line=file_line(frame, row)
        )
    labels = values[LABEL].to_numpy().astype(np.int64).astype(str)
    return RawData(values[FEATURES].to_numpy(np.float32), labels, list(FEATURES))
