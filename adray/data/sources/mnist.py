"""MNIST, Fashion-MNIST and EMNIST letters: 28x28 grey-scale images in IDX (or EMNIST's MATLAB) files.

Sources: MNIST (https://yann.lecun.com/exdb/mnist/) and Fashion-MNIST
(https://github.com/zalandoresearch/fashion-mnist) ship four IDX files each, usually gzipped:
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte``. EMNIST (https://www.nist.gov/itl/products-and-services/emnist-dataset)
ships the same format as ``gzip.zip`` (``emnist-letters-{train,test}-{images-idx3,labels-idx1}-ubyte.gz``)
and as ``matlab.zip`` (``emnist-letters.mat``: a struct ``dataset`` whose ``train``/``test`` fields
hold ``images`` (n x 784, uint8) and ``labels`` (n x 1)).

IDX format: a big-endian header, the magic number 0x00000803 (unsigned bytes, 3 dimensions) for
images or 0x00000801 (1 dimension) for labels, then one big-endian uint32 per dimension, then the
bytes in row-major order.

Preprocessing, as in the seeds' loaders: pixels are divided by 255 (float in [0, 1]),
shape (28, 28). MNIST / Fashion-MNIST labels are the digits "0".."9"; EMNIST letters codes 1..26
become "a".."z". EMNIST's IDX images are stored transposed, so each is transposed back to upright;
the MATLAB images are reshaped column-major (``order="F"``, as ARGUE does), which gives the same
upright images. ``official_test`` marks the rows of the official test files (t10k / test).
"""

from __future__ import annotations

import gzip
import string
import zlib
from pathlib import Path

import numpy as np

from adray.data.sources import RawData
from adray.data.sources.odds import load_arrays
from adray.errors import DatasetMissingError, MalformedFileError

IMAGES, LABELS = 0x00000803, 0x00000801  # IDX magic: unsigned byte data with 3 or 1 dimensions
LETTERS = np.array(list(string.ascii_lowercase))


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The uint8 array of an IDX file (gzipped or not), checked against its header."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise MalformedFileError(path, f"cannot be decompressed ({exc}); download it again") from None
    kind = "images" if magic == IMAGES else "labels"
    if len(data) < 4:
        raise MalformedFileError(
            path, f"is {len(data)} bytes long, too short for an IDX header; download it again"
        )
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise MalformedFileError(
            path,
            f"has the magic number 0x{found:08X}, not 0x{magic:08X} of an IDX {kind} file; "
            "is it the right file (and not a copy corrupted by the download)?",
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MalformedFileError(path, "the IDX header is truncated; download the file again")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims))
    if len(data) - header != size:
        raise MalformedFileError(
            path,
            f"holds {len(data) - header} data bytes but its header announces {dims} = {size}; "
            "the file is truncated or corrupted: download it again",
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _pixel_names(shape: tuple[int, ...]) -> list[str]:
    return [f"px_{r}_{c}" for r in range(shape[0]) for c in range(shape[1])]


def _check_counts(images: np.ndarray, labels: np.ndarray, image_path: Path, label_path: Path) -> np.ndarray:
    labels = labels.reshape(-1)
    if len(labels) != len(images):
        raise MalformedFileError(
            label_path, f"holds {len(labels)} labels but {image_path.name} holds {len(images)} images"
        )
    return labels


def _combine(train, test, labels_of) -> RawData:
    X = np.concatenate([train[0], test[0]]).astype(np.float32)
    X /= 255.0  # in place: EMNIST letters as float32 take 450 MB
    labels = np.concatenate([labels_of(train[1]), labels_of(test[1])])
    official_test = np.repeat([False, True], [len(train[0]), len(test[0])])
    return RawData(X, labels, _pixel_names(X.shape[1:]), official_test=official_test)


def read_mnist(root: Path, files: list[Path]) -> RawData:
    """MNIST or Fashion-MNIST: files = train images, train labels, t10k images, t10k labels."""
    parts = []
    for image_path, label_path in (files[0:2], files[2:4]):
        images, labels = read_idx(image_path, IMAGES), read_idx(label_path, LABELS)
        labels = _check_counts(images, labels, image_path, label_path)
        if labels.max(initial=0) > 9:
            raise MalformedFileError(label_path, f"labels must be 0..9, found {int(labels.max())}")
        parts.append((images, labels))
    return _combine(*parts, labels_of=lambda y: y.astype(str))


def _letters(codes: np.ndarray, path: Path) -> np.ndarray:
    codes = codes.astype(np.int64).reshape(-1)
    if len(codes) and (codes.min() < 1 or codes.max() > 26):
        raise MalformedFileError(
            path, f"EMNIST letters labels must be 1..26, found {codes.min()}..{codes.max()}"
        )
    return LETTERS[codes - 1]


def _emnist_idx_files(first: Path) -> list[Path]:
    """The four EMNIST IDX files, found next to the training images (gzipped or not)."""
    stem = first.name.removesuffix(".gz")
    paths = []
    for part in ("train-images-idx3", "train-labels-idx1", "test-images-idx3", "test-labels-idx1"):
        name = stem.replace("train-images-idx3", part)
        candidates = [first.with_name(name + ".gz"), first.with_name(name)]
        if first.name == stem:
            candidates.reverse()
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise DatasetMissingError(
                f"EMNIST: {first.name} was found but {name}.gz (or {name}) is missing from {first.parent}/; "
                "unpack all four emnist-letters-* files of gzip.zip there"
            )
        paths.append(found)
    return paths


def _emnist_mat(path: Path):
    dataset = load_arrays(path).get("dataset")
    try:
        out = []
        for split in ("train", "test"):
            part = dataset[split][0, 0]
            images = np.reshape(part["images"][0, 0], (-1, 28, 28), order="F")  # column-major, as ARGUE
            out.append((images, part["labels"][0, 0]))
    except (TypeError, KeyError, ValueError, IndexError) as exc:
        raise MalformedFileError(
            path, f"is not the EMNIST MATLAB file (expected dataset.train/test.images/labels: {exc})"
        ) from None
    return [(images, _check_counts(images, labels, path, path)) for images, labels in out]


def read_emnist(root: Path, files: list[Path]) -> RawData:
    """EMNIST letters from the IDX files of gzip.zip or from emnist-letters.mat of matlab.zip.

    ``files`` is the training-images file (the other three IDX files are looked up next to it), the
    four IDX files in the order train images, train labels, test images, test labels, or the .mat.
    """
    idx = [path for path in files if path.suffix != ".mat"]
    if len(idx) != 4 and any(path.suffix == ".mat" for path in files):
        mat = next(path for path in files if path.suffix == ".mat")
        train, test = _emnist_mat(mat)
        return _combine(train, test, labels_of=lambda y: _letters(y, mat))
    train_images, train_labels, test_images, test_labels = idx if len(idx) == 4 else _emnist_idx_files(idx[0])
    parts = []
    for image_path, label_path in ((train_images, train_labels), (test_images, test_labels)):
        images = read_idx(image_path, IMAGES).transpose(0, 2, 1)  # stored transposed: make letters upright
        labels = _check_counts(images, read_idx(label_path, LABELS), image_path, label_path)
        parts.append((images, _letters(labels, label_path)))
    return _combine(*parts, labels_of=lambda y: y)
