"""Toy data for detector tests: a Gaussian blob scaled into [0, 1] (train) vs shifted points (test)."""

from dataclasses import dataclass

import numpy as np
import pytest


@dataclass(frozen=True)
class Toy:
    X_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    y_train: np.ndarray | None = None  # 1 = known anomaly; None: every training row is normal


def with_known_anomalies(toy: Toy, n: int = 64, seed: int = 7) -> Toy:
    """The toy plus ``n`` labelled training anomalies drawn like its test anomalies (for detectors that
    cannot train without known anomalies, e.g. DevNet)."""
    rng = np.random.default_rng(seed)
    flat = toy.X_train.reshape(len(toy.X_train), -1)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    known = mean + std * (rng.normal(size=(n, flat.shape[1])) + 3.0 * rng.choice([-1.0, 1.0], size=(n, flat.shape[1])))
    X = np.concatenate([flat, known]).astype(np.float32).reshape(-1, *toy.X_train.shape[1:])
    y = np.r_[np.zeros(len(flat)), np.ones(n)].astype(np.int64)
    return Toy(X, toy.X_test, toy.y_test, y)


def _scale(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """MinMax on the training rows, as the trainable does (test rows may leave [0, 1])."""
    low, high = train.min(axis=0), train.max(axis=0)
    return [((a - low) / (high - low)).astype(np.float32) for a in (train, *others)]


def make_toy(shape=(8,), n_train=256, n_normal=96, n_anomalous=32, shift=3.0, seed=0) -> Toy:
    rng = np.random.default_rng(seed)
    d = int(np.prod(shape))
    train = rng.normal(size=(n_train, d))
    normal = rng.normal(size=(n_normal, d))
    anomalous = rng.normal(size=(n_anomalous, d)) + shift * rng.choice([-1.0, 1.0], size=(n_anomalous, d))
    train, normal, anomalous = _scale(train, normal, anomalous)
    X_test = np.concatenate([normal, anomalous]).reshape(-1, *shape)
    y_test = np.r_[np.zeros(n_normal), np.ones(n_anomalous)].astype(np.int64)
    return Toy(train.reshape(-1, *shape), X_test, y_test)


@pytest.fixture(scope="session")
def toy() -> Toy:
    """Tabular (n, 8)."""
    return make_toy()


@pytest.fixture(scope="session")
def toy_images() -> Toy:
    """Image-shaped (n, 8, 8)."""
    return make_toy(shape=(8, 8), seed=1)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Detector tests train tiny networks with one intra-op thread, as an adray trial does by default
    (the trainable caps torch at the trial's CPU share).

    Why: ops this small gain nothing from a second thread, while on a machine whose cores are busy
    (a shared CI runner or workstation) OpenMP's waiting workers slowed single tests tenfold (AMSL's
    temporal-structure test: 6.5 s with one thread, 72 s with two on a loaded 2-core machine). The
    assertions themselves hold with any thread count (checked with 1 and 2).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
