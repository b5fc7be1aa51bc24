import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from adray.data.dataset import Dataset, DatasetMeta


def _meta(shape, name="toy"):
    return DatasetMeta(name=name, shape=shape, feature_names=[f"f{i}" for i in range(int(np.prod(shape)))],
                       normal_classes=["a"], anomalous_classes=["b"])


def test_X_is_a_zero_copy_read_only_view_of_the_arrow_buffer():
    X = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    ds = Dataset.from_arrays(X, ["a", "b", "a", "b"], _meta((2, 3)))
    view = ds.X
    assert view.shape == (4, 2, 3) and view.dtype == np.float32
    assert not view.flags.writeable and not view.flags.owndata
    buffer = ds.table.column("x").chunk(0).storage.values.buffers()[1]
    assert view.ctypes.data == buffer.address  # the very same memory as the Arrow column
    with pytest.raises(ValueError):
        view[0, 0, 0] = 1.0


def test_labels_groups_and_official_test_round_trip_through_parquet(tmp_path):
    X = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    ds = Dataset.from_arrays(X, ["2", "10", "2", "x", "10", "2"], _meta((5,)),
                             groups=["g1", "g2", "g1", "g1", "g2", "g2"],
                             official_test=[False, False, False, True, True, True])
    ds.write_parquet(tmp_path / "d.parquet")
    back = Dataset.read_parquet(tmp_path / "d.parquet")
    np.testing.assert_array_equal(back.X, X)
    assert list(back.labels) == ["2", "10", "2", "x", "10", "2"]
    assert back.classes == ["2", "10", "x"]  # natural order
    assert back.class_counts() == {"2": 3, "10": 2, "x": 1}
    codes, names = back.group_codes
    assert [names[c] for c in codes] == ["g1", "g2", "g1", "g1", "g2", "g2"]
    assert back.official_test.tolist() == [False, False, False, True, True, True]
    meta = back.meta
    assert meta.name == "toy" and meta.shape == (5,) and meta.has_groups and meta.has_official_test
    assert meta.feature_names == [f"f{i}" for i in range(5)]


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="metadata says"):
        Dataset.from_arrays(np.zeros((3, 4), np.float32), ["a"] * 3, _meta((5,)))
    with pytest.raises(ValueError, match="rows"):
        Dataset.from_arrays(np.zeros((3, 5), np.float32), ["a"] * 2, _meta((5,)))


@settings(max_examples=40, deadline=None)
@given(
    X=hnp.arrays(np.float32, st.tuples(st.integers(1, 30), st.integers(1, 4), st.integers(1, 3)),
                 elements=st.floats(-1e6, 1e6, width=32, allow_nan=False)),
    data=st.data(),
)
def test_arrow_and_parquet_round_trip_is_the_identity(tmp_path_factory, X, data):
    labels = data.draw(st.lists(st.sampled_from(["n", "a", "7"]), min_size=len(X), max_size=len(X)))
    ds = Dataset.from_arrays(X, labels, _meta(X.shape[1:]))
    path = tmp_path_factory.mktemp("rt") / "d.parquet"
    ds.write_parquet(path)
    back = Dataset.read_parquet(path)
    np.testing.assert_array_equal(back.X, X)
    assert list(back.labels) == labels
    assert isinstance(back.table.column("x").type, pa.FixedShapeTensorType)
