"""A seeded synthetic generator: Gaussian normal clusters plus two kinds of anomalies.

Used as an embedded dataset and by tests that need a dataset of a chosen size. Anomaly class ``a0``
is a cluster shifted away from the normal ones (easy); ``a1`` is scattered uniformly over the data's
bounding box (a mix of easy and hard points).

:func:`make_gaussian_shift` is GANDI's 1-D experiment (``adray/detectors/gandi/README.md``): normal N(4, 1) rows and
one anomaly class per mean shift, N(4 + delta, 1).
"""

from __future__ import annotations

import numpy as np

from adray.data.sources import RawData


def make_synthetic(
    n_normal: int = 2250,
    n_anomalous: int = 250,
    n_features: int = 16,
    n_clusters: int = 3,
    shift: float = 4.0,
    seed: int = 0,
) -> RawData:
    """Rows of ``n_clusters`` normal classes ``n0..`` and anomaly classes ``a0`` (shifted) and ``a1`` (uniform)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, size=(n_clusters, n_features))
    sizes = np.full(n_clusters, n_normal // n_clusters)
    sizes[: n_normal % n_clusters] += 1
    parts, labels = [], []
    for k, size in enumerate(sizes):
        parts.append(centres[k] + rng.normal(0.0, 1.0, size=(size, n_features)))
        labels += [f"n{k}"] * int(size)
    normal = np.concatenate(parts)
    n_shifted = n_anomalous // 2
    direction = rng.normal(size=n_features)
    direction /= np.linalg.norm(direction)
    shifted = centres.mean(axis=0) + shift * 3.0 * direction + rng.normal(0.0, 1.0, size=(n_shifted, n_features))
    low, high = normal.min(axis=0), normal.max(axis=0)
    uniform = rng.uniform(low, high, size=(n_anomalous - n_shifted, n_features))
    X = np.concatenate([normal, shifted, uniform]).astype(np.float32)
    labels += ["a0"] * n_shifted + ["a1"] * (n_anomalous - n_shifted)
    order = rng.permutation(len(X))
    return RawData(X[order], np.asarray(labels)[order], [f"x{i}" for i in range(n_features)])


GANDI_SHIFTS = (0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, -0.1, -0.5, -1.0, -2.0, -3.0, -4.0, -5.0, -10.0)


def shift_class(delta: float) -> str:
    """The class name of the anomalies shifted by ``delta``: ``shift_+0.1``, ``shift_-3``, ``shift_+10``."""
    return f"shift_{delta:+g}"


def make_gaussian_shift(
    n_normal: int = 12000,
    n_per_shift: int = 1000,
    mu: float = 4.0,
    sigma: float = 1.0,
    shifts: tuple[float, ...] = GANDI_SHIFTS,
    seed: int = 0,
) -> RawData:
    """One feature ``x``: class ``normal`` ~ N(mu, sigma), class ``shift_<delta>`` ~ N(mu + delta, sigma)."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(mu, sigma, size=n_normal)] + [rng.normal(mu + d, sigma, size=n_per_shift) for d in shifts]
    labels = ["normal"] * n_normal + [shift_class(d) for d in shifts for _ in range(n_per_shift)]
    X = np.concatenate(parts).astype(np.float32)[:, None]
    order = rng.permutation(len(X))
    return RawData(X[order], np.asarray(labels)[order], ["x"])
