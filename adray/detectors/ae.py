"""Reconstruction autoencoder (registry name ``"ae"``): the seeds' AE baseline and its tabular default.

Both networks are ``[Dense(d) -> ReLU -> Dropout(p)]`` for d in ``hidden_dims[:-1]``, then
``Dense(hidden_dims[-1]) -> ReLU`` (the code), and a mirrored decoder
``[Dense(d) -> ReLU -> Dropout(p)]`` for d in ``reversed(hidden_dims[:-1])``, on flattened input;
Glorot-uniform weights, zero biases; Keras-Adam(learning_rate, eps 1e-7). They differ in
(``architecture``):

- ``"mlp"`` (default): each feature is standardised with the training rows' mean and standard
  deviation (:class:`~adray.detectors.components.keras_like.Standardize`, saved with the network); the decoder ends in a
  linear ``Dense(D_in)``; loss = MSE to the standardised input; ``hidden_dims=None`` is (64, 32).
- ``"dense"``: the seeds' AE (the "AE" baseline of A3, ARGUE and R2-AD2, and ARGUE's experts): input
  scaled into [0, 1] by the trial, decoder ending in ``Dense(D_in) -> sigmoid``, Keras binary
  cross-entropy; ``hidden_dims=None`` applies
  :func:`~adray.detectors.components.autoencoders.default_hidden_dims` (halving down to D/16).

Score: the per-sample mean squared reconstruction error (in standardised units for ``"mlp"``).

Defaults (``"mlp"``, dropout 0.1, 150 epochs, batch 128, learning rate 1e-3) were measured on 18
ODDS/ADBench sets (``adray bench baselines``, README "Baselines next to PyOD"). The seeds' AE lost
0.06 mean AUC to PyOD's AutoEncoder there, mostly through its narrow halving widths (a code of 2 for 5
to 32 features: -0.05) and [0, 1] scaling (-0.01); with those two changed, batch 128 (fewer steps, so a
wide AE does not learn to copy anomalies) and dropout 0.1 (0.0 loses 0.02) were best. The seeds ran
``architecture="dense"`` with 100 epochs, batch 256, dropout 0.1 (R2-AD2 0.4; ARGUE lr 1e-4, 500 epochs).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from adray.detectors.components import keras_like
from adray.detectors.components.autoencoders import DenseAutoEncoder, StandardizedAutoEncoder, default_hidden_dims
from adray.detectors.components.constraints import DROPOUT, EPOCHS, POSITIVE, POSITIVE_INT, IntSequence, Options
from adray.detectors.torch_template import TorchDetector

ARCHITECTURES = ("mlp", "dense")
MLP_DIMS = (64, 32)


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
    # (adray bench baselines); the seeds' network is architecture="dense" (see the module docstring)
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

    def build_networks(self, feature_shape, n_subclasses):
        n_inputs = int(np.prod(feature_shape))
        if self.hidden_dims is None:
            dims = MLP_DIMS if self.architecture == "mlp" else default_hidden_dims(n_inputs)
        else:
            dims = tuple(self.hidden_dims)
        self.hidden_dims_ = tuple(int(d) for d in dims)
        if self.architecture == "mlp":
            standardize = keras_like.Standardize.fit(self.fit_data[0])
            net = StandardizedAutoEncoder(standardize, self.hidden_dims_, float(self.dropout))
        else:
            net = DenseAutoEncoder(n_inputs, self.hidden_dims_, float(self.dropout))
        return {"ae": net}

    def stage_data(self, stage, X, y, subclass):
        if self.architecture == "dense":
            keras_like.require_unit_range(X, "AutoEncoder(architecture='dense') trains")
        return (X,)

    def _target(self, x: torch.Tensor) -> torch.Tensor:
        net = self.networks_["ae"]
        return net.target(x) if isinstance(net, StandardizedAutoEncoder) else x.flatten(1)

    def train_step(self, stage, batch):
        (x,) = batch
        net, target = self.networks_["ae"], self._target(x)
        if isinstance(net, StandardizedAutoEncoder):
            loss = ((net(x) - target) ** 2).mean()
        else:
            loss = keras_like.bce(net(x), target)
        self.optimize(loss)
        return {"loss": loss}

    def score_batch(self, batch_X):
        return ((self.networks_["ae"](batch_X) - self._target(batch_X)) ** 2).mean(dim=1)

    def reconstruct(self, X) -> np.ndarray:
        """The reconstructions of X in X's units, float32 of X's shape."""
        self._check_fitted()
        X = self._check_X(X, "X", feature_shape=self.feature_shape_)
        net = self.networks_["ae"]

        def reconstruction(batch: torch.Tensor) -> torch.Tensor:
            out = net(batch)
            return (net.to_input_units(out) if isinstance(net, StandardizedAutoEncoder) else out).cpu()

        return torch.cat(self.infer(reconstruction, self.batches(X))).numpy().reshape(X.shape)
