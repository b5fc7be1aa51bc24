"""Activation taps, alarm networks and counter-example noise shared by A3, ARGUE (and R2-AD2 later).

The Fraunhofer methods (A3, ARGUE, R2-AD2) feed an *alarm* network with the activations of a
frozen target network. Which activations count is a Keras detail kept here once:

- an activation is tapped when it is a **separate** layer (Keras ``Activation``/``LeakyReLU``);
  activations applied *inside* a Dense/Conv (``Dense(..., activation="sigmoid")``) are not;
- in adray a separate activation layer is a child module whose name is ``act`` or ``act<i>``
  (:func:`adray.detectors.components.keras_like.dense_block` names them so); fused activations get other names
  (``code_act``, ``output_act``) and are skipped. :func:`forward_taps` runs an ``nn.Sequential``
  (nested ones too) and collects the flattened tapped outputs in execution order.

Flattening follows PyTorch's channels-first layout, Keras' is channels-last: the alarm input is a
fixed permutation of the original, which a dense alarm with Glorot init cannot tell apart.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from adray.detectors.components import keras_like

TAP_NAME = re.compile(r"act\d*")  # names of separate activation layers (fullmatch)

# ARGUE's alarm sizes (published code); BIG is the only one used by A3/ARGUE
ALARM_HUGE = (5000, 2000, 500, 200)
ALARM_BIG = (1000, 500, 200, 75)
ALARM_SMALL = (100, 50, 25, 10)

NOISE_KINDS = ("normal", "uniform")
NOISE_MEAN, NOISE_STD = 0.5, 1.0  # A3's RandomNoise("normal"), ARGUE's x_noise ~ N(0.5, 1)


def is_tap(name: str) -> bool:
    """True for the name of a separate activation layer (``act``, ``act3``), not ``code_act``."""
    return TAP_NAME.fullmatch(name) is not None


def forward_taps(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run ``module`` and return (output, [flattened output of every tapped child, in order]).

    ``nn.Sequential`` children are walked recursively; any other module is called as a whole (its
    own children are not tapped).
    """
    taps: list[torch.Tensor] = []

    def run(seq: nn.Module, h: torch.Tensor) -> torch.Tensor:
        for name, layer in seq.named_children():
            h = run(layer, h) if isinstance(layer, nn.Sequential) else layer(h)
            if is_tap(name):
                taps.append(h.flatten(1))
        return h

    out = run(module, x) if isinstance(module, nn.Sequential) else module(x)
    return out, taps


def tap_vector(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(output, concatenated taps of shape (b, n_taps)); the taps are empty (b, 0) when none exist."""
    out, taps = forward_taps(module, x)
    flat = torch.cat(taps, dim=1) if taps else x.new_zeros((len(x), 0))
    return out, flat


def tap_size(module: nn.Module, input_shape: Sequence[int]) -> int:
    """Number of tapped activations for one sample of ``input_shape`` (a dry run on zeros)."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            param = next(module.parameters(), None)
            device = param.device if param is not None else "cpu"
            _, flat = tap_vector(module, torch.zeros((1, *input_shape), device=device))
    finally:
        module.train(was_training)
    return int(flat.shape[1])


def alarm_network(
    n_inputs: int,
    dims: Sequence[int] = ALARM_BIG,
    *,
    dropout: float = 0.1,
    dropout_each: bool = False,
    n_outputs: int = 1,
    output: str = "sigmoid",
) -> nn.Sequential:
    """The alarm (or gating) MLP of the Fraunhofer seeds.

    ``[Dense(d) -> ReLU]`` for d in ``dims``, with ``Dropout(dropout)`` after every hidden layer
    (``dropout_each=True``: ARGUE's ``add_dense(p_dropout)``) or only once before
    the output (A3's ``alarm_net``), then ``Dense(n_outputs)`` with a fused ``sigmoid`` or
    ``softmax`` (named ``output``/``output_act``). Keras init via :mod:`adray.detectors.components.keras_like`. The
    first Dense is ``dense0`` (A3's optional kernel regulariser applies to it).
    """
    body = keras_like.dense_block(n_inputs, dims, dropout=dropout if dropout_each else 0.0)
    layers: OrderedDict[str, nn.Module] = OrderedDict(body.named_children())
    if not dropout_each and dropout > 0:
        layers["dropout"] = nn.Dropout(dropout)
    layers["output"] = keras_like.dense(int(dims[-1]) if len(dims) else n_inputs, n_outputs)
    if output == "sigmoid":
        layers["output_act"] = nn.Sigmoid()
    elif output == "softmax":
        layers["output_act"] = nn.Softmax(dim=1)
    else:
        raise ValueError(f"output must be 'sigmoid' or 'softmax', got {output!r}")
    return nn.Sequential(layers)


def counter_examples(like: torch.Tensor, kind: str = "normal") -> torch.Tensor:
    """Trivial anomalies with the shape of ``like``, from the global torch RNG (unclipped).

    ``"normal"``: i.i.d. N(0.5, 1) (A3's default ``RandomNoise``, ARGUE's ``x_noise``);
    ``"uniform"``: U(0, 1) (A3's option).
    """
    if kind == "normal":
        return torch.randn_like(like) * NOISE_STD + NOISE_MEAN
    if kind == "uniform":
        return torch.rand_like(like)
    raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}")


def image_layout(feature_shape: Sequence[int]) -> tuple[int, int, int] | None:
    """(channels, height, width) for image-shaped input (H, W) or channels-last (H, W, C), else None."""
    shape = tuple(int(s) for s in feature_shape)
    if len(shape) == 2:
        return 1, shape[0], shape[1]
    if len(shape) == 3 and shape[2] <= 4:
        return shape[2], shape[0], shape[1]
    return None


def to_channels_first(x: torch.Tensor, layout: tuple[int, int, int]) -> torch.Tensor:
    """(b, H, W) or (b, H, W, C) -> (b, C, H, W)."""
    c, h, w = layout
    return x.reshape(len(x), h, w, c).permute(0, 3, 1, 2)


def to_channels_last(x: torch.Tensor, feature_shape: Sequence[int]) -> torch.Tensor:
    """(b, C, H, W) -> the original (b, *feature_shape)."""
    return x.permute(0, 2, 3, 1).reshape(len(x), *feature_shape)
