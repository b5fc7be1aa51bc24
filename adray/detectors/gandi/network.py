"""GANDI's networks, generalised from the original 1-D experiment to d features.

- :class:`Generator`: noise (b, k) -> samples (b, d); hidden layers with softplus, linear output.
  Architecture 1: 5; 2: 10-10-5; 3: 25-25-20-10 (the original's ``GeneratorNN.architecture_<n>``).
- :class:`Discriminator` (architecture 1): ``h1 = tanh(Lin(d -> 5))``; then, for minibatches of more
  than one row, minibatch discrimination (:class:`MinibatchDiscrimination`: 5 kernels x 3 dims,
  output ``concat(h1, o)`` of width 10), else ``Lin(5 -> 5)`` with no activation; ``logit = Lin(-> 1)``.
- Every weight is Xavier(Glorot)-uniform, every bias zero (TF1 ``xavier_initializer``, as the original).

Both networks accept any leading batch shape ``(..., b, features)``. The minibatch features of a row
are computed over the rows of its own minibatch (the second-to-last axis), so a stack of
``(n_batches, b, d)`` scores ``n_batches`` independent minibatches in one call.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from adray.detectors.components import keras_like

GENERATOR_ARCHS: dict[int, tuple[int, ...]] = {1: (5,), 2: (10, 10, 5), 3: (25, 25, 20, 10)}  # the original's
D_HIDDEN = 5  # h1 and the no-minibatch h2 width (DiscriminatorNN.architecture_1)
N_KERNELS, KERNEL_DIM = 5, 3  # minibatch discrimination: T = Lin(5 -> 15) viewed as 5 x 3


class Generator(nn.Module):
    """Noise (..., k) -> samples (..., d): ``[Lin -> softplus]`` per hidden width, then a linear output."""

    def __init__(self, n_noise: int, n_out: int, arch: int = 3):
        super().__init__()
        if arch not in GENERATOR_ARCHS:
            raise ValueError(f"generator architecture must be one of {sorted(GENERATOR_ARCHS)}, got {arch!r}")
        self.hidden = keras_like.dense_block(n_noise, GENERATOR_ARCHS[arch], activation=nn.Softplus)
        self.output = keras_like.dense(GENERATOR_ARCHS[arch][-1], n_out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(z))


def minibatch_features(t: torch.Tensor) -> torch.Tensor:
    """Salimans et al. (2016) minibatch features: ``o_b(i) = sum_j exp(-||T_b(i) - T_b(j)||_1)``.

    ``t`` has shape (..., n, kernels, dims); the sum runs over the n rows of the minibatch, j = i
    included (so every feature is >= 1). Returns (..., n, kernels).
    """
    per_kernel = t.movedim(-2, -3)  # (..., kernels, n, dims)
    distance = torch.cdist(per_kernel, per_kernel, p=1.0)  # (..., kernels, n, n)
    return torch.exp(-distance).sum(dim=-1).movedim(-2, -1)


class MinibatchDiscrimination(nn.Module):
    """``concat(x, o(T x))`` with T = Lin(in -> kernels * dims) (the original's minibatch feature layer)."""

    def __init__(self, in_features: int, n_kernels: int = N_KERNELS, kernel_dim: int = KERNEL_DIM):
        super().__init__()
        self.n_kernels, self.kernel_dim = n_kernels, kernel_dim
        self.T = keras_like.dense(in_features, n_kernels * kernel_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.T(x).unflatten(-1, (self.n_kernels, self.kernel_dim))
        return torch.cat([x, minibatch_features(t)], dim=-1)


class Discriminator(nn.Module):
    """Architecture 1: samples (..., b, d) -> logits (..., b); D(x) = sigmoid(logit) = P(x is real)."""

    def __init__(self, n_in: int, minibatch_discrimination: bool = True):
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["hidden1"] = keras_like.dense(n_in, D_HIDDEN)
        layers["act1"] = nn.Tanh()
        if minibatch_discrimination:
            layers["minibatch"] = MinibatchDiscrimination(D_HIDDEN)
            width = D_HIDDEN + N_KERNELS
        else:
            layers["hidden2"] = keras_like.dense(D_HIDDEN, D_HIDDEN)
            width = D_HIDDEN
        layers["output"] = keras_like.dense(width, 1)
        self.layers = nn.Sequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).squeeze(-1)
