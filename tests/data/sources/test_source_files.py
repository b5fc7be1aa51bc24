"""Readers of the file-based datasets, on small files written in each real format.

creditcard (CSV), covtype (UCI .data.gz / Kaggle .csv), census (UCI KDD .data/.test), ODDS (.mat) and
ADBench (.npz), MNIST / Fashion-MNIST / EMNIST (IDX, EMNIST .mat) and DSADS (aXX/pY/sZZ.txt tree).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from adray.data.dataset import Dataset, DatasetMeta
from adray.data.sources import census, covtype, creditcard, dsads, mnist, odds
from adray.errors import DatasetMissingError, MalformedFileError


def write(path: Path, lines: list[str], gz: bool = False) -> Path:
    text = ("\n".join(lines) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def assert_malformed(call, path: Path, line: int | None, *words: str) -> MalformedFileError:
    with pytest.raises(MalformedFileError) as info:
        call()
    message = str(info.value)
    assert path.name in message, message
    if line is not None:
        assert re.search(rf"\bline {line}\b", message) and info.value.line == line, message
    for word in words:
        assert word in message, message
    return info.value


def as_dataset(raw, name: str) -> Dataset:
    meta = DatasetMeta(
        name=name,
        shape=raw.X.shape[1:],
        feature_names=raw.feature_names,
        normal_classes=[],
        anomalous_classes=[],
    )
    return Dataset.from_arrays(raw.X, raw.labels, meta, groups=raw.groups, official_test=raw.official_test)


# ---- creditcard.csv -------------------------------------------------------------------------------
CC_HEADER = ",".join(f'"{c}"' for c in ["Time", *(f"V{i}" for i in range(1, 29)), "Amount", "Class"])


def cc_row(time: float, v: float, amount: float, label: str) -> str:
    return ",".join([str(time), *(str(v + i / 100) for i in range(28)), str(amount), f'"{label}"'])


def test_creditcard(tmp_path):
    path = write(
        tmp_path / "creditcard.csv",
        [CC_HEADER, cc_row(0, -1.36, 149.62, "0"), cc_row(0, 1.19, 2.69, "0"), cc_row(406, -2.31, 0.0, "1")],
    )
    raw = creditcard.read(tmp_path, [path])
    assert raw.X.shape == (3, 29) and raw.feature_names == [*(f"V{i}" for i in range(1, 29)), "Amount"]
    assert raw.labels.tolist() == ["0", "0", "1"]
    np.testing.assert_allclose(
        raw.X[0, [0, 27, 28]], [-1.36, -1.36 + 0.27, 149.62], rtol=1e-6
    )  # Time dropped
    assert raw.groups is None and raw.official_test is None


def test_creditcard_malformed(tmp_path):
    good = cc_row(0, 1.0, 2.0, "0")
    path = write(tmp_path / "creditcard.csv", [CC_HEADER, good, good + ",7"])
    assert_malformed(lambda: creditcard.read(tmp_path, [path]), path, 3, "expected 31")
    write(path, [CC_HEADER, good, good.replace("2.0", "1.0e")])
    assert_malformed(lambda: creditcard.read(tmp_path, [path]), path, 3, "'Amount'", "1.0e")
    write(path, [CC_HEADER, good, good.replace("2.0", "")])
    assert_malformed(lambda: creditcard.read(tmp_path, [path]), path, 3, "missing", "Amount")
    write(path, [CC_HEADER, good, cc_row(0, 1.0, 2.0, "2")])
    assert_malformed(lambda: creditcard.read(tmp_path, [path]), path, 3, "Class")
    write(path, [CC_HEADER.replace('"Amount",', ""), good])  # header one name short of the data lines
    assert_malformed(lambda: creditcard.read(tmp_path, [path]), path, 2, "expected 30", "found 31")
    write(path, [CC_HEADER.replace('"Amount"', '"Amt"'), good])  # wrong header
    assert_malformed(lambda: creditcard.read(tmp_path, [path]), path, 1, "Amount")
    path.write_text("")
    assert_malformed(lambda: creditcard.read(tmp_path, [path]), path, None, "empty")


# ---- covtype --------------------------------------------------------------------------------------
# first line of covtype.data: 10 quantitative values, wilderness one-hot, soil one-hot, Cover_Type 5
COV_VALUES = ["2596", "51", "3", "258", "0", "510", "221", "232", "148", "6279",
              "1", "0", "0", "0", *(["0"] * 28), "1", *(["0"] * 11)]  # fmt: skip


def cov_line(cover: int, elevation: int = 2596) -> str:
    return ",".join([str(elevation), *COV_VALUES[1:], str(cover)])


def test_covtype_uci_gz_and_kaggle_csv(tmp_path):
    gz = write(tmp_path / "covtype.data.gz", [cov_line(5), cov_line(2, 2590), cov_line(7)], gz=True)
    raw = covtype.read(tmp_path, [gz])
    assert raw.X.shape == (3, 54) and raw.labels.tolist() == ["5", "2", "7"]
    assert raw.feature_names[:3] == ["Elevation", "Aspect", "Slope"]
    assert raw.feature_names[10] == "Wilderness_Area1" and raw.feature_names[-1] == "Soil_Type40"
    assert raw.X[1, 0] == 2590 and raw.X[0, raw.feature_names.index("Soil_Type29")] == 1
    header = ",".join([*covtype.FEATURES, "Cover_Type"])
    csv = write(tmp_path / "covtype.csv", [header, cov_line(5), cov_line(2, 2590), cov_line(7)])
    from_csv = covtype.read(tmp_path, [csv])
    np.testing.assert_array_equal(from_csv.X, raw.X)
    assert from_csv.feature_names == raw.feature_names and from_csv.labels.tolist() == raw.labels.tolist()


def test_covtype_malformed(tmp_path):
    path = write(tmp_path / "covtype.data", [cov_line(5), cov_line(5)[:-2]])  # second line lost a value
    assert_malformed(lambda: covtype.read(tmp_path, [path]), path, 2)
    write(path, [cov_line(5), cov_line(8)])
    assert_malformed(lambda: covtype.read(tmp_path, [path]), path, 2, "Cover_Type")
    write(path, [cov_line(5), cov_line(5).replace("2596", "x", 1)])
    assert_malformed(lambda: covtype.read(tmp_path, [path]), path, 2, "'x'")
    gz = tmp_path / "covtype.data.gz"
    gz.write_bytes(gzip.compress(("\n".join([cov_line(5)] * 50)).encode())[:-30])  # truncated download
    assert_malformed(lambda: covtype.read(tmp_path, [gz]), gz, None, "decompress")


# ---- census-income (KDD) --------------------------------------------------------------------------
CENSUS_DATA = [  # lines of census-income.data (the third one edited to earn 50000+)
    "73, Not in universe, 0, 0, High school graduate, 0, Not in universe, Widowed, Not in universe or "
    "children, Not in universe, White, All other, Female, Not in universe, Not in universe, Not in labor "
    "force, 0, 0, 0, Nonfiler, Not in universe, Not in universe, Other Rel 18+ ever marr not in "
    "subfamily, Other relative of householder, 1700.09, ?, ?, ?, Not in universe under 1 year old, ?, 0, "
    "Not in universe, United-States, United-States, United-States, Native- Born in the United States, 0, "
    "Not in universe, 2, 0, 95, - 50000.",
    "58, Self-employed-not incorporated, 4, 34, Some college but no degree, 0, Not in universe, Divorced,"
    " Construction, Precision production craft & repair, White, All other, Male, Not in universe, Not in "
    "universe, Children or Armed Forces, 0, 0, 0, Head of household, South, Arkansas, Householder, "
    "Householder, 1053.55, MSA to MSA, Same county, Same county, No, Yes, 1, Not in universe, "
    "United-States, United-States, United-States, Native- Born in the United States, 0, Not in universe, "
    "2, 52, 94, - 50000.",
    "48, Private, 6, 36, Bachelors degree(BA AB BS), 0, Not in universe, Married-civilian spouse present,"
    " Manufacturing-durable goods, Executive admin and managerial, White, All other, Male, No, Not in "
    "universe, Full-time schedules, 15024, 0, 200, Joint both under 65, Not in universe, Not in universe,"
    " Householder, Householder, 1032.38, Nonmover, Nonmover, Nonmover, Yes, Not in universe, 6, Not in "
    "universe, United-States, United-States, United-States, Native- Born in the United States, 0, Not in "
    "universe, 2, 52, 95, 50000+.",
]
CENSUS_TEST = [  # first line of census-income.test: class of worker "Federal government" edited in
    "38, Federal government, 6, 36, 1st 2nd 3rd or 4th grade, 0, Not in universe, Married-civilian spouse "
    "present, Manufacturing-durable goods, Machine operators assmblrs & inspctrs, White, Mexican (Mexicano), "
    "Female, Not in universe, Not in universe, Full-time schedules, 0, 0, 0, Joint one under 65 & one 65+, "
    "Not in universe, Not in universe, Spouse of householder, Spouse of householder, 1032.38, ?, ?, ?, "
    "Not in universe under 1 year old, ?, 4, Not in universe, Mexico, Mexico, Mexico, Foreign born- Not a "
    "citizen of U S, 0, Not in universe, 2, 12, 95, - 50000.",
]


def test_census_train_and_test_share_one_hot_columns(tmp_path):
    train = write(tmp_path / "census-income.data.gz", CENSUS_DATA, gz=True)
    test = write(tmp_path / "census-income.test.gz", CENSUS_TEST, gz=True)
    raw = census.read(tmp_path, [train, test])
    assert raw.labels.tolist() == ["50000-", "50000-", "50000+", "50000-"]
    assert raw.groups.tolist() == ["Female", "Male", "Male", "Female"]
    assert raw.official_test.tolist() == [False, False, False, True]
    names = raw.feature_names
    # numeric columns stay single features (the instance weight included, as in ARGUE)
    for name in (
        "age",
        "wage per hour",
        "capital gains",
        "dividends from stocks",
        "instance weight",
        "num persons worked for employer",
        "weeks worked in year",
    ):
        assert name in names
    np.testing.assert_allclose(
        raw.X[:, names.index("instance weight")], [1700.09, 1053.55, 1032.38, 1032.38], rtol=1e-6
    )
    assert raw.X[2, names.index("capital gains")] == 15024
    # category lists are train ∪ test: a value seen only in the test file still gets its column
    worker = [n for n in names if n.startswith("class of worker_")]
    assert worker == [
        "class of worker_Federal government",
        "class of worker_Not in universe",
        "class of worker_Private",
        "class of worker_Self-employed-not incorporated",
    ]
    block = raw.X[:, [names.index(n) for n in worker]]
    np.testing.assert_array_equal(block, [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]])
    assert "detailed industry recode_4" in names and "year_94" in names and "sex_Male" in names
    assert "income" not in " ".join(names)
    # every categorical column is one-hot: exactly one 1 per row and column
    n_categorical = len(census.ATTRIBUTES) - len(census.NUMERIC)
    numeric = [names.index(census.ATTRIBUTES[i]) for i in census.NUMERIC]
    onehot = np.delete(raw.X, numeric, axis=1)
    assert set(np.unique(onehot)) == {0.0, 1.0} and (onehot.sum(axis=1) == n_categorical).all()
    dataset = as_dataset(raw, "census")
    assert dataset.group_codes is not None and dataset.official_test.tolist() == [False, False, False, True]


def test_census_malformed(tmp_path):
    test = write(tmp_path / "census-income.test", CENSUS_TEST)
    train = write(tmp_path / "census-income.data", [CENSUS_DATA[0], CENSUS_DATA[1] + ", extra"])
    assert_malformed(lambda: census.read(tmp_path, [train, test]), train, 2, "expected 42")
    write(train, [CENSUS_DATA[0], CENSUS_DATA[1].replace("- 50000.", "50000")])
    assert_malformed(lambda: census.read(tmp_path, [train, test]), train, 2, "income")
    write(train, [CENSUS_DATA[0], CENSUS_DATA[1].replace("58,", "fifty-eight,", 1)])
    assert_malformed(lambda: census.read(tmp_path, [train, test]), train, 2, "'age'", "fifty-eight")
    write(train, [CENSUS_DATA[0].rsplit(",", 3)[0]])  # 39 values
    assert_malformed(lambda: census.read(tmp_path, [train, test]), train, 1, "expected 42")


# ---- ODDS .mat / ADBench .npz ---------------------------------------------------------------------
def test_odds_mat_and_npz(tmp_path):
    X = np.arange(24, dtype=np.float64).reshape(8, 3) / 7
    y = np.array([0, 0, 1, 0, 0, 0, 1, 0])
    mat = tmp_path / "mammography.mat"
    scipy.io.savemat(mat, {"X": X, "y": y.reshape(-1, 1).astype(np.float64)})  # ODDS: y is n x 1
    raw = odds.read_mammography(tmp_path, [mat])
    assert raw.X.shape == (8, 3) and raw.feature_names == ["x1", "x2", "x3"]
    assert raw.labels.tolist() == ["0", "0", "1", "0", "0", "0", "1", "0"]
    np.testing.assert_allclose(raw.X, X, rtol=1e-6)
    npz = tmp_path / "6_cardio.npz"
    np.savez(npz, X=X, y=y)
    raw = odds.read_file(tmp_path, [npz])
    assert raw.labels.tolist()[2] == "1" and raw.X.shape == (8, 3)
    as_dataset(raw, "odds:6_cardio")


def test_odds_malformed(tmp_path):
    mat = tmp_path / "thyroid.mat"
    scipy.io.savemat(mat, {"data": np.ones((4, 2)), "y": np.zeros((4, 1))})
    assert_malformed(lambda: odds.read_file(tmp_path, [mat]), mat, None, "X", "'data'")
    scipy.io.savemat(mat, {"X": np.ones((4, 2)), "y": np.array([[0], [2], [0], [1]])})
    assert_malformed(lambda: odds.read_file(tmp_path, [mat]), mat, None, "0 (normal) or 1")
    scipy.io.savemat(mat, {"X": np.ones((4, 2)), "y": np.zeros((3, 1))})
    assert_malformed(lambda: odds.read_file(tmp_path, [mat]), mat, None, "3 labels")
    # a MATLAB v7.3 file: a 128-byte header announcing version 2.0 (HDF5) followed by HDF5 data
    header = (
        b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 ."
    )
    mat.write_bytes(header.ljust(116) + b"\0" * 8 + b"\x00\x02IM" + b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    assert_malformed(lambda: odds.read_file(tmp_path, [mat]), mat, None, "v7.3", "npz")
    mat.write_bytes(b"")
    assert_malformed(lambda: odds.read_file(tmp_path, [mat]), mat, None)
    npz = tmp_path / "cardio.npz"
    np.savez(npz, X=np.ones((4, 2)))
    assert_malformed(lambda: odds.read_file(tmp_path, [npz]), npz, None, "y")
    npz.write_bytes(b"PK\x03\x04 not really a zip")
    assert_malformed(lambda: odds.read_file(tmp_path, [npz]), npz, None, ".npz")


# ---- MNIST / Fashion-MNIST (IDX) ------------------------------------------------------------------
def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x00000800 | array.ndim  # unsigned bytes, ndim dimensions
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    data = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def mnist_files(folder: Path, n_train: int = 5, n_test: int = 3, gz: bool = True) -> list[Path]:
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    files = []
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28))
        images[0, 0, 0], images[0, 0, 1] = 255, 51
        labels = np.arange(n) % 10 if prefix == "train" else 9 - np.arange(n)
        files.append(write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz))
        files.append(write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz))
    return files


@pytest.mark.parametrize("gz", [True, False])
def test_mnist(tmp_path, gz):
    files = mnist_files(tmp_path, gz=gz)
    raw = mnist.read_mnist(tmp_path, files)
    assert raw.X.shape == (8, 28, 28) and raw.X.dtype == np.float32
    assert raw.labels.tolist() == ["0", "1", "2", "3", "4", "9", "8", "7"]
    assert raw.official_test.tolist() == [False] * 5 + [True] * 3
    assert raw.X[0, 0, 0] == 1.0 and raw.X[0, 0, 1] == pytest.approx(0.2) and raw.X.min() >= 0
    assert len(raw.feature_names) == 784 and raw.feature_names[:2] == ["px_0_0", "px_0_1"]
    assert raw.feature_names[-1] == "px_27_27"
    dataset = as_dataset(raw, "mnist")
    assert dataset.X.shape == (8, 28, 28) and dataset.classes[:2] == ["0", "1"]


def test_mnist_malformed(tmp_path):
    files = mnist_files(tmp_path, gz=False)
    good = files[0].read_bytes()
    files[0].write_bytes(good[:-100])  # truncated
    assert_malformed(lambda: mnist.read_mnist(tmp_path, files), files[0], None, "truncated")
    files[0].write_bytes(good[:10])  # truncated inside the header
    assert_malformed(lambda: mnist.read_mnist(tmp_path, files), files[0], None, "header")
    files[0].write_bytes(b"")
    assert_malformed(lambda: mnist.read_mnist(tmp_path, files), files[0], None)
    files[0].write_bytes(good)
    swapped = [files[1], files[0], *files[2:]]  # labels where the images belong: wrong magic
    assert_malformed(lambda: mnist.read_mnist(tmp_path, swapped), files[1], None, "0x00000801", "0x00000803")
    write_idx(files[3], np.arange(4), gz=False)  # 4 labels for 3 test images
    assert_malformed(lambda: mnist.read_mnist(tmp_path, files), files[3], None, "4 labels")
    gz = mnist_files(tmp_path / "gz")
    gz[2].write_bytes(gz[2].read_bytes()[:-20])  # truncated gzip download
    assert_malformed(lambda: mnist.read_mnist(tmp_path, gz), gz[2], None, "decompress")


# ---- EMNIST letters (IDX from gzip.zip, .mat from matlab.zip) -------------------------------------
def upright_letters(n: int) -> np.ndarray:
    """Asymmetric images: a bright top row and a dim left column; image i also marks pixel (1, i)."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 0, :] = 255
    images[:, 1:, 0] = 51
    for i in range(n):
        images[i, 1, 1 + i] = 102
    return images


@pytest.mark.parametrize("gz", [True, False])
def test_emnist_idx_is_transposed_upright(tmp_path, gz):
    suffix = ".gz" if gz else ""
    train, test = upright_letters(4), upright_letters(2)
    first = write_idx(
        tmp_path / f"emnist-letters-train-images-idx3-ubyte{suffix}", train.transpose(0, 2, 1), gz
    )
    write_idx(tmp_path / f"emnist-letters-train-labels-idx1-ubyte{suffix}", np.array([1, 2, 13, 14]), gz)
    write_idx(tmp_path / f"emnist-letters-test-images-idx3-ubyte{suffix}", test.transpose(0, 2, 1), gz)
    write_idx(tmp_path / f"emnist-letters-test-labels-idx1-ubyte{suffix}", np.array([26, 1]), gz)
    raw = mnist.read_emnist(tmp_path, [first])  # the catalogue matches only the training images
    all_four = sorted(tmp_path.iterdir(), key=lambda p: ("test" in p.name, "labels" in p.name))
    np.testing.assert_array_equal(mnist.read_emnist(tmp_path, all_four).X, raw.X)
    assert raw.X.shape == (6, 28, 28)
    assert raw.labels.tolist() == ["a", "b", "m", "n", "z", "a"]
    assert raw.official_test.tolist() == [False] * 4 + [True] * 2
    np.testing.assert_allclose(raw.X, np.concatenate([train, test]) / 255.0, rtol=1e-6)
    assert (raw.X[:, 0, :] == 1.0).all() and raw.X[0, 1, 1] == pytest.approx(0.4)  # top row bright: upright


def test_emnist_mat_is_upright(tmp_path):
    train, test = upright_letters(3), upright_letters(2)
    flat = lambda images: images.reshape(len(images), -1, order="F")  # noqa: E731 (MATLAB column-major)
    mat = tmp_path / "emnist-letters.mat"
    scipy.io.savemat(
        mat,
        {
            "dataset": {
                "train": {
                    "images": flat(train),
                    "labels": np.array([[1], [5], [26]]),
                    "writers": np.zeros((3, 1)),
                },
                "test": {"images": flat(test), "labels": np.array([[3], [4]]), "writers": np.zeros((2, 1))},
                "mapping": np.array([[1, 65, 97], [2, 66, 98]]),
            }
        },
    )
    raw = mnist.read_emnist(tmp_path, [mat])
    assert raw.labels.tolist() == ["a", "e", "z", "c", "d"]
    assert raw.official_test.tolist() == [False, False, False, True, True]
    np.testing.assert_allclose(raw.X, np.concatenate([train, test]) / 255.0, rtol=1e-6)


def test_emnist_malformed(tmp_path):
    first = write_idx(tmp_path / "emnist-letters-train-images-idx3-ubyte.gz", upright_letters(2))
    with pytest.raises(DatasetMissingError, match="emnist-letters-train-labels-idx1-ubyte"):
        mnist.read_emnist(tmp_path, [first])
    labels = write_idx(tmp_path / "emnist-letters-train-labels-idx1-ubyte.gz", np.array([1, 27]))
    write_idx(tmp_path / "emnist-letters-test-images-idx3-ubyte.gz", upright_letters(1))
    write_idx(tmp_path / "emnist-letters-test-labels-idx1-ubyte.gz", np.array([1]))
    assert_malformed(lambda: mnist.read_emnist(tmp_path, [first]), labels, None, "1..26")
    mat = tmp_path / "emnist-letters.mat"
    scipy.io.savemat(mat, {"dataset": {"train": {"images": np.zeros((2, 784))}}})
    assert_malformed(lambda: mnist.read_emnist(tmp_path, [mat]), mat, None, "EMNIST")


# ---- DSADS ----------------------------------------------------------------------------------------
def segment(seed: int) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(size=(125, 45)) * 10, 4)


def write_segment(path: Path, values: np.ndarray) -> Path:
    return write(path, [",".join(f"{v:.4f}" for v in row) for row in values])


def dsads_tree(root: Path) -> list[Path]:
    for i, (a, p, s) in enumerate(
        (a, p, s) for a in ("a01", "a19") for p in ("p1", "p8") for s in ("s01", "s60")
    ):
        write_segment(root / a / p / f"{s}.txt", segment(i))
    return sorted(root.glob("a*/p*/s*.txt"))


def test_dsads(tmp_path):
    files = dsads_tree(tmp_path)
    raw = dsads.read(tmp_path, files)
    assert raw.X.shape == (8, 125, 45) and raw.X.dtype == np.float32
    assert raw.labels.tolist() == ["a01"] * 4 + ["a19"] * 4
    assert raw.groups.tolist() == ["p1", "p1", "p8", "p8"] * 2
    np.testing.assert_allclose(raw.X[5], segment(5), atol=1e-4)  # a19/p1/s60.txt
    names = raw.feature_names
    assert len(names) == 45 and names[:4] == ["T_xacc", "T_yacc", "T_zacc", "T_xgyro"]
    assert names[9] == "RA_xacc" and names[-1] == "LL_zmag"
    dataset = as_dataset(raw, "dsads")
    assert dataset.X.shape == (8, 125, 45) and dataset.group_codes[1] == ["p1", "p8"]


def test_dsads_malformed(tmp_path):
    files = dsads_tree(tmp_path)
    bad = files[3]
    lines = bad.read_text().splitlines()
    write(bad, lines[:6] + [lines[6] + ",1.0"] + lines[7:])  # 46 values on line 7
    assert_malformed(lambda: dsads.read(tmp_path, files), bad, 7, "expected 45", "46")
    write(bad, lines[:100])
    assert_malformed(lambda: dsads.read(tmp_path, files), bad, 100, "100 rows")
    write(bad, lines + lines[:1])
    assert_malformed(lambda: dsads.read(tmp_path, files), bad, 126, "126 rows")
    write(bad, lines[:2] + [lines[2].replace(lines[2].split(",")[4], "abc", 1)] + lines[3:])
    assert_malformed(lambda: dsads.read(tmp_path, files), bad, 3, "'abc'")
    write(bad, lines[:40] + [lines[40].replace(lines[40].split(",")[0], "", 1)] + lines[41:])  # empty field
    assert_malformed(lambda: dsads.read(tmp_path, files), bad, 41, "not a number")
    bad.write_text("")
    assert_malformed(lambda: dsads.read(tmp_path, files), bad, None, "empty")
    with pytest.raises(DatasetMissingError):
        dsads.read(tmp_path / "nothing", [])
