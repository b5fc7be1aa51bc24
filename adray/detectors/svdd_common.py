"""What Deep-SVDD (``deepsvdd.py``) and Deep-SAD (``deepsad.py``) share: the bias-free LeakyReLU
autoencoder they pre-train, the hypersphere centre rule, their losses and the two-stage training.

As configured in ARGUE (SEEDS.md §2.7; R2-AD2 runs Deep-SAD the same way, §3.6; overview §6):

- **Pre-training AE** (stage ``"pretrain"``): LeakyReLU(0.01) activations, **no biases**, MSE loss,
  Keras-Adam with lr **1e-4** (the seeds' DeepSVDD-AE ignores the passed learning rate, §7.6; here it
  is the hyperparameter ``pretrain_learning_rate`` with that default).

  - Dense variant (tabular/series, flattened input): ``[Linear(d, no bias) -> LeakyReLU -> Dropout(p)]``
    for d in ``hidden_dims[:-1]``, then a **linear** code layer ``Linear(hidden_dims[-1], no bias)``;
    the decoder mirrors it and ends in ``Linear(D_in, no bias) -> sigmoid`` (inputs are in [0, 1]).
    ``hidden_dims=None`` uses the AE baseline's rule (:func:`adray.detectors.ae.default_hidden_dims`,
    the seeds' DIM_TARGET role); dropout defaults to ARGUE's AE value 0.1 (§2.1; R2-AD2's base uses 0.4).
  - Conv variant (images, §2.7): ``Conv8 5x5 -> BN -> LReLU -> MaxPool2 -> Conv4 5x5 -> BN -> LReLU ->
    MaxPool2 -> Flatten -> Linear(32)``, all bias-free; BN has eps 1e-4 and no learnable scale/shift
    ("frozen": ``affine=False`` as in Ruff et al.'s reference code, which keeps the network bias-free so
    it cannot collapse onto c). Decoder: ``Linear(32 -> 4 (H/4)(W/4)) -> LReLU -> Upsample2 -> Conv8 5x5
    -> BN -> LReLU -> Upsample2 -> Conv(C) 5x5 -> sigmoid`` (SEEDS.md gives only the encoder; the decoder
    mirrors it). **Rule** (``architecture="auto"``): conv for square images, shape (H, H) or channels-last
    (H, H, C) with C <= 4, whose side H is a multiple of 4 and >= 8 (digits 8x8, MNIST 28x28, CIFAR
    32x32); dense for everything else (tabular rows, series windows). Dropout applies to the dense variant
    only (the conv listing in §2.7 has none).

- **phi** = a copy of the pre-trained encoder (weights copied when stage ``"train"`` starts) + Flatten.
- **Centre** c = mean phi(normal training rows) at the start of ``"train"``; coordinates with
  |c_j| < 0.1 become +-0.1 keeping their sign, an exact 0 becomes -0.1 (:func:`center`). c then stays
  fixed (Ruff et al.). *Deviation*: ARGUE recomputes c with the trained phi at evaluation time (§2.7);
  adray scores against the c the network was trained towards.
- **Training** (stage ``"train"``): Keras-Adam(lr **1e-3**) with Keras' legacy inverse-time decay
  ``decay=1e-5`` (lr_t = lr / (1 + 1e-5 t), t = steps taken), hard-coded in the seeds (§2.7, §7.6); here
  the hyperparameters ``learning_rate`` and ``lr_decay`` with those defaults. Keras' ``decay`` is that
  learning-rate schedule, not an L2 penalty: the weight decay λ of the Deep-SVDD paper is 0 (§2.7).
- **Score** = ||phi(x) - c||^2. During ``"pretrain"`` (before c exists) the per-epoch ``val_auc`` is
  that of the AE's reconstruction MSE.

Epoch defaults: 100 + 100 epochs, batch 256 (the AE baseline's CPU-sized defaults); ARGUE trains every
model for n_epochs = 500 (§2.5): set ``pretrain_epochs``/``epochs`` in the sweep for the protocol.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors import nn as knn
from adray.detectors.ae import default_hidden_dims
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

LEAKY_SLOPE = 0.01  # LeakyReLU(0.01), §2.7
CENTER_EPS = 0.1  # |c_j| < 0.1 -> +-0.1, §2.7
SAD_EPS = 1e-6  # (d^2 + 1e-6)^{-1} for labelled anomalies, §2.7
BN_EPS = 1e-4  # conv BN eps, §2.7
CONV_CODE = 32  # Dense32 code of the conv encoder, §2.7
ARCHITECTURES = ("auto", "dense", "conv")


# ------------------------------------------------------------------------------------------ losses
def center(z: torch.Tensor, eps: float = CENTER_EPS) -> torch.Tensor:
    """c = mean of the rows of ``z``; |c_j| < eps becomes +eps for c_j > 0 and -eps otherwise (0 -> -eps)."""
    c = z.mean(dim=0)
    floor = torch.where(c > 0, torch.full_like(c, eps), torch.full_like(c, -eps))
    return torch.where(c.abs() < eps, floor, c)


def svdd_loss(dist: torch.Tensor) -> torch.Tensor:
    """One-class Deep-SVDD objective (λ = 0): mean of the squared distances ``dist`` = ||phi(x) - c||^2."""
    return dist.mean()


def sad_loss(dist: torch.Tensor, sign: torch.Tensor, eta: float = 1.0, eps: float = SAD_EPS) -> torch.Tensor:
    """Deep-SAD: mean of (dist + eps)^{+1} for normal rows (sign +1) and eta (dist + eps)^{-1} for known
    anomalies (sign -1); SEEDS.md §2.7 adds eps to every term and uses eta = 1."""
    terms = (dist + eps) ** sign
    return torch.where(sign < 0, eta * terms, terms).mean()


# ------------------------------------------------------------------------------------------ networks
def is_conv_shape(feature_shape: tuple[int, ...]) -> bool:
    """The ``architecture="auto"`` rule: square image (H, H) or (H, H, C<=4), H a multiple of 4, H >= 8."""
    if len(feature_shape) == 3 and feature_shape[2] <= 4:
        feature_shape = feature_shape[:2]
    return len(feature_shape) == 2 and feature_shape[0] == feature_shape[1] and feature_shape[0] % 4 == 0 \
        and feature_shape[0] >= 8


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(LEAKY_SLOPE)


def _dense_stack(n_in: int, dims, dropout: float) -> OrderedDict:
    layers = OrderedDict()
    for i, d in enumerate(dims):
        layers[f"dense{i}"] = knn.dense(n_in, int(d), bias=False)
        layers[f"act{i}"] = _lrelu()
        if dropout > 0:
            layers[f"dropout{i}"] = nn.Dropout(dropout)
        n_in = int(d)
    return layers


class DenseSVDDAutoEncoder(nn.Module):
    """Bias-free LeakyReLU AE on flattened input with a linear code (``encoder`` ends in ``code``)."""

    def __init__(self, n_inputs: int, hidden_dims: tuple[int, ...], dropout: float):
        super().__init__()
        *hidden, code = hidden_dims
        enc = _dense_stack(n_inputs, hidden, dropout)
        enc["code"] = knn.dense(hidden[-1] if hidden else n_inputs, code, bias=False)
        dec = _dense_stack(code, hidden[::-1], dropout)
        dec["output"] = knn.dense(hidden[0] if hidden else code, n_inputs, bias=False)
        dec["output_act"] = nn.Sigmoid()
        self.encoder = nn.Sequential(OrderedDict([("flatten", nn.Flatten()), *enc.items()]))
        self.decoder = nn.Sequential(dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, D_in) reconstruction."""
        return self.decoder(self.encoder(x))


class ToChannelsFirst(nn.Module):
    """(b, H, W) -> (b, 1, H, W); (b, H, W, C) -> (b, C, H, W) (adray images are channels-last)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=knn.KERAS_BN_MOMENTUM, affine=False)


class ConvSVDDAutoEncoder(nn.Module):
    """The §2.7 conv encoder (Conv8-Conv4-Dense32, bias-free) and its mirrored decoder."""

    def __init__(self, side: int, channels: int):
        super().__init__()
        self.side, self.channels = side, channels
        small = side // 4
        self.encoder = nn.Sequential(OrderedDict([
            ("to_nchw", ToChannelsFirst()),
            ("conv0", nn.Conv2d(channels, 8, 5, padding=2, bias=False)), ("bn0", _bn(8)), ("act0", _lrelu()),
            ("pool0", nn.MaxPool2d(2)),
            ("conv1", nn.Conv2d(8, 4, 5, padding=2, bias=False)), ("bn1", _bn(4)), ("act1", _lrelu()),
            ("pool1", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("code", nn.Linear(4 * small * small, CONV_CODE, bias=False)),
        ]))
        self.decoder = nn.Sequential(OrderedDict([
            ("dense", nn.Linear(CONV_CODE, 4 * small * small, bias=False)), ("act0", _lrelu()),
            ("unflatten", nn.Unflatten(1, (4, small, small))),
            ("up0", nn.Upsample(scale_factor=2)),
            ("conv0", nn.Conv2d(4, 8, 5, padding=2, bias=False)), ("bn0", _bn(8)), ("act1", _lrelu()),
            ("up1", nn.Upsample(scale_factor=2)),
            ("conv1", nn.Conv2d(8, channels, 5, padding=2, bias=False)), ("output_act", nn.Sigmoid()),
            ("flatten", nn.Flatten()),
        ]))
        knn.keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, C*H*W) reconstruction in channels-first order."""
        return self.decoder(self.encoder(x))

    def target(self, x: torch.Tensor) -> torch.Tensor:
        """x flattened in the decoder's (channels-first) order."""
        return self.encoder.to_nchw(x).flatten(1)


# ------------------------------------------------------------------------------------------ detector
class SVDDBase(TorchDetector):
    """Two-stage Deep-SVDD/Deep-SAD training (see the module docstring); subclasses define the loss.

    Networks: ``networks_["ae"]`` (pre-trained in ``"pretrain"``), ``networks_["phi"]`` (the encoder copy
    trained in ``"train"``). ``c_`` (checkpointed) is the centre; ``train_steps_`` counts the steps that
    the Keras lr decay uses.
    """

    state_attrs: ClassVar[tuple[str, ...]] = ("c_", "train_steps_")
    smoke_params: ClassVar[dict] = {"pretrain_epochs": 2, "epochs": 2}
    param_bounds: ClassVar[dict] = {"dropout": (0.0, 0.95), "lr_decay": (0.0, None)}

    # --------------------------------------------------------------- hooks
    def _build(self, feature_shape, n_subclasses):
        if self.architecture not in ARCHITECTURES:
            raise AdrayError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise AdrayError(f"dropout must be in [0, 1), got {self.dropout!r}")
        conv = self.architecture == "conv" or (self.architecture == "auto" and is_conv_shape(feature_shape))
        if conv:
            if not is_conv_shape(feature_shape):
                raise AdrayError(
                    f"architecture='conv' needs square images (H, H) or (H, H, C<=4) with H a multiple of 4 "
                    f"and >= 8; got feature shape {feature_shape}: use architecture='dense'"
                )
            channels = feature_shape[2] if len(feature_shape) == 3 else 1
            ae = ConvSVDDAutoEncoder(feature_shape[0], channels)
            self.architecture_, self.hidden_dims_ = "conv", (CONV_CODE,)
        else:
            n_inputs = int(np.prod(feature_shape))
            dims = default_hidden_dims(n_inputs) if self.hidden_dims is None else tuple(self.hidden_dims)
            if not dims or not all(isinstance(d, (int, np.integer)) and d > 0 for d in dims):
                raise AdrayError(f"hidden_dims must be a non-empty sequence of positive integers, got {dims!r}")
            ae = DenseSVDDAutoEncoder(n_inputs, tuple(int(d) for d in dims), float(self.dropout))
            self.architecture_, self.hidden_dims_ = "dense", tuple(int(d) for d in dims)
        self.c_, self.train_steps_ = None, 0
        return {"ae": ae, "phi": copy.deepcopy(ae.encoder)}

    def _stages(self):
        return [("pretrain", int(self.pretrain_epochs)), ("train", int(self.epochs))]

    def _make_optimizers(self):
        return {"pretrain": knn.adam(self.networks_["ae"].parameters(), self.pretrain_learning_rate),
                "main": knn.adam(self.networks_["phi"].parameters(), self.learning_rate)}

    def _train_networks(self, stage):
        return ["ae"] if stage == "pretrain" else ["phi"]

    def _on_stage_start(self, stage):
        if stage == "train":  # phi = copy of the pre-trained encoder; c is computed on the stage data
            self.networks_["phi"].load_state_dict(self.networks_["ae"].encoder.state_dict())
            self.c_, self.train_steps_ = None, 0

    def _normal_rows(self, X, y):
        """Rows the AE and the centre see: all rows here; Deep-SAD keeps y == 0."""
        return X

    def _stage_data(self, stage, X, y, subclass):
        if stage == "pretrain":
            return (self._normal_rows(X, y),)
        if self.c_ is None:  # a resumed fit restored c_ already
            self.c_ = self._center(self._normal_rows(X, y))
        return self._train_data(X, y)

    def _train_data(self, X, y) -> tuple[np.ndarray, ...]:
        return (X,)

    def _center(self, X: np.ndarray) -> torch.Tensor:
        phi = self.networks_["phi"]
        with torch.no_grad():
            z = torch.cat([phi(self._as_tensor(np.array(X[s: s + self.batch_size])))
                           for s in range(0, len(X), self.batch_size)])
        return center(z)

    def _ae_step(self, x: torch.Tensor) -> dict:
        ae = self.networks_["ae"]
        target = ae.target(x) if isinstance(ae, ConvSVDDAutoEncoder) else x.flatten(1)
        loss = ((ae(x) - target) ** 2).mean()  # Keras MSE: mean over every element
        self._optimize(loss, "pretrain")
        return {"loss": loss}

    def _dist(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.networks_["phi"](x) - self.c_) ** 2).sum(dim=1)

    def _svdd_step(self, loss: torch.Tensor) -> None:
        """Keras' legacy ``decay``: lr_t = lr / (1 + decay * t) with t the steps already taken."""
        lr = self.learning_rate / (1.0 + self.lr_decay * self.train_steps_)
        for group in self.optimizers_["main"].param_groups:
            group["lr"] = lr
        self._optimize(loss, "main")
        self.train_steps_ += 1

    def _score(self, batch_X):
        if self.c_ is None:  # during "pretrain" (val_auc reports): the AE's reconstruction MSE
            ae = self.networks_["ae"]
            target = ae.target(batch_X) if isinstance(ae, ConvSVDDAutoEncoder) else batch_X.flatten(1)
            return ((ae(batch_X) - target) ** 2).mean(dim=1)
        return self._dist(batch_X)
