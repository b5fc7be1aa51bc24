"""ISCX-URL2016 (https://www.unb.ca/cic/datasets/url-2016.html): ``All.csv``.

79 lexical features of a URL (``Querylength,domain_token_count,...,ldl_domain,...``) and the class in
``URL_Type_obf_Type`` (benign, Defacement, malware, phishing, spam). Preprocessing follows ARGUE and
R2-AD2: +-Inf becomes NaN and every feature *column* containing NaN is dropped
(a few features are undefined for many URLs; dropping the columns keeps all rows).

``groups`` is ``ldl_domain`` as a string (e.g. "0", "1"): ARGUE splits the benign class by it. It stays
a feature as well.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adray.data.sources import RawData, _csv
from adray.errors import MalformedFileError

LABEL, GROUP = "URL_Type_obf_Type", "ldl_domain"



def read(root: Path, files: list[Path]) -> RawData:
    (path,) = files
    frame = _csv.read_csv(path)
    _csv.require_columns(frame, [GROUP, LABEL], path)
    missing = frame[LABEL].isna()
    if missing.any():
        raise MalformedFileError(path, f"no {LABEL} value", line=_csv.file_line(frame, missing.idxmax()))
    features = _csv.to_numeric(frame.drop(columns=[LABEL]), path)
    features = features.replace([np.inf, -np.inf], np.nan).dropna(axis=1)
    if GROUP not in features.columns:
        raise MalformedFileError(
            path, f"column {GROUP!r} has NaN or infinite values, but it defines the groups; download it again"
        )
    return RawData(
        X=features.to_numpy(dtype=np.float32),
        labels=frame[LABEL].to_numpy(dtype=object),
        feature_names=list(features.columns),
        groups=features[GROUP].astype(np.int64).astype(str).to_numpy(dtype=object),
    )
