"""MEx-CVAE(C): mixture of experts with (convolutional and) variational autoencoders (Yu et al., Applied
Intelligence 2020) as ARGUE re-implemented it (``baselines/mex_cvaec/MEx_CVAEC.py``);
registry name ``"mexcvae"``.

Networks (dense version, on the flattened input; widths ``hidden_dims`` = ARGUE's DIM_TARGET, the last
being the code): each AE is ARGUE's target AE (``[Dense -> ReLU -> Dropout(p)]`` hidden layers, code
``Dense -> ReLU``, mirrored decoder, sigmoid output; p = 0.1, the Autoencoder default) that also
returns x_hat = the encoder's last hidden activation and y_hat = the decoder's first Dense output
(before its activation), as ARGUE's ``MEx_CVAEC_AE`` does with ``layers[-3]`` and ``layers[0]``.

- expert k (k = 1, 2): encoder -> (x_hat_k, z_k1), decoder -> (y_hat_k, y_k), and a second encoder
  (fresh weights) on the reconstruction: z_k2 = enc2(y_k);
- gate: the same AE with a code of 4 -> (xg_hat, zg, yg_hat, yg); s = sigmoid(zg);
- towers: t1 = sigmoid(Dense(s_1 z_11 + s_2 z_21)), t2 = sigmoid(Dense(s_3 z_12 + s_4 z_22)).

Loss (every MSE is Keras' mean over elements; KL is Keras ``KLDivergence(y_true=z, y_pred=n)`` with both
clipped to [1e-7, 1] and n ~ N(0.5, 1) drawn per step with the code's shape):
L_k = 0.7 * (0.5 MSE(x, y_k) + 0.3 MSE(x_hat_k, y_hat_k) + 0.2 KL(z_k1, n)) + 0.3 MSE(z_k1, z_k2);
L_gate = 0.7 MSE(x, yg) + 0.3 MSE(xg_hat, yg_hat); L_tower = 0.7 MSE(t1, 0) + 0.3 MSE(t2, 0);
loss = 0.3 L_1 + 0.3 L_2 + 0.3 L_gate + 0.1 L_tower, optimised by Keras RMSprop(learning_rate)
(rho 0.9, eps 1e-7).
Score = 0.4 S_1 + 0.4 S_2 + 0.1 t1^2 + 0.1 t2^2 with S_k = 0.6 MSE(x, y_k) + 0.4 MSE(x_hat_k, y_hat_k)
per sample.

Defect fixed (found while porting): ARGUE's expert-2 loss uses KL(z_12, n), expert 1's
second code, where the symmetric formula has expert 2's own code z_21; this port
uses z_21. Not ported: the convolutional variant (code 500) for images; images are flattened.

Defaults: ``learning_rate=1e-4``, ``epochs=500`` (ARGUE's n_epochs/lr); ``dropout=0.1``;
``batch_size=256``; ``hidden_dims=None`` uses the AE width rule (at least two widths are needed: x_hat
is a hidden layer).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors.components import baseline_networks, keras_like
from adray.detectors.components.constraints import DROPOUT, EPOCHS, POSITIVE, POSITIVE_INT, IntSequence
from adray.detectors.torch_template import TorchDetector

GATE_CODE = 4  # ARGUE: code_dim_override=4 for the gating AE
EXPERT_WEIGHTS = (0.3, 0.3, 0.3, 0.1)  # L_1, L_2, L_gate, L_tower
SCORE_WEIGHTS = (0.4, 0.4, 0.1, 0.1)  # S_1, S_2, t1^2, t2^2
KL_MEAN = 0.5  # the N(0.5, 1) reference sample


class MExEncoder(nn.Module):
    """(x_hat = last hidden activation, z = ReLU code)."""

    def __init__(self, n_inputs: int, dims: tuple[int, ...], dropout: float):
        super().__init__()
        *hidden, code = dims
        self.hidden = keras_like.dense_block(n_inputs, hidden[:-1], dropout=dropout)
        self.last = nn.Sequential(keras_like.dense(hidden[-2] if len(hidden) > 1 else n_inputs, hidden[-1]), nn.ReLU())
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.code = nn.Sequential(keras_like.dense(hidden[-1], code), nn.ReLU())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_hat = self.last(self.hidden(x.flatten(1)))
        return x_hat, self.code(self.dropout(x_hat))


class MExDecoder(nn.Module):
    """(y_hat = first Dense output before its activation, y = sigmoid reconstruction)."""

    def __init__(self, dims: tuple[int, ...], n_outputs: int, dropout: float):
        super().__init__()
        *hidden, code = dims
        hidden = hidden[::-1]
        self.first = keras_like.dense(code, hidden[0])
        rest = OrderedDict([("act", nn.ReLU())])
        if dropout > 0:
            rest["dropout"] = nn.Dropout(dropout)
        rest.update(keras_like.dense_block(hidden[0], hidden[1:], dropout=dropout).named_children())
        rest["output"] = keras_like.dense(hidden[-1], n_outputs)
        rest["output_act"] = nn.Sigmoid()
        self.rest = nn.Sequential(rest)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y_hat = self.first(z)
        return y_hat, self.rest(y_hat)


class MExAE(nn.Module):
    def __init__(self, n_inputs: int, dims: tuple[int, ...], dropout: float, second_encoder: bool):
        super().__init__()
        self.encoder = MExEncoder(n_inputs, dims, dropout)
        self.decoder = MExDecoder(dims, n_inputs, dropout)
        self.encoder2 = MExEncoder(n_inputs, dims, dropout) if second_encoder else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Expert: (x_hat, z1, y_hat, y, z2); gate (no second encoder): (x_hat, z, y_hat, y)."""
        x_hat, z1 = self.encoder(x)
        y_hat, y = self.decoder(z1)
        if self.encoder2 is None:
            return x_hat, z1, y_hat, y
        return x_hat, z1, y_hat, y, self.encoder2(y)[1]


class MExCVAENet(nn.Module):
    def __init__(self, n_inputs: int, dims: tuple[int, ...], dropout: float):
        super().__init__()
        self.expert1 = MExAE(n_inputs, dims, dropout, second_encoder=True)
        self.expert2 = MExAE(n_inputs, dims, dropout, second_encoder=True)
        self.gate = MExAE(n_inputs, (*dims[:-1], GATE_CODE), dropout, second_encoder=False)
        self.tower1 = nn.Sequential(keras_like.dense(dims[-1], 1), nn.Sigmoid())
        self.tower2 = nn.Sequential(keras_like.dense(dims[-1], 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor):
        x = x.flatten(1)
        e1, e2, g = self.expert1(x), self.expert2(x), self.gate(x)
        s = torch.sigmoid(g[1])
        t1 = self.tower1(s[:, 0:1] * e1[1] + s[:, 1:2] * e2[1])
        t2 = self.tower2(s[:, 2:3] * e1[4] + s[:, 3:4] * e2[4])
        return e1, e2, g, t1, t2


def _mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).mean()


def keras_kl(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Keras ``KLDivergence``: clip both to [1e-7, 1], sum y_true*log(y_true/y_pred) per row, mean over rows."""
    t = y_true.clamp(keras_like.KERAS_EPSILON, 1.0)
    p = y_pred.clamp(keras_like.KERAS_EPSILON, 1.0)
    return (t * torch.log(t / p)).sum(dim=1).mean()


def mex_loss(x: torch.Tensor, outputs, noise: torch.Tensor) -> dict[str, torch.Tensor]:
    """The training loss and its parts; ``noise`` is the N(0.5, 1) sample with the code's shape."""
    e1, e2, g, t1, t2 = outputs
    x = x.flatten(1)

    def expert(e):
        x_hat, z1, y_hat, y, z2 = e
        return 0.7 * (0.5 * _mse(x, y) + 0.3 * _mse(x_hat, y_hat) + 0.2 * keras_kl(z1, noise)) + 0.3 * _mse(z1, z2)

    parts = {
        "expert1": expert(e1),
        "expert2": expert(e2),
        "gate": 0.7 * _mse(x, g[3]) + 0.3 * _mse(g[0], g[2]),
        "tower": 0.7 * _mse(t1, torch.zeros_like(t1)) + 0.3 * _mse(t2, torch.zeros_like(t2)),
    }
    parts["loss"] = sum(w * parts[k] for w, k in zip(EXPERT_WEIGHTS, ("expert1", "expert2", "gate", "tower"),
                                                     strict=True))
    return parts


def mex_score(x: torch.Tensor, outputs) -> torch.Tensor:
    """(b,) 0.4 S_1 + 0.4 S_2 + 0.1 t1^2 + 0.1 t2^2."""
    e1, e2, _, t1, t2 = outputs
    x = x.flatten(1)

    def s(e):
        return 0.6 * baseline_networks.per_sample_mse(x, e[3]) + 0.4 * baseline_networks.per_sample_mse(e[0], e[2])

    w = SCORE_WEIGHTS
    return w[0] * s(e1) + w[1] * s(e2) + w[2] * t1[:, 0] ** 2 + w[3] * t2[:, 0] ** 2


class MExCVAE(TorchDetector):
    """MEx-CVAE(C) (see the module docstring).

    Parameters
    ----------
    hidden_dims : AE widths (at least two), the last being the experts' code (None: the AE width rule).
    dropout : dropout of every hidden layer (ARGUE's Autoencoder default 0.1).
    epochs, batch_size, learning_rate : training length, minibatch, RMSprop step size.
    """

    summary: ClassVar[str] = "MEx-CVAE(C): two expert CVAEs and a gate"
    smoke_params: ClassVar[dict] = {"epochs": 3, "batch_size": 32, "learning_rate": 1e-3}
    default_dataset: ClassVar[str] = "breast_cancer:unsupervised"
    default_grid: ClassVar[dict[str, list]] = {"epochs": [100], "batch_size": [32], "learning_rate": [1e-4, 1e-3]}
    param_constraints: ClassVar[dict[str, list]] = {
        "hidden_dims": [None, IntSequence(min_len=2)], "dropout": [DROPOUT], "epochs": [EPOCHS],
        "batch_size": [POSITIVE_INT], "learning_rate": [POSITIVE],
    }

    def __init__(self, *, hidden_dims: tuple[int, ...] | None = None, dropout: float = 0.1, epochs: int = 500,
                 batch_size: int = 256, learning_rate: float = 1e-4) -> None:
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate

    def build_networks(self, feature_shape, n_subclasses):
        n_inputs = int(np.prod(feature_shape))
        self.hidden_dims_ = baseline_networks.resolve_dims(self.hidden_dims, n_inputs, min_len=2)
        return {"mex": MExCVAENet(n_inputs, self.hidden_dims_, float(self.dropout))}

    def make_optimizers(self):
        return {"main": baseline_networks.keras_rmsprop(self.networks_["mex"].parameters(), self.learning_rate)}

    def train_step(self, stage, batch):
        (x,) = batch
        noise = torch.randn(len(x), self.hidden_dims_[-1], device=x.device) + KL_MEAN
        parts = mex_loss(x, self.networks_["mex"](x), noise)
        self.optimize(parts["loss"])
        return parts

    def score_batch(self, batch_X):
        return mex_score(batch_X, self.networks_["mex"](batch_X))
