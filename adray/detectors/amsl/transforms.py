"""AMSL's six signal transformations and the per-view MinMax scaling (adray/detectors/amsl/README.md).

Every function works on a batch of windows ``x`` of shape (n, T, C) (time along axis 1), returns a
new float array and never writes into ``x``. Random draws come from the ``numpy`` Generator passed
in, so views are reproducible per seed (the original draws from the unseeded ``random``/``numpy``
global state).

The seven views, in the original's order: ``raw, noise, negate, opposite, permute, scale, smooth``.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

VIEWS: tuple[str, ...] = ("raw", "noise", "negate", "opposite", "permute", "scale", "smooth")
SNR_DB = 5.0  # noise: signal-to-noise ratio in dB, relative to the window's mean power
N_BLOCKS = 5  # permute: number of time blocks (25 steps each for DSADS' T = 125)
SCALE_FACTORS = (0.5, 2.0, 1.5, 0.8)  # scale: one factor per window
SAVGOL_WINDOW, SAVGOL_POLYORDER = 11, 2  # smooth ("time warp" in the code): Savitzky-Golay per channel


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_db: float = SNR_DB) -> np.ndarray:
    """Gaussian noise at ``snr_db`` relative to each window's mean power P = mean(x**2).

    The noise is zero-meaned over the window, then rescaled to standard deviation
    sqrt(P / 10**(snr_db / 10)) (population std, as ``np.std``).
    """
    x = np.asarray(x, dtype=np.float64)
    noise = rng.standard_normal(x.shape)
    axes = tuple(range(1, x.ndim))
    noise -= noise.mean(axis=axes, keepdims=True)
    power = (x**2).mean(axis=axes, keepdims=True)
    std = noise.std(axis=axes, keepdims=True)
    target = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    noise *= np.divide(target, std, out=np.zeros_like(std), where=std > 0)
    return x + noise


def negate(x: np.ndarray) -> np.ndarray:
    """x -> -x."""
    return -np.asarray(x, dtype=np.float64)


def reverse_time(x: np.ndarray) -> np.ndarray:
    """The "opposite" view: the time axis reversed."""
    return np.asarray(x, dtype=np.float64)[:, ::-1].copy()


def block_bounds(length: int, n_blocks: int = N_BLOCKS) -> np.ndarray:
    """Block edges of ``np.array_split``: T = 125 -> 0, 25, ..., 125; T = 8 -> 0, 2, 4, 6, 7, 8."""
    sizes = np.full(n_blocks, length // n_blocks)
    sizes[: length % n_blocks] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def permute_blocks(x: np.ndarray, order: np.ndarray, n_blocks: int = N_BLOCKS) -> np.ndarray:
    """Cut time into ``n_blocks`` consecutive blocks and concatenate them in ``order`` (n, n_blocks).

    ``order[i, k]`` is the block that comes k-th in window i (block contents keep their order).
    """
    x = np.asarray(x, dtype=np.float64)
    length = x.shape[1]
    block_of_step = np.searchsorted(block_bounds(length, n_blocks), np.arange(length), side="right") - 1
    rank = np.argsort(order, axis=1)  # rank[i, b]: output position of block b
    source = np.argsort(rank[:, block_of_step], axis=1, kind="stable")  # source step of each output step
    return np.take_along_axis(x, source[:, :, None], axis=1)


def random_block_order(n: int, rng: np.random.Generator, n_blocks: int = N_BLOCKS) -> np.ndarray:
    """(n, n_blocks) uniform random block orders (argsort of uniforms: one draw per entry)."""
    return np.argsort(rng.random((n, n_blocks)), axis=1)


def random_scale_factors(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) factors drawn uniformly from :data:`SCALE_FACTORS` (one uniform draw per window)."""
    index = np.minimum((rng.random(n) * len(SCALE_FACTORS)).astype(np.int64), len(SCALE_FACTORS) - 1)
    return np.asarray(SCALE_FACTORS)[index]


def scale(x: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Multiply window i by ``factors[i]``."""
    return np.asarray(x, dtype=np.float64) * np.asarray(factors, dtype=np.float64)[:, None, None]


def savgol_window(length: int, window: int = SAVGOL_WINDOW) -> int:
    """``window``, shrunk to the largest odd number <= ``length`` for short windows (T < 11)."""
    window = min(window, length)
    return window if window % 2 else window - 1


def smooth(x: np.ndarray, window: int = SAVGOL_WINDOW, polyorder: int = SAVGOL_POLYORDER) -> np.ndarray:
    """Savitzky-Golay smoothing of every channel along time (scipy's default ``mode="interp"``).

    With fewer than ``polyorder + 1`` steps the filter is the identity (a polynomial of that degree
    fits every point), so the window is returned unchanged.
    """
    x = np.asarray(x, dtype=np.float64)
    window = savgol_window(x.shape[1], window)
    if window <= polyorder:
        return x.copy()
    return savgol_filter(x, window_length=window, polyorder=polyorder, axis=1)


def view_generators(rng: np.random.Generator | np.random.SeedSequence) -> tuple[np.random.Generator, ...]:
    """Three independent streams (noise, block order, scale factor) for :func:`make_views`."""
    children = rng.spawn(3)
    return tuple(np.random.default_rng(c) if isinstance(c, np.random.SeedSequence) else c for c in children)


def make_views(x: np.ndarray, generators: tuple[np.random.Generator, ...], views: tuple[str, ...] = VIEWS
               ) -> np.ndarray:
    """The requested views of windows (n, T, C), stacked as (n, len(views), T, C) float32.

    ``generators`` come from :func:`view_generators`. Each stream makes the same number of draws
    per window, in window order, whatever ``views`` holds, so the views of window i depend only on
    the streams' state and x[i]: transforming a set in consecutive chunks gives the same views as
    transforming it at once.
    """
    noise_rng, order_rng, scale_rng = generators
    x = np.asarray(x)
    n = len(x)
    noise_x = add_noise(x, noise_rng)
    order = random_block_order(n, order_rng)
    factors = random_scale_factors(n, scale_rng)
    builders = {
        "raw": lambda: x,
        "noise": lambda: noise_x,
        "negate": lambda: negate(x),
        "opposite": lambda: reverse_time(x),
        "permute": lambda: permute_blocks(x, order),
        "scale": lambda: scale(x, factors),
        "smooth": lambda: smooth(x),
    }
    out = np.empty((n, len(views), *x.shape[1:]), dtype=np.float32)
    for r, view in enumerate(views):
        out[:, r] = builders[view]()
    return out


class ViewScaler:
    """One MinMax scaler per view on the flattened T*C features (the original's ``regular_mm``).

    Fit it on the training windows' views only: the original fits it on every segment, test and
    abnormal ones included (test-set leakage). Constant features get span 1.
    """

    def __init__(self, low: np.ndarray, span: np.ndarray) -> None:
        self.low = low  # (R, T, C)
        self.span = span

    @classmethod
    def fit(cls, views: np.ndarray) -> ViewScaler:
        low, high = views.min(axis=0), views.max(axis=0)
        span = high - low
        span[span == 0] = 1.0
        return cls(low.astype(np.float32), span.astype(np.float32))

    def transform(self, views: np.ndarray) -> np.ndarray:
        return ((views - self.low) / self.span).astype(np.float32)
