"""Shared PyTorch building blocks that reproduce the Keras defaults of the seed code.

Each default is stated once here:

- Dense/Conv kernels: Glorot-uniform, zero bias (:func:`keras_init`). LSTM: Glorot-uniform input
  kernel, orthogonal recurrent kernel, forget-gate bias 1 (Keras ``unit_forget_bias``).
- Adam: beta1 0.9, beta2 0.999, **eps 1e-7** (:func:`adam`; PyTorch's default eps is 1e-8).
- Binary cross-entropy: predictions clipped to [1e-7, 1 - 1e-7], mean over all elements (:func:`bce`).
- BatchNorm: Keras momentum 0.99 = PyTorch momentum 0.01, eps 1e-3 (:func:`batch_norm`).

:func:`dense_block` builds the seeds' ``Dense(d) -> Activation -> Dropout(p)`` stacks with named
layers (``dense<i>``, ``act<i>``, ``dropout<i>``), so A3/ARGUE-style activation taps can pick the
separate activation layers by name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from adray.errors import AdrayError

RANGE_TOLERANCE = 1e-3  # BCE-trained inputs must lie in [0 - tol, 1 + tol]


def require_unit_range(X: np.ndarray, trainer: str) -> None:
    """Refuse training data outside [0, 1] for a network trained with BCE against its input.

    ``trainer`` starts the message, e.g. "AutoEncoder trains" or "ARGUE's autoencoders train".
    """
    low, high = float(X.min()), float(X.max())
    if low < -RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        raise AdrayError(
            f"{trainer} with binary cross-entropy, so the training data must be scaled into [0, 1]; "
            f"it spans [{low:.4g}, {high:.4g}]: MinMax-scale it first"
        )

KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): BCE clipping and Adam eps
KERAS_ADAM_BETAS = (0.9, 0.999)
KERAS_BN_MOMENTUM = 0.01  # PyTorch convention for Keras' momentum=0.99
KERAS_BN_EPS = 1e-3

_GLOROT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                  nn.ConvTranspose3d)


def glorot_(layer: nn.Module) -> nn.Module:
    """Keras ``glorot_uniform`` kernel and zero bias for one Linear/Conv layer (in place).

    The bound is sqrt(6 / (fan_in + fan_out)), with the receptive field counted in both fans for
    convolutions, exactly as Keras computes it.
    """
    nn.init.xavier_uniform_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def lstm_init_(lstm: nn.LSTM) -> nn.LSTM:
    """Keras LSTM defaults: Glorot input kernel, orthogonal recurrent kernel, bias 0 except forget 1.

    PyTorch adds two biases (``bias_ih + bias_hh``); Keras has one, so ``bias_hh`` is zero.
    Gate order is (input, forget, cell, output) in both libraries.
    """
    for name, param in lstm.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(param)
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(param)
        elif name.startswith("bias"):
            nn.init.zeros_(param)
            if name.startswith("bias_ih"):
                hidden = param.shape[0] // 4
                with torch.no_grad():
                    param[hidden: 2 * hidden] = 1.0
    return lstm


def keras_init(module: nn.Module) -> nn.Module:
    """Apply the Keras initialisers to every Linear/Conv/LSTM inside ``module`` (in place)."""
    for layer in module.modules():
        if isinstance(layer, _GLOROT_LAYERS):
            glorot_(layer)
        elif isinstance(layer, nn.LSTM):
            lstm_init_(layer)
    return module


def dense(in_features: int, out_features: int, bias: bool = True) -> nn.Linear:
    """A Keras-initialised ``Dense`` (without activation)."""
    return glorot_(nn.Linear(in_features, out_features, bias=bias))


def dense_block(
    in_features: int,
    dims: Sequence[int],
    *,
    activation: Callable[[], nn.Module] = nn.ReLU,
    dropout: float = 0.0,
) -> nn.Sequential:
    """``[Dense(d) -> activation -> Dropout(dropout)]`` for each d in ``dims`` (no dropout layer if 0).

    The output size is ``dims[-1]`` (or ``in_features`` when ``dims`` is empty).
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, d in enumerate(dims):
        layers[f"dense{i}"] = dense(in_features, int(d))
        layers[f"act{i}"] = activation()
        if dropout > 0:
            layers[f"dropout{i}"] = nn.Dropout(dropout)
        in_features = int(d)
    return nn.Sequential(layers)


class Standardize(nn.Module):
    """(b, *shape) -> (b, D): flattened, each feature centred and divided by its spread on the training rows.

    ``mean`` and ``scale`` are buffers, so they move with the network and are saved in its state_dict
    (a checkpoint scores exactly as the fitted model). Built by :meth:`fit` from training rows.
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardize:
        """Mean and standard deviation of each feature of ``X`` (rows); a constant feature keeps scale 1."""
        flat = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        module = cls(flat.shape[1])
        std = flat.std(axis=0)
        module.mean.copy_(torch.from_numpy(flat.mean(axis=0)))
        module.scale.copy_(torch.from_numpy(np.where(std > 0, std, 1.0)))
        return module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) - self.mean) / self.scale


def batch_norm(num_features: int, dims: int = 1) -> nn.Module:
    """Keras-default BatchNormalization (momentum 0.99, eps 1e-3) over ``num_features`` channels."""
    cls = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dims]
    return cls(num_features, eps=KERAS_BN_EPS, momentum=KERAS_BN_MOMENTUM)


def adam(params: Iterable[torch.nn.Parameter] | Iterable[dict], lr: float) -> torch.optim.Adam:
    """Keras Adam: beta1 0.9, beta2 0.999, eps 1e-7."""
    return torch.optim.Adam(params, lr=lr, betas=KERAS_ADAM_BETAS, eps=KERAS_EPSILON)


def bce(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Keras ``BinaryCrossentropy`` on probabilities: clip to [1e-7, 1 - 1e-7], then cross-entropy.

    ``reduction="mean"`` averages over every element (Keras: mean over the last axis, then over
    the batch, which is the same for equal-length rows); ``"none"`` keeps the element-wise loss.
    Targets may lie outside {0, 1} (reconstruction targets in [0, 1]).
    """
    p = pred.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    loss = -(target * torch.log(p) + (1.0 - target) * torch.log1p(-p))
    if reduction == "mean":
        return loss.mean()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
