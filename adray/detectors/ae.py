"""Reconstruction autoencoder (registry name ``"ae"``): the seeds' AE baseline and its tabular default.

Both networks are ``[Dense(d) -> ReLU -> Dropout(p)]`` for d in ``hidden_dims[:-1]``, then
``Dense(hidden_dims[-1]) -> ReLU`` (the code), and a mirrored decoder
``[Dense(d) -> ReLU -> Dropout(p)]`` for d in ``reversed(hidden_dims[:-1])``, on flattened input;
Glorot-uniform weights, zero biases; Keras-Adam(learning_rate, eps 1e-7). They differ in
(``architecture``):

- ``"mlp"`` (default): each feature is standardised with the training rows' mean and standard
  deviation (:class:`~adray.detectors.nn.Standardize`, saved with the network); the decoder ends in a
  linear ``Dense(D_in)``; loss = MSE to the standardised input; ``hidden_dims=None`` is (64, 32).
- ``"dense"``: the seeds' AE (the "AE" baseline of A3, ARGUE and R2-AD2, and ARGUE's experts): input
  scaled into [0, 1] by the trial, decoder ending in ``Dense(D_in) -> sigmoid``, Keras binary
  cross-entropy; ``hidden_dims=None`` applies :func:`default_hidden_dims` (halving down to D/16).

Score: the per-sample mean squared reconstruction error (in standardised units for ``"mlp"``).

Defaults (``"mlp"``, dropout 0.1, 150 epochs, batch 128, learning rate 1e-3) were measured on 18
ODDS/ADBench sets (``sweeps/bench_baselines.py``, README "Baselines next to PyOD"). The seeds' AE lost
0.06 mean AUC to PyOD's AutoEncoder there, mostly through its narrow halving widths (a code of 2 for 5
to 32 features: -0.05) and [0, 1] scaling (-0.01); with those two changed, batch 128 (fewer steps, so a
wide AE does not learn to copy anomalies) and dropout 0.1 (0.0 loses 0.02) were best. The seeds ran
``architecture="dense"`` with 100 epochs, batch 256, dropout 0.1 (R2-AD2 0.4; ARGUE lr 1e-4, 500 epochs).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors import nn as knn
from adray.detectors.constraints import DROPOUT, EPOCHS, POSITIVE, POSITIVE_INT, IntSequence, Options
from adray.detectors.torch_template import TorchDetector


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


ARCHITECTURES = ("mlp", "dense")
MLP_DIMS = (64, 32)


class DenseAutoEncoder(nn.Module):
    """Flattening dense AE with named layers (``encoder.act<i>``, ``encoder.code_act``, ...).

    ``sigmoid_output=False`` ends the decoder with the linear ``output`` layer (the ``"mlp"`` AE).
    """

    def __init__(self, n_inputs: int, hidden_dims: tuple[int, ...], dropout: float, sigmoid_output: bool = True):
        super().__init__()
        *hidden, code = hidden_dims
        encoder = OrderedDict(knn.dense_block(n_inputs, hidden, dropout=dropout).named_children())
        encoder["code"] = knn.dense(hidden[-1] if hidden else n_inputs, code)
        encoder["code_act"] = nn.ReLU()
        decoder = OrderedDict(knn.dense_block(code, hidden[::-1], dropout=dropout).named_children())
        decoder["output"] = knn.dense(hidden[0] if hidden else code, n_inputs)
        if sigmoid_output:
            decoder["output_act"] = nn.Sigmoid()
        self.encoder = nn.Sequential(encoder)
        self.decoder = nn.Sequential(decoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, D_in) reconstruction (in (0, 1) with the sigmoid output)."""
        return self.decoder(self.encoder(x.flatten(1)))


class StandardizedAutoEncoder(nn.Module):
    """The ``"mlp"`` AE: ``standardize`` then a linear-output :class:`DenseAutoEncoder` (in standardised units)."""

    def __init__(self, standardize: knn.Standardize, hidden_dims: tuple[int, ...], dropout: float):
        super().__init__()
        self.standardize = standardize
        self.ae = DenseAutoEncoder(len(standardize.mean), hidden_dims, dropout, sigmoid_output=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, D_in) reconstruction of the standardised input."""
        return self.ae(self.standardize(x))

    def target(self, x: torch.Tensor) -> torch.Tensor:
        return self.standardize(x)

    def to_input_units(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.standardize.scale + self.standardize.mean


class AutoEncoder(TorchDetector):
    """Reconstruction autoencoder; score = per-sample MSE (see the module docstring).

    Parameters
    ----------
    architecture : "mlp" (standardised input, linear output, MSE) or "dense" (the seeds' AE: [0, 1]
        input, sigmoid output, binary cross-entropy).
    hidden_dims : widths of the encoder's Dense layers, the last one being the code; None = (64, 32) for
        "mlp", :func:`default_hidden_dims` of the flattened input size for "dense".
    dropout : dropout after every hidden ReLU except the code's (ARGUE 0.1, R2-AD2 0.4).
    epochs, batch_size, learning_rate : training length, minibatch size and Adam step size.

    Attributes
    ----------
    hidden_dims_ : the widths used. networks_["ae"] : the :class:`StandardizedAutoEncoder` ("mlp") or
    :class:`DenseAutoEncoder` ("dense").
    """

    summary: ClassVar[str] = "reconstruction autoencoder, the seeds' AE baseline"
    smoke_params: ClassVar[dict] = {"epochs": 2}
    default_dataset: ClassVar[str] = "digits"
    # one default (the class defaults), measured against PyOD on 18 ODDS/ADBench sets
    # (sweeps/bench_baselines.py); the seeds' network is architecture="dense" (see the module docstring)
    default_grid: ClassVar[dict[str, list]] = {"architecture": ["mlp"], "epochs": [150], "batch_size": [128],
                                               "learning_rate": [1e-3], "dropout": [0.1]}
    param_constraints: ClassVar[dict[str, list]] = {
        "architecture": [Options(*ARCHITECTURES)], "hidden_dims": [None, IntSequence()], "dropout": [DROPOUT],
        "epochs": [EPOCHS], "batch_size": [POSITIVE_INT], "learning_rate": [POSITIVE],
    }

    def __init__(self, *, architecture: str = "mlp", hidden_dims: tuple[int, ...] | None = None,
                 dropout: float = 0.1, epochs: int = 150, batch_size: int = 128,
                 learning_rate: float = 1e-3) -> None:
        self.architecture = architecture
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate

    def _fit(self, X, y, subclass, X_val, y_val, callbacks, state) -> None:
        self._fit_rows_ = X  # what the "mlp" network standardises with
        try:
            super()._fit(X, y, subclass, X_val, y_val, callbacks, state)
        finally:
            del self._fit_rows_

    def _build(self, feature_shape, n_subclasses):
        n_inputs = int(np.prod(feature_shape))
        if self.hidden_dims is None:
            dims = MLP_DIMS if self.architecture == "mlp" else default_hidden_dims(n_inputs)
        else:
            dims = tuple(self.hidden_dims)
        self.hidden_dims_ = tuple(int(d) for d in dims)
        if self.architecture == "mlp":
            net = StandardizedAutoEncoder(knn.Standardize.fit(self._fit_rows_), self.hidden_dims_, float(self.dropout))
        else:
            net = DenseAutoEncoder(n_inputs, self.hidden_dims_, float(self.dropout))
        return {"ae": net}

    def _stage_data(self, stage, X, y, subclass):
        if self.architecture == "dense":
            knn.require_unit_range(X, "AutoEncoder(architecture='dense') trains")
        return (X,)

    def _target(self, x: torch.Tensor) -> torch.Tensor:
        net = self.networks_["ae"]
        return net.target(x) if isinstance(net, StandardizedAutoEncoder) else x.flatten(1)

    def _train_step(self, stage, batch):
        (x,) = batch
        net, target = self.networks_["ae"], self._target(x)
        if isinstance(net, StandardizedAutoEncoder):
            loss = ((net(x) - target) ** 2).mean()
        else:
            loss = knn.bce(net(x), target)
        self._optimize(loss)
        return {"loss": loss}

    def _score(self, batch_X):
        return ((self.networks_["ae"](batch_X) - self._target(batch_X)) ** 2).mean(dim=1)

    def reconstruct(self, X) -> np.ndarray:
        """The reconstructions of X in X's units, float32 of X's shape."""
        self._check_fitted()
        X = self._check_X(X, "X", feature_shape=self.feature_shape_)
        net = self.networks_["ae"].eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(X), self.batch_size):
                batch = torch.from_numpy(np.array(X[start: start + self.batch_size])).to(self.device_)
                out = net(batch)
                if isinstance(net, StandardizedAutoEncoder):
                    out = net.to_input_units(out)
                parts.append(out.cpu())
        return torch.cat(parts).numpy().reshape(X.shape)
