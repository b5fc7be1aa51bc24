"""The Dataset type: one Arrow table that every trial shares without copying.

Columns
    x              fixed-shape float32 tensor, so ``X`` is a zero-copy ``(n, *shape)`` numpy view
    label          dictionary-encoded class name of each row (strings, e.g. "normal", "DoS", "7")
    group          optional dictionary-encoded sub-class (ARGUE's experts, e.g. NSL-KDD's protocol)
    official_test  optional bool: the row belongs to the dataset's official test set

The metadata (name, shape, feature names, default classes, source, loader version) travels in the
schema, so a Parquet file or an object-store copy of the table is a complete dataset on its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

META_KEY = b"adray"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DatasetMeta:
    """What a researcher (and a trial) needs to know about a dataset besides its rows."""

    name: str
    shape: tuple[int, ...]
    feature_names: list[str]
    normal_classes: list[str]
    anomalous_classes: list[str]
    source: str = ""
    loader_version: int = 1
    description: str = ""
    has_official_test: bool = False
    has_groups: bool = False
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> DatasetMeta:
        raw = json.loads(text)
        raw["shape"] = tuple(raw["shape"])
        return cls(**raw)


def _dictionary(values) -> pa.DictionaryArray:
    strings = pa.array(np.asarray(values).astype(str), type=pa.string())
    return strings.dictionary_encode()


@dataclass(frozen=True)
class Dataset:
    """An Arrow table with adray's columns and metadata; cheap to pass, zero-copy to read."""

    table: pa.Table

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        labels,
        meta: DatasetMeta,
        groups=None,
        official_test=None,
    ) -> Dataset:
        """Build a dataset from numpy arrays (features are stored as float32)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim < 2:
            raise ValueError(f"X must have shape (n, *shape), got {X.shape}")
        if tuple(X.shape[1:]) != tuple(meta.shape):
            raise ValueError(f"X rows have shape {X.shape[1:]}, metadata says {meta.shape}")
        n = X.shape[0]
        columns = {"x": pa.FixedShapeTensorArray.from_numpy_ndarray(X), "label": _dictionary(labels)}
        if groups is not None:
            columns["group"] = _dictionary(groups)
        if official_test is not None:
            columns["official_test"] = pa.array(np.asarray(official_test, dtype=bool))
        for key, col in columns.items():
            if len(col) != n:
                raise ValueError(f"column {key!r} has {len(col)} rows, X has {n}")
        meta = DatasetMeta(
            **{
                **asdict(meta),
                "shape": tuple(meta.shape),
                "has_groups": groups is not None,
                "has_official_test": official_test is not None,
            }
        )
        table = pa.table(columns).replace_schema_metadata({META_KEY: meta.to_json()})
        return cls(table)

    # --- persistence --------------------------------------------------------------------------
    def write_parquet(self, path: str | Path) -> None:
        pq.write_table(self.table, str(path))

    @classmethod
    def read_parquet(cls, path: str | Path) -> Dataset:
        """Read a cached dataset; chunks are combined so every column is one contiguous buffer."""
        table = pq.read_table(str(path)).combine_chunks()
        return cls(table.unify_dictionaries().combine_chunks())

    # --- views --------------------------------------------------------------------------------
    @property
    def meta(self) -> DatasetMeta:
        return DatasetMeta.from_json(self.table.schema.metadata[META_KEY])

    @property
    def name(self) -> str:
        return self.meta.name

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def X(self) -> np.ndarray:
        """Read-only ``(n, *shape)`` float32 view of the features; never copies."""
        column = self.table.column("x")
        if column.num_chunks != 1:
            raise ValueError("feature column must be a single chunk; build the Dataset via adray.data")
        array = column.chunk(0).to_numpy_ndarray()
        array.flags.writeable = False
        return array

    def _codes_and_names(self, key: str) -> tuple[np.ndarray, list[str]]:
        column = self.table.column(key)
        if column.num_chunks != 1:
            column = pa.chunked_array([pa.concat_arrays(column.chunks)])
        chunk = column.chunk(0)
        codes = chunk.indices.to_numpy(zero_copy_only=False)
        return codes, chunk.dictionary.to_pylist()

    @property
    def label_codes(self) -> tuple[np.ndarray, list[str]]:
        """(integer code per row, class name per code): the cheap way to select classes."""
        return self._codes_and_names("label")

    @property
    def labels(self) -> np.ndarray:
        """Class name per row (a new object array; use ``label_codes`` on hot paths)."""
        codes, names = self.label_codes
        return np.asarray(names, dtype=object)[codes]

    @property
    def classes(self) -> list[str]:
        """Classes that occur in the data, in a stable (natural) order."""
        codes, names = self.label_codes
        present = [names[c] for c in np.unique(codes)]
        return sorted(present, key=natural_key)

    @property
    def group_codes(self) -> tuple[np.ndarray, list[str]] | None:
        if "group" not in self.table.column_names:
            return None
        return self._codes_and_names("group")

    @property
    def official_test(self) -> np.ndarray | None:
        if "official_test" not in self.table.column_names:
            return None
        return self.table.column("official_test").to_numpy()

    def class_counts(self) -> dict[str, int]:
        codes, names = self.label_codes
        counts = np.bincount(codes, minlength=len(names))
        return {names[i]: int(counts[i]) for i in np.flatnonzero(counts)}

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, rows={len(self)}, shape={self.meta.shape})"


def natural_key(name: str):
    """Sort "2" before "10" and numbers before words."""
    try:
        return (0, float(name), "")
    except ValueError:
        return (1, 0.0, name)
