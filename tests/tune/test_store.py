"""A dataset put once into Ray's object store is read by every trial without a copy."""

import sys

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from adray.data.dataset import Dataset, DatasetMeta  # noqa: E402
from adray.tune.store import get_dataset, put_dataset  # noqa: E402

pytestmark = pytest.mark.ray
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import test modules


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=400 * 2**20)
    yield
    ray.shutdown()


def _rss_anon_kib() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise RuntimeError("no RssAnon")


@ray.remote
def _read_in_worker(refs):
    before = _rss_anon_kib()
    ds = get_dataset(refs[0])
    X = ds.X
    checksum = float(X[:, :8].sum(dtype=np.float64))  # touch the data
    touched = float(X.sum(dtype=np.float64))
    mapping = next(
        line.split()[-2] if line.strip().endswith("(deleted)") else line.split()[-1]
        for line in open("/proc/self/maps")
        if int(line.split()[0].split("-")[0], 16) <= X.ctypes.data < int(line.split()[0].split("-")[1], 16)
    )
    return {
        "mapping": mapping, "writeable": X.flags.writeable, "owndata": X.flags.owndata,
        "rss_anon_growth_kib": _rss_anon_kib() - before, "checksum": checksum, "touched": touched,
        "shape": X.shape, "name": ds.name, "labels": list(ds.labels[:3]),
    }


def test_trials_get_a_zero_copy_read_only_view_from_shared_memory(local_ray):
    rng = np.random.default_rng(0)
    X = rng.random((250_000, 64), dtype=np.float32)  # 61 MiB
    labels = np.where(rng.random(len(X)) < 0.1, "anomaly", "normal")
    meta = DatasetMeta(name="big", shape=(64,), feature_names=[f"f{i}" for i in range(64)],
                       normal_classes=["normal"], anomalous_classes=["anomaly"])
    ds = Dataset.from_arrays(X, labels, meta)
    ref = put_dataset(ds)
    results = ray.get([_read_in_worker.remote([ref]) for _ in range(2)])
    for r in results:
        assert r["name"] == "big" and r["shape"] == (250_000, 64) and r["labels"] == list(labels[:3])
        assert r["checksum"] == pytest.approx(float(X[:, :8].sum(dtype=np.float64)))
        assert "plasma" in r["mapping"], r["mapping"]  # the array lives in the object store's shared memory
        assert not r["writeable"] and not r["owndata"]
        # reading all 61 MiB did not allocate a private copy
        assert r["rss_anon_growth_kib"] < 8 * 1024, r["rss_anon_growth_kib"]
