"""A3's networks (adray/detectors/a3/README.md): dense and convolutional target AEs and the anomaly VAE.

Targets are ``nn.Sequential`` with separate activation layers named ``act<i>`` (tapped by
:mod:`adray.detectors.components.taps`) and fused output activations named ``output_act`` (not tapped).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from adray.detectors.components import keras_like

CONV_IMAGE_SIZE = 28  # the Keras-blog conv AE that A3 used is defined for 28x28 images
WIDEN = 1.75  # first target layer / input size in the published targets (29->50, 121->200, 80->150)


def default_target_dims(n_inputs: int) -> tuple[int, ...]:
    """The rule for ``target_dims=None``, shaped like the published A3 targets.

    Those widen the input first and then roughly halve over four layers (CreditCard 29 ->
    [50,25,10,5], NSL-KDD 121 -> [200,100,50,25], IDS 80 -> [150,80,40,20]). The rule:
    w = ceil(1.75·D), then (w, w//2, w//4, w//8), each at least 2. D=29 -> (51, 25, 12, 6),
    D=121 -> (212, 106, 53, 26), D=80 -> (140, 70, 35, 17), D=64 (digits) -> (112, 56, 28, 14).
    """
    width = math.ceil(WIDEN * n_inputs)
    return tuple(max(2, width // 2**i) for i in range(4))


def dense_target(n_inputs: int, dims: Sequence[int], dropout: float = 0.1) -> nn.Sequential:
    """``dense_ae(layer_dims=dims)``: symmetric AE with every hidden ReLU a separate (tapped) layer.

    Encoder Dense(d_1) -> act ... Dense(d_k) -> act, decoder Dense(d_{k-1}) -> act ... Dense(d_1)
    -> act, then Dropout(dropout) -> Dense(D, sigmoid). Tapped size: 2·Σdims − d_k
    (175 for CreditCard [50,25,10,5], 725 for NSL-KDD, 560 for IDS).
    """
    dims = [int(d) for d in dims]
    hidden = keras_like.dense_block(n_inputs, dims + dims[-2::-1])
    layers: OrderedDict[str, nn.Module] = OrderedDict(hidden.named_children())
    layers["dropout"] = nn.Dropout(dropout)
    layers["output"] = keras_like.dense(dims[0], n_inputs)
    layers["output_act"] = nn.Sigmoid()
    return nn.Sequential(layers)


def conv_target(channels: int = 1, dropout: float = 0.1) -> nn.Sequential:
    """The Keras-blog conv AE on (C, 28, 28) (``conv_ae``); 7432 tapped activations for C=1.

    Encoder: [Conv(3x3, same) -> MaxPool2(same) -> act] with 16, 8, 8 filters (14·14·16 + 7·7·8 +
    4·4·8). Decoder: Conv8 -> act -> Up2; Conv8 -> act -> Up2; Conv16 3x3 *valid* ->
    SpatialDropout(dropout) -> act -> Up2; Conv(C, 3x3, same, sigmoid). Keras' "same" max pooling
    pads at the end, which is PyTorch's ``ceil_mode=True`` for 2x2 windows (7 -> 4).
    """
    def conv(cin, cout, padding=1):
        return keras_like.glorot_(nn.Conv2d(cin, cout, 3, padding=padding))

    layers = OrderedDict()
    for i, (cin, cout) in enumerate([(channels, 16), (16, 8), (8, 8)]):
        layers[f"conv{i}"] = conv(cin, cout)
        layers[f"pool{i}"] = nn.MaxPool2d(2, ceil_mode=True)
        layers[f"act{i}"] = nn.ReLU()
    for i in (3, 4):
        layers[f"conv{i}"] = conv(8, 8)
        layers[f"act{i}"] = nn.ReLU()
        layers[f"up{i}"] = nn.Upsample(scale_factor=2, mode="nearest")
    layers["conv5"] = conv(8, 16, padding=0)
    layers["spatial_dropout5"] = nn.Dropout2d(dropout)
    layers["act5"] = nn.ReLU()
    layers["up5"] = nn.Upsample(scale_factor=2, mode="nearest")
    layers["output"] = conv(16, channels)
    layers["output_act"] = nn.Sigmoid()
    return nn.Sequential(layers)


class VAE(nn.Module):
    """A3's anomaly VAE on flattened input (dims 800-400-100-25 by default).

    Encoder: [Dense -> ReLU] for dims[:-1], then Dense μ and Dense log σ² (dims[-1] each).
    Decoder: [Dense -> ReLU] for reversed(dims[:-1]), Dropout(dropout), Dense(D, sigmoid).
    """

    def __init__(self, n_inputs: int, dims: Sequence[int] = (800, 400, 100, 25), dropout: float = 0.1):
        super().__init__()
        *hidden, code = [int(d) for d in dims]
        self.encoder = keras_like.dense_block(n_inputs, hidden)
        width = hidden[-1] if hidden else n_inputs
        self.mean = keras_like.dense(width, code)
        self.log_var = keras_like.dense(width, code)
        decoder = OrderedDict(keras_like.dense_block(code, hidden[::-1]).named_children())
        decoder["dropout"] = nn.Dropout(dropout)
        decoder["output"] = keras_like.dense(hidden[0] if hidden else code, n_inputs)
        decoder["output_act"] = nn.Sigmoid()
        self.decoder = nn.Sequential(decoder)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.mean(h), self.log_var(h)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, μ, log σ²) with z = μ + exp(½ log σ²)·ε."""
        mean, log_var = self.encode(x)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.decoder(z), mean, log_var

    def generate(self, x: torch.Tensor, anomaly_var: float = 5.0) -> torch.Tensor:
        """``predict_anomaly``: σ ignored, z = μ + anomaly_var·ε (anomaly_var used as the std)."""
        mean, _ = self.encode(x)
        return self.decoder(mean + anomaly_var * torch.randn_like(mean))
