import numpy as np
import pytest

from adray.data import cache
from adray.errors import MalformedFileError


def test_a_csv_in_data_csv_becomes_a_dataset(isolated_data_dir):
    folder = isolated_data_dir / "csv"
    folder.mkdir()
    (folder / "sensors.csv").write_text("temp,pressure,label\n1.5,2,0\n3.25,4,1\n-1,0.5,0\n")
    ds = cache.load("csv:sensors")
    np.testing.assert_allclose(ds.X, [[1.5, 2], [3.25, 4], [-1, 0.5]])
    assert list(ds.labels) == ["0", "1", "0"] and ds.meta.feature_names == ["temp", "pressure"]


def test_a_non_numeric_feature_names_the_column_and_line(isolated_data_dir):
    folder = isolated_data_dir / "csv"
    folder.mkdir()
    (folder / "bad.csv").write_text("a,b,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(MalformedFileError, match=r"bad.csv: column 'b' is not numeric: line 3 has 'oops'"):
        cache.load("csv:bad")


def test_float32_rounding_is_measured_on_the_values():
    from adray.data.precision import float32_rounding

    assert float32_rounding(np.array([0, 2**24, -(2**24)]), "x") is None  # all exact
    assert float32_rounding(np.array([2**25, 2**30]), "x") is None  # above the limit but representable
    assert float32_rounding(np.array([1.5e9, 3.0]), "x") is None  # floats are not the integers' business
    note = float32_rounding(np.array([-(2**24) - 1, 5]), "delta")
    assert note.startswith("column 'delta' has 1 integer(s) beyond ±2^24") and "-16,777,217" in note
    assert "steps by 2" in note and "rounds 1 of its 2 values by up to 1" in note
