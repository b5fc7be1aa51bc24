import multiprocessing as mp
import os
import time

import numpy as np
import pytest

from adray.data import cache, catalog
from adray.data.catalog import DatasetSpec
from adray.data.settings import Setting
from adray.data.sources import embedded
from adray.errors import DatasetMissingError, MalformedFileError


@pytest.fixture
def counted_spec(monkeypatch, isolated_data_dir, tmp_path):
    """A dataset with one raw file whose reader records each call in a file."""
    calls = tmp_path / "calls.txt"
    real = embedded.read_synthetic

    def reader(root, files):
        with open(calls, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.3)  # long enough for concurrent preparers to collide
        if (root / "raw.txt").read_text().startswith("broken"):
            raise MalformedFileError(root / "raw.txt", "broken on purpose", line=1)
        return real()

    monkeypatch.setattr(embedded, "read_synthetic", reader)
    spec = DatasetSpec("toy", "Toy", "adray.data.sources.embedded:read_synthetic", "https://example.org/toy",
                       files=("raw.txt",), settings={"default": Setting(normal=("n0",), anomalous=("a0",))})
    monkeypatch.setitem(catalog.SPECS, "toy", spec)
    (isolated_data_dir / "toy").mkdir()
    (isolated_data_dir / "toy" / "raw.txt").write_text("v1")
    return spec, calls


def _n_calls(calls):
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_prepare_once_then_reuse_the_cache(counted_spec, isolated_data_dir):
    _, calls = counted_spec
    first = cache.prepare("toy")
    second = cache.prepare("toy")
    assert first.built and not second.built
    assert _n_calls(calls) == 1
    assert first.path == second.path and first.path.parent == isolated_data_dir / ".cache"
    np.testing.assert_array_equal(first.dataset.X, second.dataset.X)
    assert second.dataset.meta.extra["class_counts"] == {"a0": 125, "a1": 125, "n0": 750, "n1": 750, "n2": 750}


def test_changed_raw_file_or_loader_version_rebuilds_and_removes_the_stale_cache(counted_spec, isolated_data_dir,
                                                                                    monkeypatch):
    spec, calls = counted_spec
    old = cache.prepare("toy").path
    raw = isolated_data_dir / "toy" / "raw.txt"
    raw.write_text("version two")
    new = cache.prepare("toy")
    assert new.built and new.path != old and not old.exists()
    monkeypatch.setitem(catalog.SPECS, "toy", DatasetSpec(**{**spec.__dict__, "loader_version": 2}))
    newer = cache.prepare("toy")
    assert newer.built and newer.path != new.path
    assert _n_calls(calls) == 3
    assert sorted(p.name for p in (isolated_data_dir / ".cache").glob("*.parquet")) == [newer.path.name]


def _prepare_in_child(queue):
    queue.put(str(cache.prepare("toy").path))


def test_concurrent_preparation_builds_once(counted_spec):
    _, calls = counted_spec
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_prepare_in_child, args=(queue,)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    paths = {queue.get(timeout=5) for _ in procs}
    assert len(paths) == 1
    assert _n_calls(calls) == 1


def test_failed_preparation_writes_nothing(counted_spec, isolated_data_dir):
    (isolated_data_dir / "toy" / "raw.txt").write_text("broken")
    with pytest.raises(MalformedFileError, match="raw.txt, line 1: broken on purpose"):
        cache.prepare("toy")
    leftovers = [p.name for p in (isolated_data_dir / ".cache").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_missing_files_name_the_path_and_the_download_page(isolated_data_dir):
    with pytest.raises(DatasetMissingError) as err:
        cache.prepare("creditcard")
    message = str(err.value)
    assert str(isolated_data_dir / "creditcard") in message
    assert "creditcard.csv" in message and "kaggle.com" in message and "adray prepare creditcard" in message


def test_alternative_file_names_are_accepted(isolated_data_dir):
    spec = catalog.get_spec("covtype")
    folder = isolated_data_dir / "covtype"
    folder.mkdir()
    (folder / "covtype.data").write_text("")
    found, missing = cache.find_raw_files(spec, isolated_data_dir)
    assert missing == [] and found == [folder / "covtype.data"]


@pytest.mark.parametrize("name, shape, n_rows", [("digits", (8, 8), 1797), ("breast_cancer", (30,), 569),
                                                 ("basic_motions", (40, 6), 560), ("synthetic", (16,), 2500)])
def test_embedded_datasets_need_no_download(name, shape, n_rows):
    ds = cache.load(name)
    assert ds.meta.shape == shape and len(ds) == n_rows
    assert np.isfinite(ds.X).all()
    default = catalog.get_spec(name).setting()
    assert set(default.normal) | set(default.anomalous) <= set(ds.classes)
