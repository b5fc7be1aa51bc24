"""What Deep-SVDD (``deepsvdd.py``) and Deep-SAD (``deepsad.py``) share: the bias-free networks (and the
autoencoders that pre-train them), the hypersphere centre rule, their losses and the two-stage training.

Networks (``architecture``):

- ``"branched"`` (default for rows of features): PyOD's DeepSVDD network in ``n_branches`` independent
  copies trained side by side. Each feature is standardised with the training rows' mean and standard
  deviation (:class:`~adray.detectors.components.keras_like.Standardize`, saved with the network), then every
  branch is ``[Linear(d, no bias) -> ReLU]`` for d in ``hidden_dims`` (None = (64, 32)), the code included
  (ReLU-coded, as PyOD); phi(x) joins the branches' codes, so ||phi(x) - c||^2 is the sum of the branches'
  distances; the loss is taken per branch and summed, so each branch gets exactly the gradient it would
  get alone. Not pre-trained by default (PyOD's recipe: the centre comes from the freshly initialised
  network); with ``pretrain_epochs`` each branch has a mirrored decoder reconstructing the standardised
  input. ``n_branches=1`` is PyOD's network. Why branches: a single randomly initialised Deep-SVDD's AUC
  depends strongly on its seed on some sets; the sum over five independent branches averages that out for
  1.4 times the fitting time of one network on the 18 sets (each layer is one batched matmul over the
  branches).
- ``"mlp"``: Ruff et al.'s own network for tabular data (Deep-SAD reference code, ODDS experiments), on
  the same standardised input: ``[Linear(d, no bias) -> BatchNorm(eps 1e-4, affine=False) ->
  LeakyReLU(0.01)]`` for d in ``hidden_dims[:-1]`` and a linear code ``Linear(hidden_dims[-1], no bias)``;
  ``hidden_dims=None`` is (128, 64, 32). The decoder mirrors it and ends in a linear ``Linear(D_in, no bias)``:
  it reconstructs the standardised input. PyTorch's default initialisation, as in that code.
- ``"dense"``: the seeds' dense network as ARGUE configured it: on the trial's [0, 1] input,
  ``[Linear(d, no bias) -> LeakyReLU -> Dropout(p)]`` for d in ``hidden_dims[:-1]``, a linear code, a
  mirrored decoder ending in ``Linear(D_in, no bias) -> sigmoid``; ``hidden_dims=None`` uses the AE
  baseline's halving rule (:func:`~adray.detectors.components.autoencoders.default_hidden_dims`); Glorot
  initialisation. The
  seeds ran it with dropout 0.1 (R2-AD2 0.4), 100 + 100 epochs, batch 256, learning rates 1e-4 / 1e-3.
- ``"conv"`` (default for images): ``Conv8 5x5 -> BN -> LReLU -> MaxPool2 -> Conv4 5x5 -> BN -> LReLU ->
  MaxPool2 -> Flatten -> Linear(32)``, all bias-free; BN has eps 1e-4 and no learnable scale/shift. Decoder:
  ``Linear(32 -> 4 (H/4)(W/4)) -> LReLU -> Upsample2 -> Conv8 5x5 -> BN -> LReLU -> Upsample2 -> Conv(C)
  5x5 -> sigmoid``. **Rule** (``architecture="auto"``): conv for square images, shape (H, H) or
  channels-last (H, H, C) with C <= 4, whose side H is a multiple of 4 and >= 8 (digits 8x8, MNIST 28x28,
  CIFAR 32x32); branched for everything else (tabular rows, series windows). ``architecture="seeds"``
  applies the same rule with the seeds' dense network instead (what the papers ran). Dropout applies to the
  fully connected networks (branched, mlp, dense) only.

Why no biases, no learnable BN shift and no bounded activations: with them a network can map every input
onto c, the trivial minimum of the objective (Ruff et al. 2018, Prop. 1-3): the "collapse".

- **Pre-training** (stage ``"pretrain"``, ``pretrain_epochs`` epochs; None = the network's protocol: none for
  branched, 150 for the others): the AE minimises the MSE of its reconstruction with Adam
  (``pretrain_learning_rate``).
- **phi** = a copy of the (pre-trained) encoder (weights, and BN statistics, copied when ``"train"`` starts).
- **Centre** c = mean phi(normal training rows) at the start of ``"train"`` (networks in eval mode);
  coordinates with |c_j| < 0.1 become +-0.1 keeping their sign, an exact 0 becomes -0.1 (:func:`center`).
  c then stays fixed (Ruff et al.).
- **Training** (stage ``"train"``): Adam(``learning_rate``) with Keras' legacy inverse-time decay
  (lr_t = lr / (1 + lr_decay t), t = steps taken; the seeds' ``decay=1e-5``), on mean ||phi(x) - c||^2.
  A final batch of a single row is skipped (BatchNorm cannot train on one row; Ruff's loaders drop it).
- **Score** = ||phi(x) - c||^2. During ``"pretrain"`` (before c exists) the per-epoch ``val_auc`` is
  that of the AE's reconstruction MSE.

Defaults (measured on 18 ODDS/ADBench sets, ``adray bench baselines``, README "Baselines next to
PyOD"): the branched network, 5 branches, no pre-training, 100 epochs at learning rate 1e-4, batch 32,
no dropout: PyOD's recipe in five branches, mean test AUC 0.822 against PyOD's DeepSVDD 0.802 with no set
more than 0.01 behind. One branch (``n_branches=1``) reproduces PyOD's DeepSVDD (0.803). Ruff et al.'s
tabular protocol (``architecture="mlp", epochs=150, batch_size=128``, pre-trained 150 epochs) has the
best mean, 0.826, but falls 0.12 behind PyOD's on Wilt and 0.05 on mammography (five and six features;
without its BatchNorm those two recover and others fall), so it is a named configuration, not the default.
The seeds' configuration (``architecture="dense", dropout=0.1, pretrain_epochs=100, epochs=100,
learning_rate=1e-3, batch_size=256``) lost 0.17 mean AUC to PyOD's DeepSVDD there: its [0, 1] scaling,
its narrow halving widths (a code of 2 for 6 features), dropout and the faster 1e-3 SVDD stage each cost AUC.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors.components import keras_like
from adray.detectors.components.autoencoders import default_hidden_dims
from adray.detectors.components.constraints import (
    DROPOUT,
    EPOCHS,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    IntSequence,
    Options,
)
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

LEAKY_SLOPE = 0.01  # LeakyReLU(0.01) (published code)
CENTER_EPS = 0.1  # |c_j| < 0.1 -> +-0.1 (published code)
SAD_EPS = 1e-6  # (d^2 + 1e-6)^{-1} for labelled anomalies (published code)
BN_EPS = 1e-4  # conv BN eps (published code)
CONV_CODE = 32  # Dense32 code of the conv encoder (published code)
ARCHITECTURES = ("auto", "seeds", "branched", "mlp", "dense", "conv")
MLP_DIMS = (128, 64, 32)  # Ruff et al.'s tabular widths (their arrhythmia network), code 32
BRANCHED_DIMS = (64, 32)  # PyOD's DeepSVDD widths, code 32
PRETRAIN_EPOCHS = 150  # Ruff et al.'s AE stage, for the networks pre-trained by default (not "branched")


# ------------------------------------------------------------------------------------------ losses
def center(z: torch.Tensor, eps: float = CENTER_EPS) -> torch.Tensor:
    """c = mean of the rows of ``z``; |c_j| < eps becomes +eps for c_j > 0 and -eps otherwise (0 -> -eps)."""
    c = z.mean(dim=0)
    floor = torch.where(c > 0, torch.full_like(c, eps), torch.full_like(c, -eps))
    return torch.where(c.abs() < eps, floor, c)


def svdd_loss(dist: torch.Tensor) -> torch.Tensor:
    """One-class Deep-SVDD objective (λ = 0): mean of the squared distances ``dist`` = ||phi(x) - c||^2
    over the rows; for ``dist`` of shape (b, branches), the sum of the branches' objectives."""
    return dist.mean(dim=0).sum()


def sad_loss(dist: torch.Tensor, sign: torch.Tensor, eta: float = 1.0, eps: float = SAD_EPS) -> torch.Tensor:
    """Deep-SAD: mean of (dist + eps)^{+1} for normal rows (sign +1) and eta (dist + eps)^{-1} for known
    anomalies (sign -1); ARGUE's baseline adds eps to every term and uses eta = 1. For ``dist`` of shape
    (b, branches), the sum of the branches' objectives: each branch pushes the anomalies away by itself."""
    sign = sign.reshape(-1, *[1] * (dist.dim() - 1))
    terms = (dist + eps) ** sign
    return torch.where(sign < 0, eta * terms, terms).mean(dim=0).sum()


# ------------------------------------------------------------------------------------------ networks
def is_conv_shape(feature_shape: tuple[int, ...]) -> bool:
    """The ``architecture="auto"`` rule: square image (H, H) or (H, H, C<=4), H a multiple of 4, H >= 8."""
    if len(feature_shape) == 3 and feature_shape[2] <= 4:
        feature_shape = feature_shape[:2]
    return len(feature_shape) == 2 and feature_shape[0] == feature_shape[1] and feature_shape[0] % 4 == 0 \
        and feature_shape[0] >= 8


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(LEAKY_SLOPE)


def _leaky_stack(n_in: int, dims, dropout: float, linear, batch_norm: bool) -> OrderedDict:
    """``[linear(n_in, d) -> (BatchNorm) -> LeakyReLU -> (Dropout)]`` per width: Ruff et al.'s
    ``Linear_BN_leakyReLU`` blocks (mlp) or, without BatchNorm and with Glorot weights, the seeds' (dense)."""
    layers = OrderedDict()
    for i, d in enumerate(dims):
        layers[f"dense{i}"] = linear(n_in, int(d), bias=False)
        if batch_norm:
            layers[f"bn{i}"] = nn.BatchNorm1d(int(d), eps=BN_EPS, affine=False)
        layers[f"act{i}"] = _lrelu()
        if dropout > 0:
            layers[f"dropout{i}"] = nn.Dropout(dropout)
        n_in = int(d)
    return layers


class MLPSVDDAutoEncoder(nn.Module):
    """Ruff et al.'s tabular AE on standardised input: the encoder starts with ``standardize``, the decoder
    ends in a linear layer reconstructing the standardised input (:meth:`target`)."""

    def __init__(self, standardize: keras_like.Standardize, hidden_dims: tuple[int, ...], dropout: float):
        super().__init__()
        n_inputs = len(standardize.mean)
        *hidden, code = hidden_dims
        enc = _leaky_stack(n_inputs, hidden, dropout, nn.Linear, batch_norm=True)
        enc["code"] = nn.Linear(hidden[-1] if hidden else n_inputs, code, bias=False)
        dec = _leaky_stack(code, hidden[::-1], dropout, nn.Linear, batch_norm=True)
        dec["output"] = nn.Linear(hidden[0] if hidden else code, n_inputs, bias=False)
        self.encoder = nn.Sequential(OrderedDict([("standardize", standardize), *enc.items()]))
        self.decoder = nn.Sequential(dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, D_in) reconstruction of the standardised input."""
        return self.decoder(self.encoder(x))

    def target(self, x: torch.Tensor) -> torch.Tensor:
        """What the AE reconstructs: x standardised."""
        return self.encoder.standardize(x)


class DenseSVDDAutoEncoder(nn.Module):
    """Bias-free LeakyReLU AE on flattened input with a linear code (``encoder`` ends in ``code``)."""

    def __init__(self, n_inputs: int, hidden_dims: tuple[int, ...], dropout: float):
        super().__init__()
        *hidden, code = hidden_dims
        enc = _leaky_stack(n_inputs, hidden, dropout, keras_like.dense, batch_norm=False)
        enc["code"] = keras_like.dense(hidden[-1] if hidden else n_inputs, code, bias=False)
        dec = _leaky_stack(code, hidden[::-1], dropout, keras_like.dense, batch_norm=False)
        dec["output"] = keras_like.dense(hidden[0] if hidden else code, n_inputs, bias=False)
        dec["output_act"] = nn.Sigmoid()
        self.encoder = nn.Sequential(OrderedDict([("flatten", nn.Flatten()), *enc.items()]))
        self.decoder = nn.Sequential(dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, D_in) reconstruction."""
        return self.decoder(self.encoder(x))


class BranchedLinear(nn.Module):
    """``branches`` independent bias-free linear maps side by side, one batched matmul:
    (b, n_in) (shared input) or (branches, b, n_in) -> (branches, b, n_out). nn.Linear's initialisation."""

    def __init__(self, branches: int, n_in: int, n_out: int):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.empty(branches, n_in, n_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.weight)


class JoinBranches(nn.Module):
    """(branches, b, d) -> (b, branches * d): the branches' outputs side by side."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(0, 1).flatten(1)


class SplitBranches(nn.Module):
    """(b, branches * d) -> (branches, b, d), the inverse of :class:`JoinBranches`."""

    def __init__(self, branches: int):
        super().__init__()
        self.branches = branches

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(1, (self.branches, -1)).transpose(0, 1)


def _branched_stack(branches: int, n_in: int, dims, dropout: float, last_act: bool) -> OrderedDict:
    """``[BranchedLinear(d) -> ReLU -> Dropout(p)]`` per width; the last block keeps its ReLU only when
    ``last_act`` (the code) and has no dropout."""
    layers = OrderedDict()
    for i, d in enumerate(dims):
        last = i == len(dims) - 1
        layers[f"dense{i}"] = BranchedLinear(branches, n_in, int(d))
        if not last or last_act:
            layers[f"act{i}"] = nn.ReLU()
        if dropout > 0 and not last:
            layers[f"dropout{i}"] = nn.Dropout(dropout)
        n_in = int(d)
    return layers


class BranchedSVDDAutoEncoder(nn.Module):
    """PyOD's Deep-SVDD network in ``branches`` independent copies (``"branched"``, see the module docstring).

    Encoder: standardise, then per branch ``[Linear(d, no bias) -> ReLU]`` for every width including the
    code (ReLU-coded, as PyOD), outputs joined into one code of ``branches * hidden_dims[-1]``. Decoder
    (used only when pre-training): per branch the mirror, ending in a linear ``Linear(D_in, no bias)``;
    every branch reconstructs the standardised input (:meth:`target` repeats it per branch).
    """

    def __init__(self, standardize: keras_like.Standardize, hidden_dims: tuple[int, ...], dropout: float,
                 branches: int):
        super().__init__()
        n_inputs, self.branches = len(standardize.mean), branches
        enc = _branched_stack(branches, n_inputs, hidden_dims, dropout, last_act=True)
        dec = _branched_stack(branches, hidden_dims[-1], [*hidden_dims[-2::-1], n_inputs], dropout, last_act=False)
        self.encoder = nn.Sequential(OrderedDict([("standardize", standardize), *enc.items(),
                                                  ("join", JoinBranches())]))
        self.decoder = nn.Sequential(OrderedDict([("split", SplitBranches(branches)), *dec.items(),
                                                  ("join", JoinBranches())]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, branches * D_in): every branch's reconstruction of the standardised input."""
        return self.decoder(self.encoder(x))

    def target(self, x: torch.Tensor) -> torch.Tensor:
        """x standardised, once per branch."""
        return self.encoder.standardize(x).repeat(1, self.branches)


class ToChannelsFirst(nn.Module):
    """(b, H, W) -> (b, 1, H, W); (b, H, W, C) -> (b, C, H, W) (adray images are channels-last)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=keras_like.KERAS_BN_MOMENTUM, affine=False)


class ConvSVDDAutoEncoder(nn.Module):
    """ARGUE's conv encoder (Conv8-Conv4-Dense32, bias-free) and its mirrored decoder."""

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
        keras_like.keras_init(self)

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
    # Deep-SVDD's and Deep-SAD's sweep: the pre-trained AE then the hypersphere, Ruff et al.'s tabular protocol
    # (no dropout: it cost 0.09 mean AUC on the ODDS/ADBench sets)
    default_grid: ClassVar[dict[str, list]] = {"architecture": ["auto"], "epochs": [100], "learning_rate": [1e-4],
                                               "batch_size": [32]}
    param_constraints: ClassVar[dict[str, list]] = {
        "architecture": [Options(*ARCHITECTURES)], "hidden_dims": [None, IntSequence()], "dropout": [DROPOUT],
        "n_branches": [POSITIVE_INT], "pretrain_epochs": [None, EPOCHS], "pretrain_learning_rate": [POSITIVE],
        "epochs": [EPOCHS], "learning_rate": [POSITIVE], "lr_decay": [NON_NEGATIVE], "batch_size": [POSITIVE_INT],
    }

    # --------------------------------------------------------------- hooks
    def build_networks(self, feature_shape, n_subclasses):
        architecture = self.architecture
        if architecture in ("auto", "seeds"):  # "seeds": the published pair, conv for images and dense otherwise
            rows = "branched" if architecture == "auto" else "dense"
            architecture = "conv" if is_conv_shape(feature_shape) else rows
        if architecture == "conv":
            if not is_conv_shape(feature_shape):
                raise AdrayError(
                    f"architecture='conv' needs square images (H, H) or (H, H, C<=4) with H a multiple of 4 "
                    f"and >= 8; got feature shape {feature_shape}: use architecture='mlp'"
                )
            channels = feature_shape[2] if len(feature_shape) == 3 else 1
            ae, dims = ConvSVDDAutoEncoder(feature_shape[0], channels), (CONV_CODE,)
        else:
            n_inputs = int(np.prod(feature_shape))
            default = {"mlp": MLP_DIMS, "branched": BRANCHED_DIMS}.get(architecture) or default_hidden_dims(n_inputs)
            dims = default if self.hidden_dims is None else tuple(self.hidden_dims)
            dims = tuple(int(d) for d in dims)
            if architecture == "dense":
                ae = DenseSVDDAutoEncoder(n_inputs, dims, float(self.dropout))
            else:  # standardised on the rows the AE trains on and the centre comes from
                standardize = keras_like.Standardize.fit(self._normal_rows(*self.fit_data))
                ae = (MLPSVDDAutoEncoder(standardize, dims, float(self.dropout)) if architecture == "mlp" else
                      BranchedSVDDAutoEncoder(standardize, dims, float(self.dropout), int(self.n_branches)))
        self.architecture_, self.hidden_dims_ = architecture, dims
        self.c_, self.train_steps_ = None, 0
        return {"ae": ae, "phi": copy.deepcopy(ae.encoder)}

    def run_epoch(self, stage, data):
        """The template's epoch, minus a last batch of one row (BatchNorm cannot train on it)."""
        if len(data[0]) % self.batch_size == 1 and len(data[0]) > 1:
            keep = torch.randperm(len(data[0]), generator=self.generator_)[:-1].sort().values.to(self.device_)
            data = tuple(t[keep] for t in data)
        return super().run_epoch(stage, data)

    def stages(self):
        return [("pretrain", self.pretrain_epochs_), ("train", int(self.epochs))]

    @property
    def pretrain_epochs_(self) -> int:
        """``pretrain_epochs``, or when None the network's protocol: none for "branched" (PyOD's recipe),
        150 for the others (Ruff et al.)."""
        if self.pretrain_epochs is not None:
            return int(self.pretrain_epochs)
        return 0 if self.architecture_ == "branched" else PRETRAIN_EPOCHS

    def make_optimizers(self):
        return {"pretrain": keras_like.adam(self.networks_["ae"].parameters(), self.pretrain_learning_rate),
                "main": keras_like.adam(self.networks_["phi"].parameters(), self.learning_rate)}

    def train_networks(self, stage):
        return ["ae"] if stage == "pretrain" else ["phi"]

    def on_stage_start(self, stage):
        if stage == "train":  # phi = copy of the pre-trained encoder; c is computed on the stage data
            self.networks_["phi"].load_state_dict(self.networks_["ae"].encoder.state_dict())
            self.c_, self.train_steps_ = None, 0

    def _normal_rows(self, X, y):
        """Rows the AE and the centre see: all rows here; Deep-SAD keeps y == 0."""
        return X

    def stage_data(self, stage, X, y, subclass):
        if stage == "pretrain":
            return (self._normal_rows(X, y),)
        if self.c_ is None:  # a resumed fit restored c_ already
            self.c_ = self._center(self._normal_rows(X, y))
        return self._train_data(X, y)

    def _train_data(self, X, y) -> tuple[np.ndarray, ...]:
        return (X,)

    def _center(self, X: np.ndarray) -> torch.Tensor:
        return center(torch.cat(self.infer(self.networks_["phi"], self.batches(X))))

    def _ae_step(self, x: torch.Tensor) -> dict:
        ae = self.networks_["ae"]
        loss = ((ae(x) - _target(ae, x)) ** 2).mean()  # Keras MSE: mean over every element
        self.optimize(loss, "pretrain")
        return {"loss": loss}

    def _branch_dists(self, x: torch.Tensor) -> torch.Tensor:
        """(b, branches): each branch's squared distance to its part of c (one column if unbranched)."""
        branches = int(self.n_branches) if self.architecture_ == "branched" else 1
        return ((self.networks_["phi"](x) - self.c_) ** 2).unflatten(1, (branches, -1)).sum(dim=2)

    def _dist(self, x: torch.Tensor) -> torch.Tensor:
        """The score: ||phi(x) - c||^2, the sum of the branches' distances."""
        return self._branch_dists(x).sum(dim=1)

    def _svdd_step(self, loss: torch.Tensor) -> None:
        """Keras' legacy ``decay``: lr_t = lr / (1 + decay * t) with t the steps already taken."""
        lr = self.learning_rate / (1.0 + self.lr_decay * self.train_steps_)
        for group in self.optimizers_["main"].param_groups:
            group["lr"] = lr
        self.optimize(loss, "main")
        self.train_steps_ += 1

    def score_batch(self, batch_X):
        if self.c_ is None:  # during "pretrain" (val_auc reports): the AE's reconstruction MSE
            ae = self.networks_["ae"]
            return ((ae(batch_X) - _target(ae, batch_X)) ** 2).mean(dim=1)
        return self._dist(batch_X)


def _target(ae: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What the AE reconstructs: its own target (standardised, or channels-first) or x flattened."""
    return ae.target(x) if hasattr(ae, "target") else x.flatten(1)
