"""Readers for raw dataset files, one module per raw format.

Every reader has the signature ``read(root: Path, files: list[Path]) -> RawData``: ``root`` is the
folder the user put the downloaded files into (``data/<name>/``) and ``files`` the paths that matched
the dataset's catalogue patterns, in pattern order (all matches of a glob, sorted). Readers apply
each dataset's preprocessing from the seeds (dropped columns, one-hot encoding, NaN/Inf rules, label
maps) but never scale: scaling is fitted on training rows inside each trial. A file that cannot be parsed raises
:class:`adray.errors.MalformedFileError` naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RawData:
    """What a reader returns: features, class label per row and the optional extras."""

    X: np.ndarray  # (n, *shape), any real dtype; stored as float32
    labels: np.ndarray  # (n,) class names (converted to str)
    feature_names: list[str]
    groups: np.ndarray | None = None  # (n,) normal sub-class per row (ARGUE's experts)
    official_test: np.ndarray | None = None  # (n,) bool, True for rows of the official test set
    rounding_notes: list[str] = field(default_factory=list)  # adray.data.precision.float32_rounding sentences

    def __post_init__(self):
        n = len(self.X)
        for key in ("labels", "groups", "official_test"):
            value = getattr(self, key)
            if value is not None and len(value) != n:
                raise ValueError(f"RawData.{key} has {len(value)} rows, X has {n}")
