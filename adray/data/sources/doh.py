"""CIRA-CIC-DoHBrw-2020 (https://www.unb.ca/cic/datasets/dohbrw-2020.html), layer 2:
``l2-benign.csv`` and ``l2-malicious.csv``.

One DoH flow per row: ``SourceIP,DestinationIP,SourcePort,DestinationPort,TimeStamp,Duration,
FlowBytesSent,...,Label`` with Label Benign or Malicious. Preprocessing follows ARGUE's loader:

- both files are concatenated; the IP addresses and ports are dropped as non-informative identifiers;
- +-Inf becomes NaN and rows with NaN are dropped;
- ``TimeStamp`` is parsed and replaced by its ISO calendar week, kept as the numeric feature ``week``
  (ARGUE keeps it "so that the other methods also have a chance to learn the correlation").

``groups`` is that week as a string (e.g. "2", "3", "50", "51"): ARGUE's experts for the benign class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from adray.data.sources import RawData, _csv
from adray.errors import MalformedFileError

LABEL, TIME = "Label", "TimeStamp"
DROPPED = ["SourceIP", "DestinationIP", "SourcePort", "DestinationPort"]



def _read_file(path: Path) -> pd.DataFrame:
    frame = _csv.read_csv(path)
    _csv.require_columns(frame, [*DROPPED, TIME, LABEL], path)
    time = pd.to_datetime(frame[TIME], errors="coerce")
    bad = time.isna() & frame[TIME].notna()
    if bad.any():
        raise MalformedFileError(path, f"{TIME} {frame.loc[bad.idxmax(), TIME]!r} is not a date and time",
                                 line=_csv.file_line(frame, bad.idxmax()))
    features = _csv.to_numeric(frame.drop(columns=[*DROPPED, TIME, LABEL]), path)
    features["week"] = time.dt.isocalendar().week.astype(np.float64)  # NaN where TimeStamp is missing
    return features.assign(**{LABEL: frame[LABEL]})


def read(root: Path, files: list[Path]) -> RawData:
    """``files`` = [l2-benign.csv, l2-malicious.csv] (catalogue order)."""
    frame = _csv.drop_non_finite_rows(pd.concat([_read_file(path) for path in files], ignore_index=True))
    labels = frame.pop(LABEL)
    return RawData(
        X=frame.to_numpy(dtype=np.float32),
        labels=labels.to_numpy(dtype=object),
        feature_names=list(frame.columns),
        groups=frame["week"].astype(np.int64).astype(str).to_numpy(dtype=object),
    )
