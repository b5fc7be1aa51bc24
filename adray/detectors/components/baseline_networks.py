"""Building blocks shared by the external baselines (DAGMM, GradCon, fAnoGAN, MEx-CVAE, GANomaly).

Everything else comes from :mod:`~adray.detectors.components.keras_like` (Keras defaults) and
:mod:`~adray.detectors.components.autoencoders` (the seeds' dense AE,
:class:`~adray.detectors.components.autoencoders.DenseAutoEncoder`, and the hidden-width rule
:func:`~adray.detectors.components.autoencoders.default_hidden_dims`). This module adds:

- :func:`resolve_dims`: hidden widths from a hyperparameter (``None`` = the AE rule);
- :func:`mlp`: ``[Dense -> act -> Dropout]`` hidden layers plus a linear output layer (DAGMM);
- :func:`aae_encoder` / :func:`aae_decoder`: the dense layout of ARGUE's ``AdversarialAutoencoder``
  (A4RGUE's clustering AAE), from which ARGUE derives fAnoGAN;
- :func:`keras_rmsprop`: Keras RMSprop (rho 0.9, eps 1e-7; PyTorch's alpha default is 0.99);
- :func:`per_sample_mse`: the mean squared error of each row (Keras ``mean_squared_error`` per sample).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from adray.detectors.components import keras_like
from adray.detectors.components.autoencoders import default_hidden_dims

KERAS_RMSPROP_RHO = 0.9


def resolve_dims(dims: Sequence[int] | None, n_inputs: int, min_len: int = 1) -> tuple[int, ...]:
    """``dims`` as a tuple of ints; ``None``: :func:`default_hidden_dims` of ``n_inputs``, widened to at
    least ``min_len`` widths. A given value was checked by the detector's constraint table in ``fit``."""
    if dims is None:
        dims = default_hidden_dims(n_inputs)
        if len(dims) < min_len:  # tiny inputs: widen so that the layout has its hidden layer(s)
            dims = (max(2, n_inputs),) * (min_len - len(dims)) + tuple(dims)
    return tuple(int(d) for d in dims)


def mlp(
    in_features: int,
    hidden: Sequence[int],
    out_features: int,
    *,
    activation: Callable[[], nn.Module] = nn.Tanh,
    dropout: float = 0.0,
) -> nn.Sequential:
    """``[Dense(d) -> activation -> Dropout]`` for d in ``hidden``, then a linear ``Dense(out_features)``."""
    body = keras_like.dense_block(in_features, hidden, activation=activation, dropout=dropout)
    layers = OrderedDict(body.named_children())
    layers["output"] = keras_like.dense(int(hidden[-1]) if len(hidden) else in_features, out_features)
    return nn.Sequential(layers)


def aae_encoder(n_inputs: int, dims: Sequence[int]) -> nn.Sequential:
    """ARGUE ``AdversarialAutoencoder`` dense encoder: ``[Dense -> BN -> LeakyReLU(0.01)]`` for dims[:-1],
    then a linear ``Dense(dims[-1])`` code (dropout 0, Keras BatchNorm defaults)."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    width = n_inputs
    for i, d in enumerate(dims[:-1]):
        layers[f"dense{i}"] = keras_like.dense(width, d)
        layers[f"bn{i}"] = keras_like.batch_norm(d)
        layers[f"act{i}"] = nn.LeakyReLU(0.01)
        width = d
    layers["code"] = keras_like.dense(width, dims[-1])
    return nn.Sequential(layers)


def aae_decoder(dims: Sequence[int], n_outputs: int) -> nn.Sequential:
    """ARGUE ``AdversarialAutoencoder`` dense decoder: ``[Dense -> ReLU]`` for reversed(dims[:-1]), then
    ``Dense(n_outputs) -> sigmoid``."""
    layers = OrderedDict(keras_like.dense_block(dims[-1], list(reversed(dims[:-1]))).named_children())
    layers["output"] = keras_like.dense(dims[0] if len(dims) > 1 else dims[-1], n_outputs)
    layers["output_act"] = nn.Sigmoid()
    return nn.Sequential(layers)


def keras_rmsprop(params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.RMSprop:
    """Keras RMSprop: rho 0.9, eps 1e-7, no momentum (``x -= lr * g / (sqrt(v) + eps)`` in both libraries)."""
    return torch.optim.RMSprop(params, lr=lr, alpha=KERAS_RMSPROP_RHO, eps=keras_like.KERAS_EPSILON)


def per_sample_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(b,) mean over every non-batch element of (a - b)^2."""
    return ((a - b) ** 2).flatten(1).mean(dim=1)


def parameters(*modules: nn.Module) -> list[nn.Parameter]:
    return [p for module in modules for p in module.parameters()]
