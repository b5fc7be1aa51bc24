"""Integer features above 2^24 in float32 storage: accepted, with the precision they lose stated.

Datasets are stored as float32 (half the memory of float64 for every trial that shares them), which
holds every integer up to 2^24 = 16,777,216 exactly and about 7 significant digits above it. Real
tables have bigger integers (Unix timestamps, byte counts), so they are stored rounded, and the
preparation says by how much, so the researcher can decide whether that matters (a timestamp that
is only an ordering key barely suffers; one used to the second may).
"""

from __future__ import annotations

import warnings

import numpy as np

FLOAT32_EXACT_LIMIT = 2**24


class PrecisionWarning(UserWarning):
    """A raw value changes when stored as float32."""


def float32_rounding(values: np.ndarray, name: str) -> str | None:
    """How much the integer column ``values`` loses as float32, as a sentence; None if nothing.

    The figures are measured on the column itself: the number of values that change and the
    largest change.
    """
    values = np.asarray(values)
    if values.size == 0 or not np.issubdtype(values.dtype, np.integer):
        return None
    big = (values > FLOAT32_EXACT_LIMIT) | (values < -FLOAT32_EXACT_LIMIT)
    if not big.any():
        return None
    exact = values.astype(np.float64)
    error = np.abs(exact - values.astype(np.float32).astype(np.float64))
    changed = int((error > 0).sum())
    if changed == 0:  # e.g. only powers of two above the limit
        return None
    largest = values[np.argmax(np.abs(exact))]
    step = float(np.spacing(np.abs(np.float32(largest))))
    return (
        f"column {name!r} has {int(big.sum())} integer(s) beyond ±2^24 = ±{FLOAT32_EXACT_LIMIT:,} (largest "
        f"{int(largest):,}, where float32 steps by {step:,.0f}); adray stores features as float32 (about 7 "
        f"significant digits), which rounds {changed} of its {values.size} values by up to {error.max():,.0f}. "
        "If that precision matters, subtract an offset (e.g. the first timestamp) or change the unit in the raw file"
    )


def warn(dataset: str, notes: list[str]) -> None:
    """Emit one PrecisionWarning per note, naming the dataset."""
    for note in notes:
        warnings.warn(f"{dataset}: {note}", PrecisionWarning, stacklevel=3)
