"""The seeds' reconstruction autoencoder (registry name ``"ae"``).

The dense AE of ARGUE's experts / the "AE" baseline of A3, ARGUE and R2-AD2 (SEEDS.md §2.1, §2.7,
§3.1, §3.6), on flattened input:

- encoder: ``[Dense(d) -> ReLU -> Dropout(p)]`` for d in ``hidden_dims[:-1]``, then
  ``Dense(hidden_dims[-1]) -> ReLU`` (the code);
- decoder: ``[Dense(d) -> ReLU -> Dropout(p)]`` for d in ``reversed(hidden_dims[:-1])``, then
  ``Dense(D_in) -> sigmoid``;
- loss: Keras binary cross-entropy against the input (which must be scaled into [0, 1]);
  optimiser Keras-Adam(learning_rate, eps 1e-7); Glorot-uniform weights, zero biases;
- score: the per-sample mean squared reconstruction error.

Defaults: ``epochs=100``, ``batch_size=256``, ``learning_rate=1e-3`` train in seconds on the
embedded sets (digits, breast_cancer, basic_motions, synthetic) on one CPU. ARGUE's protocol is
``learning_rate=1e-4`` with 500 epochs; R2-AD2's AE uses ``dropout=0.4``: set them in the sweep.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors import nn as knn
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError


def default_hidden_dims(n_inputs: int) -> tuple[int, ...]:
    """The rule used when ``hidden_dims=None``: halve from D/2 down to a code of max(2, ceil(D/16)).

    Hidden widths are D//2, D//4, ... while they exceed the code size, then the code. Examples:
    D=64 (8x8 digits) -> (32, 16, 8, 4); D=30 -> (15, 7, 3, 2); D=121 -> (60, 30, 15, 8);
    D=784 -> (392, 196, 98, 49); D<=4 -> (2,).
    """
    code = max(2, math.ceil(n_inputs / 16))
    dims, width = [], n_inputs // 2
    while width > code:
        dims.append(width)
        width //= 2
    return (*dims, code)


class DenseAutoEncoder(nn.Module):
    """Flattening dense AE with named layers (``encoder.act<i>``, ``encoder.code_act``, ...)."""

    def __init__(self, n_inputs: int, hidden_dims: tuple[int, ...], dropout: float):
        super().__init__()
        *hidden, code = hidden_dims
        encoder = OrderedDict(knn.dense_block(n_inputs, hidden, dropout=dropout).named_children())
        encoder["code"] = knn.dense(hidden[-1] if hidden else n_inputs, code)
        encoder["code_act"] = nn.ReLU()
        decoder = OrderedDict(knn.dense_block(code, hidden[::-1], dropout=dropout).named_children())
        decoder["output"] = knn.dense(hidden[0] if hidden else code, n_inputs)
        decoder["output_act"] = nn.Sigmoid()
        self.encoder = nn.Sequential(encoder)
        self.decoder = nn.Sequential(decoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, D_in) reconstruction in (0, 1)."""
        return self.decoder(self.encoder(x.flatten(1)))


class AutoEncoder(TorchDetector):
    """Reconstruction autoencoder; score = per-sample MSE (see the module docstring).

    Parameters
    ----------
    hidden_dims : widths of the encoder's Dense layers, the last one being the code; None applies
        :func:`default_hidden_dims` to the flattened input size.
    dropout : dropout after every hidden ReLU except the code's (ARGUE 0.1, R2-AD2 0.4).
    epochs, batch_size, learning_rate : training length, minibatch size and Adam step size.

    Attributes
    ----------
    hidden_dims_ : the widths used. networks_["ae"] : the :class:`DenseAutoEncoder`.
    """

    smoke_params: ClassVar[dict] = {"epochs": 2}
    param_bounds: ClassVar[dict] = {"dropout": (0.0, 0.95)}

    def __init__(self, *, hidden_dims: tuple[int, ...] | None = None, dropout: float = 0.1, epochs: int = 100,
                 batch_size: int = 256, learning_rate: float = 1e-3) -> None:
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate

    def _build(self, feature_shape, n_subclasses):
        n_inputs = int(np.prod(feature_shape))
        if self.hidden_dims is None:
            dims = default_hidden_dims(n_inputs)
        else:
            dims = tuple(self.hidden_dims)
            if not dims or not all(isinstance(d, (int, np.integer)) and d > 0 for d in dims):
                raise AdrayError(f"hidden_dims must be a non-empty sequence of positive integers, got {dims!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise AdrayError(f"dropout must be in [0, 1), got {self.dropout!r}")
        self.hidden_dims_ = tuple(int(d) for d in dims)
        return {"ae": DenseAutoEncoder(n_inputs, self.hidden_dims_, float(self.dropout))}

    def _stage_data(self, stage, X, y, subclass):
        knn.require_unit_range(X, "AutoEncoder trains")
        return (X,)

    def _train_step(self, stage, batch):
        (x,) = batch
        x = x.flatten(1)
        loss = knn.bce(self.networks_["ae"](x), x)
        self._optimize(loss)
        return {"loss": loss}

    def _score(self, batch_X):
        x = batch_X.flatten(1)
        return ((self.networks_["ae"](x) - x) ** 2).mean(dim=1)

    def reconstruct(self, X) -> np.ndarray:
        """The reconstructions of X, float32 of X's shape, values in (0, 1)."""
        self._check_fitted()
        X = self._check_X(X, "X", feature_shape=self.feature_shape_)
        net = self.networks_["ae"].eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(X), self.batch_size):
                batch = torch.from_numpy(np.array(X[start: start + self.batch_size])).to(self.device_)
                parts.append(net(batch).cpu())
        return torch.cat(parts).numpy().reshape(X.shape)
