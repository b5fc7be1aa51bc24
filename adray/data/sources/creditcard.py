"""Credit Card Fraud Detection (ULB), read from Kaggle's ``creditcard.csv``.

Source: https://www.kaggle.com/datasets/mlg-ulb/creditcardfraud (284,807 card transactions of two
days in September 2013, 492 of them fraudulent).

Format: one CSV with the header ``"Time","V1",...,"V28","Amount","Class"``; ``V1``-``V28`` are PCA
components, ``Time`` is seconds since the first transaction, ``Class`` is the quoted string "0"
(genuine) or "1" (fraud).

Preprocessing (A3's; R2-AD2 uses the same file): ``Time`` is dropped, since it only
orders the two days, which leaves the 29 features V1-V28 and Amount. The labels are "0" and "1".
Scaling (MinMax) is fitted later on each trial's training rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adray.data.sources import RawData
from adray.data.sources._csv import file_line, read_csv, require_columns, to_numeric
from adray.errors import MalformedFileError

FEATURES = [f"V{i}" for i in range(1, 29)] + ["Amount"]


def read(root: Path, files: list[Path]) -> RawData:
    path = files[0]
    raw = read_csv(path)
    require_columns(raw, ["Time", *FEATURES, "Class"], path)
    frame = to_numeric(raw[[*FEATURES, "Class"]], path)
    missing = frame.isna().any(axis=1)
    if missing.any():
        row = missing.idxmax()
        column = frame.columns[frame.loc[row].isna().to_numpy()][0]
        raise MalformedFileError(
            path, f"the {column!r} value is missing; download the file again", line=file_line(raw, row)
        )
    bad = ~frame["Class"].isin([0, 1])
    if bad.any():
        row = bad.idxmax()
        raise MalformedFileError(
            path, f'Class must be "0" or "1", found {raw["Class"][row]!r}', line=file_line(raw, row)
        )
    labels = frame["Class"].to_numpy().astype(np.int64).astype(str)
    return RawData(frame[FEATURES].to_numpy(np.float32), labels, list(FEATURES))
