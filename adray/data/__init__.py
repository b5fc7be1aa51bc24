"""Datasets: raw files -> Arrow (Parquet cache) -> zero-copy views; the seeds' settings and splits.

Typical use::

    from adray.data import load, make_split
    ds = load("digits")                       # prepared once into data/.cache/
    setting = get_spec("digits").setting()    # the default setting from the seeds' tables
    split = make_split(ds, setting, seed=110)
    X_train = ds.X[split.train]

No module here imports Ray; object-store sharing lives in :mod:`adray.tune.store`.
"""

from adray.data.cache import load, prepare
from adray.data.catalog import DatasetSpec, all_specs, default_data_dir, get_spec
from adray.data.dataset import Dataset, DatasetMeta
from adray.data.settings import Setting, Split, contamination_count, make_split

__all__ = [
    "Dataset", "DatasetMeta", "DatasetSpec", "Setting", "Split", "all_specs", "contamination_count",
    "default_data_dir", "get_spec", "load", "make_split", "prepare",
]
