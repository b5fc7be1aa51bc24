"""ODDS ``.mat`` and ADBench ``.npz`` files: a feature matrix ``X`` and labels ``y`` (1 = anomaly).

Sources: the ODDS library (http://odds.cs.stonybrook.edu/) ships MATLAB files with the variables
``X`` (n x d) and ``y`` (n x 1); ADBench (https://github.com/Minqi824/ADBench) ships numpy ``.npz``
archives with the arrays ``X`` and ``y``. R2-AD2's Mammography is ODDS ``mammography.mat`` (11,183 x
6, 260 anomalies), read like any other file of this kind.

Preprocessing: none (integer features above 2^24 are stored rounded to float32, with a warning saying
by how much). Labels become "0" (normal) and "1" (anomaly); the files carry no feature
names, so features are named ``x1``..``xd``. scipy reads MATLAB files up to version 7; a v7.3 file
(which is HDF5) has to be re-saved as v7 (``save(..., '-v7')``) or converted to ``.npz``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse

from adray.data.precision import float32_rounding
from adray.data.sources import RawData
from adray.errors import MalformedFileError


def load_arrays(path: Path) -> dict:
    """The arrays of an .npz archive or the variables of a MATLAB (<= v7) file, or MalformedFileError."""
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, TypeError, AttributeError) as exc:
            raise MalformedFileError(
                path, f"is not a readable numpy .npz archive ({exc}); download it again"
            ) from None
    try:
        return scipy.io.loadmat(path)
    except NotImplementedError:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise MalformedFileError(
            path,
            "is a MATLAB v7.3 (HDF5) file, which scipy cannot read: re-save it in MATLAB with "
            "save(file, 'X', 'y', '-v7') or convert it to an .npz with arrays X and y",
        ) from None
    except (ValueError, OSError, TypeError, scipy.io.matlab.MatReadError) as exc:
        raise MalformedFileError(
            path, f"is not a readable MATLAB .mat file ({exc}); download it again"
        ) from None


def read_file(root: Path, files: list[Path]) -> RawData:
    """Any ODDS ``.mat`` or ADBench ``.npz`` file with arrays ``X`` and ``y``."""
    path = files[0]
    arrays = load_arrays(path)
    missing = [key for key in ("X", "y") if key not in arrays]
    if missing:
        found = [key for key in arrays if not key.startswith("__")]
        raise MalformedFileError(
            path,
            f"has no array(s) {' and '.join(missing)} (found: {found}); "
            "ODDS/ADBench files hold the features in X and the labels (1 = anomaly) in y",
        )
    X, y = arrays["X"], arrays["y"]
    if scipy.sparse.issparse(X):
        X = X.toarray()
    X, y = np.asarray(X), np.asarray(y).reshape(-1)
    if X.ndim != 2 or not np.issubdtype(X.dtype, np.number):
        raise MalformedFileError(
            path, f"X must be a numeric matrix (rows x features), got {X.dtype} {X.shape}"
        )
    if len(y) != len(X):
        raise MalformedFileError(path, f"X has {len(X)} rows but y has {len(y)} labels")
    if not np.isin(y, (0, 1)).all():
        raise MalformedFileError(
            path, f"y must be 0 (normal) or 1 (anomaly), found {np.unique(y)[:10].tolist()}"
        )
    names = [f"x{i}" for i in range(1, X.shape[1] + 1)]
    rounding = [note for j, name in enumerate(names) if (note := float32_rounding(X[:, j], name))]
    return RawData(X.astype(np.float32), y.astype(np.int64).astype(str), names, rounding_notes=rounding)


def read_mammography(root: Path, files: list[Path]) -> RawData:
    """ODDS ``mammography.mat`` (R2-AD2): 11,183 rows x 6 features, 260 anomalies."""
    return read_file(root, files)
