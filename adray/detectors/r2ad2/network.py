"""R2-AD2 networks (adray/detectors/r2ad2/README.md): the target autoencoders, the shared gradient BatchNorm and
the alarm (LSTM over the K snapshots, or dense for K = 1).

Every layer follows the Keras defaults (Glorot kernels, zero biases, LSTM with an
orthogonal recurrent kernel and forget bias 1, BatchNorm momentum 0.99 / eps 1e-3): each network
runs :func:`adray.detectors.components.keras_like.keras_init` once it is built.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from adray.detectors.components import keras_like
from adray.detectors.components.autoencoders import DenseAutoEncoder

ALARM_BIG = (1000, 500, 200, 75)  # published code
ALARM_SMALL = (100, 50, 25, 10)  # published code (Mammography)
CONV_FILTERS = 8  # published code: every conv layer of the image target has 8 filters
CONV_SIDES = (28, 32)  # the decoder starts at 8x8x8 and doubles twice (28: one extra 3x3 valid conv)


class SameConvTranspose2d(nn.ConvTranspose2d):
    """Keras ``Conv2DTranspose(k=3, strides=2, padding="same")``: output exactly twice the input.

    TF aligns the windows at the top-left (the implicit padding sits after the last row), which is a
    PyTorch transposed conv without padding whose last row and column are cropped.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return super().forward(x)[..., : 2 * h, : 2 * w]


class ConvTarget(nn.Module):
    """R2-AD2's image autoencoder with a dense code (``layer_dims`` an int).

    Input (b, H, W) or channels-last (b, H, W, C) with H = W in {28, 32}; output (b, H·W·C) in the
    input's element order. For 28 px: 80 + 584 + 3144 + 4608 + 584 + 584 + 73 = 9657 weights
    with code 8 and one channel.
    """

    def __init__(self, feature_shape: tuple[int, ...], code: int, dropout: float):
        super().__init__()
        side, channels = feature_shape[0], (feature_shape[2] if len(feature_shape) == 3 else 1)
        self.feature_shape, self.channels = tuple(feature_shape), channels
        f, small = CONV_FILTERS, -(-side // 4)  # two 'same' max-pools: ceil(side / 4)
        self.encoder = nn.Sequential(OrderedDict([
            ("enc_in", nn.Conv2d(channels, f, 3, padding=1)), ("act0", nn.ReLU()),
            ("pool0", nn.MaxPool2d(2, ceil_mode=True)), ("sdrop0", nn.Dropout2d(dropout)),
            ("conv_code", nn.Conv2d(f, f, 3, padding=1)), ("act1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2, ceil_mode=True)), ("sdrop1", nn.Dropout2d(dropout)),
            ("flatten", nn.Flatten()),
            ("code", nn.Linear(f * small * small, code)), ("code_act", nn.ReLU()), ("dropout", nn.Dropout(dropout)),
        ]))
        decoder = OrderedDict([
            ("dense", nn.Linear(code, 8 * 8 * f)), ("act0", nn.ReLU()), ("dropout", nn.Dropout(dropout)),
            ("reshape", nn.Unflatten(1, (f, 8, 8))),
            ("convt", SameConvTranspose2d(f, f)), ("act1", nn.ReLU()), ("sdrop1", nn.Dropout2d(dropout)),
        ])
        if side == 28:  # 16x16 -> 14x14 (as published)
            decoder.update([("conv", nn.Conv2d(f, f, 3)), ("act2", nn.ReLU()), ("sdrop2", nn.Dropout2d(dropout))])
        decoder.update([("decoded", SameConvTranspose2d(f, channels)), ("decoded_act", nn.Sigmoid())])
        self.decoder = nn.Sequential(decoder)
        keras_like.keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image = x.reshape(len(x), *self.feature_shape[:2], self.channels).permute(0, 3, 1, 2)
        out = self.decoder(self.encoder(image))
        return out.permute(0, 2, 3, 1).flatten(1)


def make_target(feature_shape: tuple[int, ...], dims, dropout: float) -> nn.Module:
    """The target AE: ``dims`` an int -> :class:`ConvTarget` with that code size, a tuple -> the dense
    published AE (``adray.detectors.components.autoencoders.DenseAutoEncoder``: the same layers, code ReLU tapped)."""
    if isinstance(dims, int):
        return ConvTarget(feature_shape, dims, dropout)
    n_inputs = 1
    for s in feature_shape:
        n_inputs *= int(s)
    return DenseAutoEncoder(n_inputs, tuple(dims), dropout)


def is_conv_image(feature_shape: tuple[int, ...]) -> bool:
    """Shapes the conv target accepts: (S, S) or (S, S, C) with S in :data:`CONV_SIDES`."""
    return (len(feature_shape) in (2, 3) and feature_shape[0] == feature_shape[1]
            and feature_shape[0] in CONV_SIDES)


class GradientNorm(nn.Module):
    """BatchNorm over the P gradient features, shared by the K time steps (Keras ``TimeDistributed``,
    as published): (b, K, P) is normalised as b·K rows of one BatchNorm1d(P)."""

    def __init__(self, n_features: int, momentum: float = keras_like.KERAS_BN_MOMENTUM):
        super().__init__()
        self.bn = keras_like.batch_norm(n_features)
        self.bn.momentum = momentum

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return self.bn(g.reshape(-1, g.shape[-1])).reshape(g.shape)


class TimeSharedDropout(nn.Module):
    """Keras ``LSTM(dropout=p)``: one input mask per sequence, reused at every time step."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (b, K, F)
        if not self.training or self.p == 0:
            return x
        keep = torch.rand((x.shape[0], 1, x.shape[2]), device=x.device) >= self.p
        return x * keep / (1.0 - self.p)


class LSTMAlarm(nn.Module):
    """The alarm for K > 1: LSTM(d0, sequences) -> LSTM(d1, last state) -> dense
    [Dense -> ReLU -> Dropout] for the remaining dims -> Dense(1, sigmoid); input dropout p on each LSTM.

    ``second_lstm=False`` keeps one LSTM; ``lstm_middle=True`` puts a time-distributed
    Dense(d0) + Dropout in front of the LSTM(s).
    """

    def __init__(self, n_inputs: int, dims: tuple[int, ...], dropout: float, *, lstm_middle: bool = False,
                 second_lstm: bool = True):
        super().__init__()
        dims = tuple(int(d) for d in dims)
        self.middle = None
        if lstm_middle:
            self.middle = nn.Sequential(nn.Linear(n_inputs, dims[0]), nn.Dropout(dropout))
            n_inputs, dims = dims[0], dims[1:]
        n_lstm = 2 if second_lstm else 1
        lstm_dims, dense_dims = dims[:n_lstm], dims[n_lstm:]
        self.lstms = nn.ModuleList()
        for d in lstm_dims:
            self.lstms.append(nn.LSTM(n_inputs, d, batch_first=True))
            n_inputs = d
        self.lstm_dropout = TimeSharedDropout(dropout)
        self.head = keras_like.dense_block(n_inputs, dense_dims, dropout=dropout)
        self.head.add_module("output", nn.Linear(dense_dims[-1] if dense_dims else n_inputs, 1))
        keras_like.keras_init(self)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        """(b, K, P) normalised gradients -> (b,) anomaly probability."""
        h = self.middle(g) if self.middle is not None else g
        for lstm in self.lstms:
            h = lstm(self.lstm_dropout(h))[0]
        return torch.sigmoid(self.head(h[:, -1])).squeeze(-1)


class DenseAlarm(nn.Module):
    """The alarm for K = 1: Flatten -> [Dense -> ReLU -> Dropout] per dim -> Dense(1, sigmoid)."""

    def __init__(self, n_inputs: int, dims: tuple[int, ...], dropout: float):
        super().__init__()
        self.head = keras_like.dense_block(n_inputs, tuple(int(d) for d in dims), dropout=dropout)
        self.head.add_module("output", keras_like.dense(int(dims[-1]) if dims else n_inputs, 1))
        keras_like.keras_init(self)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(g.flatten(1))).squeeze(-1)
