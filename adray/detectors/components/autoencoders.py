"""The dense autoencoder networks several detectors share (the AE baseline, GradCon, R2-AD2, the SVDD
"dense" network's widths, ...).

- :func:`default_hidden_dims`: the seeds' hidden-width rule (halving down to a code of D/16);
- :class:`DenseAutoEncoder`: the seeds' flattening ``[Dense -> ReLU -> Dropout]`` AE with named layers;
- :class:`StandardizedAutoEncoder`: a linear-output :class:`DenseAutoEncoder` on standardised input.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from adray.detectors.components import keras_like


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
    """Flattening dense AE with named layers (``encoder.act<i>``, ``encoder.code_act``, ...).

    ``sigmoid_output=False`` ends the decoder with the linear ``output`` layer (the ``"mlp"`` AE).
    """

    def __init__(self, n_inputs: int, hidden_dims: tuple[int, ...], dropout: float, sigmoid_output: bool = True):
        super().__init__()
        *hidden, code = hidden_dims
        encoder = OrderedDict(keras_like.dense_block(n_inputs, hidden, dropout=dropout).named_children())
        encoder["code"] = keras_like.dense(hidden[-1] if hidden else n_inputs, code)
        encoder["code_act"] = nn.ReLU()
        decoder = OrderedDict(keras_like.dense_block(code, hidden[::-1], dropout=dropout).named_children())
        decoder["output"] = keras_like.dense(hidden[0] if hidden else code, n_inputs)
        if sigmoid_output:
            decoder["output_act"] = nn.Sigmoid()
        self.encoder = nn.Sequential(encoder)
        self.decoder = nn.Sequential(decoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, *shape) -> (b, D_in) reconstruction (in (0, 1) with the sigmoid output)."""
        return self.decoder(self.encoder(x.flatten(1)))


class StandardizedAutoEncoder(nn.Module):
    """The ``"mlp"`` AE: ``standardize`` then a linear-output :class:`DenseAutoEncoder` (in standardised units)."""

    def __init__(self, standardize: keras_like.Standardize, hidden_dims: tuple[int, ...], dropout: float):
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
