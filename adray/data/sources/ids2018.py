"""CSE-CIC-IDS2018 (https://www.unb.ca/cic/datasets/ids-2018.html), "Processed Traffic Data for ML
Algorithms": one CICFlowMeter CSV per capture day, e.g. ``Friday-02-03-2018_TrafficForML_CICFlowMeter.csv``.

Most files have 80 columns (``Dst Port,Protocol,Timestamp,...,Label``); ``Thuesday-20-02-2018`` also has
``Flow ID,Src IP,Src Port,Dst IP``. Preprocessing follows the seeds' IDS loaders (A3's and ARGUE's):

- every file is read and the files are concatenated; header rows repeated inside a file are dropped;
- ``Timestamp`` and the identifiers ``Flow ID``, ``Src IP``, ``Dst IP`` are dropped. ``Src Port`` is
  dropped too: it exists in one file only, so it would be missing for every other row;
- rows with NaN or +-Infinity in any feature are dropped;
- ``day`` = index of the file in sorted name order is added as a feature (ARGUE does this "so that the
  other methods can learn it"; A3 and R2-AD2 do not) and is also the row's group (ARGUE's per-day
  experts). ARGUE numbered the files in directory-listing order; sorting makes the numbering stable;
- ``Protocol`` is one-hot encoded with the fixed categories 0 (HOPOPT), 6 (TCP) and 17 (UDP);
- the 15 attack labels map to Benign, Bot, BruteForce, DDoS, DoS, Infiltration, WebAttacks; an unknown
  label is an error.

The files total several GB, so each file is turned into a float32 block column by column right after
parsing and only the blocks are kept; peak memory is about four times the largest file (pandas parses a
whole file at once) plus the float32 result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from adray.data.sources import RawData, _csv
from adray.errors import MalformedFileError

LABEL = "Label"
DROPPED = ("Timestamp", "Flow ID", "Src IP", "Src Port", "Dst IP")
PROTOCOLS = (0, 6, 17)
LABEL_MAP = {
    "Benign": "Benign",
    "Bot": "Bot",
    "FTP-BruteForce": "BruteForce",
    "SSH-Bruteforce": "BruteForce",
    "DDoS attacks-LOIC-HTTP": "DDoS",
    "DDOS attack-LOIC-UDP": "DDoS",
    "DDOS attack-HOIC": "DDoS",
    "DoS attacks-GoldenEye": "DoS",
    "DoS attacks-Slowloris": "DoS",
    "DoS attacks-SlowHTTPTest": "DoS",
    "DoS attacks-Hulk": "DoS",
    "Infilteration": "Infiltration",
    "Brute Force -Web": "WebAttacks",
    "Brute Force -XSS": "WebAttacks",
    "SQL Injection": "WebAttacks",
}



def _error_at(frame: pd.DataFrame, bad: pd.Series, path: Path, problem: str) -> MalformedFileError:
    return MalformedFileError(path, problem, line=_csv.file_line(frame, bad.idxmax()))


def _read_file(path: Path, day: int, columns: list[str] | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One day's file: (its raw feature columns, float32 rows in the final layout, mapped labels).

    ``columns`` are the first file's feature columns, which every other file must have too. Rows with
    NaN or +-Inf in a feature are left out.
    """
    frame = _csv.read_csv(path)  # all columns: with usecols, pandas silently ignores surplus values on a line
    _csv.require_columns(frame, ["Protocol", LABEL] if columns is None else [*columns, LABEL], path)
    here = [c for c in frame.columns if c not in DROPPED and c != LABEL]
    if columns is None:
        columns = here
    elif len(here) != len(columns):
        extra = sorted(set(here) - set(columns))
        raise MalformedFileError(path, f"has column(s) {extra} that the other IDS2018 files lack", line=1)

    repeated_header = frame[LABEL] == LABEL
    if repeated_header.any():
        frame = frame.loc[~repeated_header]
    labels = frame[LABEL].map(LABEL_MAP)
    if labels.isna().any():
        bad = labels.isna()
        raise _error_at(frame, bad, path, f"unknown label {frame.loc[bad.idxmax(), LABEL]!r}; "
                        f"known labels: {', '.join(LABEL_MAP)}")

    text = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:  # only columns that held a repeated header or other text: convert, naming bad lines
        frame[text] = _csv.to_numeric(frame[text], path)
    protocol = frame["Protocol"]
    unknown = protocol.notna() & ~protocol.isin(PROTOCOLS)
    if unknown.any():
        value = protocol[unknown.idxmax()]
        raise _error_at(frame, unknown, path, f"unknown Protocol {value:g}; expected one of {PROTOCOLS}")

    # final layout: the features except Protocol, then day, then the Protocol one-hot columns
    kept = [c for c in columns if c != "Protocol"]
    X = np.empty((len(frame), len(kept) + 1 + len(PROTOCOLS)), dtype=np.float32)
    finite = np.ones(len(frame), dtype=bool)
    for j, name in enumerate(kept):
        values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        finite &= np.isfinite(values)
        X[:, j] = values
    finite &= protocol.notna().to_numpy()
    X[:, len(kept)] = day
    for j, value in enumerate(PROTOCOLS, start=len(kept) + 1):
        X[:, j] = protocol.to_numpy() == value
    if finite.all():
        return columns, X, labels.to_numpy(dtype=object)
    return columns, X[finite], labels.to_numpy(dtype=object)[finite]


def read(root: Path, files: list[Path]) -> RawData:
    """All day files (``*.csv``); the day / group of a row is its file's index in sorted order."""
    columns, blocks, labels = None, [], []
    for day, path in enumerate(sorted(files)):
        columns, X, file_labels = _read_file(path, day, columns)
        blocks.append(X)
        labels.append(file_labels)
    names = [c for c in columns if c != "Protocol"] + ["day"] + [f"Protocol_{p}" for p in PROTOCOLS]
    X = np.empty((sum(len(b) for b in blocks), len(names)), dtype=np.float32)
    groups = np.empty(len(X), dtype=object)
    start = 0
    for day in range(len(blocks)):  # fill and free block by block: peak memory ~ result + one file
        block, blocks[day] = blocks[day], None
        X[start:start + len(block)] = block
        groups[start:start + len(block)] = str(day)
        start += len(block)
    return RawData(X=X, labels=np.concatenate(labels), feature_names=names, groups=groups)
