"""ARGUE's networks (adray/detectors/argue/README.md): the multi-decoder autoencoder and A4RGUE's clustering AAE.

Separate activation layers are named ``act<i>`` and tapped (:mod:`adray.detectors.components.taps`); the dense
code's ReLU is fused into its Dense in the original, so it is named ``code_act`` and not tapped.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from adray.detectors.components import keras_like, taps

CONV_SIZES = (28, 32)  # the published conv MAE (valid last conv for 28 px, same for 32 px)
AAE_CONV_SIZE = 28  # the published conv clustering AAE maps 28 px to a 1x1 code
CRITIC_DIMS = (40, 30, 20, 10, 5)  # A4RGUE's WGAN critics
LEAKY_SLOPE = 0.01  # A4RGUE's LeakyReLU(0.01)
WIDEN, SHRINK, N_LAYERS = 1.25, 10, 6  # the shape of the published DIM_TARGETs


def default_hidden_dims(n_inputs: int) -> tuple[int, ...]:
    """The rule for ``hidden_dims=None``, shaped like ARGUE's DIM_TARGETs.

    Those have six layers, widen the input first (KDD 121 -> 150, Census ~500 -> 600) and shrink
    geometrically to a code of about a tenth of the first width (KDD (150,100,70,40,25,10), Darknet
    (100,80,60,40,20,10)). The rule: first = ceil(1.25·D), code = max(2, ceil(first/10)), six widths
    geometric in between. D=121 -> (152, 97, 62, 39, 25, 16); D=64 (digits) -> (80, 50, 32, 20, 13, 8).
    """
    first = math.ceil(WIDEN * n_inputs)
    code = max(2, math.ceil(first / SHRINK))
    ratio = (code / first) ** (1 / (N_LAYERS - 1))
    return tuple(max(code, round(first * ratio**i)) for i in range(N_LAYERS))


def _conv(cin: int, cout: int, padding: int = 1, stride: int = 1) -> nn.Conv2d:
    return keras_like.glorot_(nn.Conv2d(cin, cout, 3, stride=stride, padding=padding))


def dense_encoder(n_inputs: int, dims: Sequence[int], dropout: float) -> nn.Sequential:
    """[Dense(d) -> act -> Dropout] for dims[:-1], then Dense(dims[-1]) with a fused (untapped) ReLU."""
    *hidden, code = [int(d) for d in dims]
    layers = OrderedDict(keras_like.dense_block(n_inputs, hidden, dropout=dropout).named_children())
    layers["code"] = keras_like.dense(hidden[-1] if hidden else n_inputs, code)
    layers["code_act"] = nn.ReLU()
    return nn.Sequential(layers)


def dense_decoder(n_inputs: int, dims: Sequence[int], dropout: float) -> nn.Sequential:
    """[Dense(d) -> act -> Dropout] for reversed(dims[:-1]), then Dense(D, sigmoid)."""
    *hidden, code = [int(d) for d in dims]
    layers = OrderedDict(keras_like.dense_block(code, hidden[::-1], dropout=dropout).named_children())
    layers["output"] = keras_like.dense(hidden[0] if hidden else code, n_inputs)
    layers["output_act"] = nn.Sigmoid()
    return nn.Sequential(layers)


def conv_encoder(channels: int, dropout: float) -> nn.Sequential:
    """[Conv(3x3 same) -> MaxPool2(same) -> act -> SpatialDropout] with 16, 8, 8 filters (the last act
    is the tapped "code"): 3136 + 392 + 128 = 3656 taps for 28x28."""
    layers = OrderedDict()
    for i, (cin, cout) in enumerate([(channels, 16), (16, 8), (8, 8)]):
        layers[f"conv{i}"] = _conv(cin, cout)
        layers[f"pool{i}"] = nn.MaxPool2d(2, ceil_mode=True)
        layers[f"act{i}"] = nn.ReLU()
        layers[f"spatial_dropout{i}"] = nn.Dropout2d(dropout)
    return nn.Sequential(layers)


def conv_decoder(channels: int, size: int, dropout: float) -> nn.Sequential:
    """[Conv -> act -> Up2 -> SpatialDropout] with 8, 8, 16 filters (the 16 is *valid* for 28 px,
    same for 32 px), then Conv(C, 3x3 same, sigmoid): 128 + 512 + 3136 = 3776 taps for 28x28."""
    layers = OrderedDict()
    for i, (cin, cout) in enumerate([(8, 8), (8, 8), (8, 16)]):
        layers[f"conv{i}"] = _conv(cin, cout, padding=0 if (i == 2 and size == 28) else 1)
        layers[f"act{i}"] = nn.ReLU()
        layers[f"up{i}"] = nn.Upsample(scale_factor=2, mode="nearest")
        layers[f"spatial_dropout{i}"] = nn.Dropout2d(dropout)
    layers["output"] = _conv(16, channels)
    layers["output_act"] = nn.Sigmoid()
    return nn.Sequential(layers)


class MultiAutoencoder(nn.Module):
    """One shared encoder and ``n_experts`` decoders with independent (fresh) weights."""

    def __init__(self, encoder: nn.Sequential, decoders: Sequence[nn.Sequential]):
        super().__init__()
        self.encoder = encoder
        self.decoders = nn.ModuleList(decoders)

    @property
    def n_experts(self) -> int:
        return len(self.decoders)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(code, encoder taps (b, n_enc_taps))."""
        return taps.tap_vector(self.encoder, x)

    def decode(self, code: torch.Tensor, expert: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, decoder-``expert`` taps (b, n_dec_taps))."""
        return taps.tap_vector(self.decoders[expert], code)

    def activations(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(encoder taps (b, e), decoder taps of every expert (n_experts, b, d))."""
        code, enc = self.encode(x)
        return enc, torch.stack([self.decode(code, i)[1] for i in range(self.n_experts)])


class ClusteringAAE(nn.Module):
    """A4RGUE's ``AdversarialClustering``: an AAE whose encoder has a code head (linear) and a
    K-way softmax cluster head; the decoder reads concat(code, cluster).

    ``dense`` (``conv=False``): [Dense -> BatchNorm -> LeakyReLU(0.01)] for dims[:-1] (no dropout),
    code Dense(code_dim), cluster Dense(K, softmax); decoder [Dense -> ReLU] for reversed(dims[:-1])
    -> Dense(D, sigmoid). ``conv`` (28x28): Conv16/32/64 (3x3, stride 2, same) + BN + LReLU; code
    Conv(code_dim, 3x3, s2, valid), cluster Conv(K, 3x3, s2, valid, softmax); decoder ConvT 64/32/16
    (k4, s2; same/valid/valid; ReLU) -> ConvT(C, k4, s2, same, sigmoid).
    """

    def __init__(self, n_inputs: int, dims: Sequence[int], n_clusters: int, code_dim: int = 2,
                 conv_channels: int | None = None):
        super().__init__()
        self.conv = conv_channels is not None
        trunk = OrderedDict()
        if self.conv:
            cin = conv_channels
            for i, cout in enumerate((16, 32, 64)):
                trunk[f"conv{i}"] = _conv(cin, cout, stride=2)
                trunk[f"bn{i}"] = keras_like.batch_norm(cout, dims=2)
                trunk[f"act{i}"] = nn.LeakyReLU(LEAKY_SLOPE)
                cin = cout
            self.code = _conv(64, code_dim, padding=0, stride=2)
            self.cluster = _conv(64, n_clusters, padding=0, stride=2)

            def convt(ci, co, padding):
                return keras_like.glorot_(nn.ConvTranspose2d(ci, co, 4, stride=2, padding=padding))

            self.decoder = nn.Sequential(OrderedDict([
                ("convt0", convt(code_dim + n_clusters, 64, 1)), ("relu0", nn.ReLU()),
                ("convt1", convt(64, 32, 0)), ("relu1", nn.ReLU()),
                ("convt2", convt(32, 16, 0)), ("relu2", nn.ReLU()),
                ("output", convt(16, conv_channels, 1)), ("output_act", nn.Sigmoid()),
            ]))
        else:
            width = n_inputs
            for i, d in enumerate(int(d) for d in dims[:-1]):
                trunk[f"dense{i}"] = keras_like.dense(width, d)
                trunk[f"bn{i}"] = keras_like.batch_norm(d)
                trunk[f"act{i}"] = nn.LeakyReLU(LEAKY_SLOPE)
                width = d
            self.code = keras_like.dense(width, code_dim)
            self.cluster = keras_like.dense(width, n_clusters)
            hidden = [int(d) for d in dims[:-1]][::-1]
            decoder = OrderedDict(keras_like.dense_block(code_dim + n_clusters, hidden).named_children())
            decoder["output"] = keras_like.dense(hidden[-1] if hidden else code_dim + n_clusters, n_inputs)
            decoder["output_act"] = nn.Sigmoid()
            self.decoder = nn.Sequential(decoder)
        self.trunk = nn.Sequential(trunk)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(code (b, code_dim[,1,1]), cluster probabilities (b, K[,1,1]))."""
        h = self.trunk(x)
        return self.code(h), torch.softmax(self.cluster(h), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code, cluster = self.encode(x)
        return self.decoder(torch.cat([code, cluster], dim=1))

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [*self.trunk.parameters(), *self.code.parameters(), *self.cluster.parameters()]


def critic(n_inputs: int) -> nn.Sequential:
    """WGAN-style critic: Dense 40-30-20-10-5 with ReLU, then Dense(1) linear."""
    layers = OrderedDict(keras_like.dense_block(n_inputs, CRITIC_DIMS).named_children())
    layers["output"] = keras_like.dense(CRITIC_DIMS[-1], 1)
    return nn.Sequential(layers)
