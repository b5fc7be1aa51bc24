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
