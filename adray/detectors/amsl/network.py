"""AMSL's network (adray/detectors/amsl/README.md): shared encoder, view classifier, global/local memories, adaptive
fusion and per-view decoders. Shared parts and memories run on all R views at once; the R
unshared decoders run one after the other (faster on CPU than one grouped convolution).

Shapes use PyTorch's channels-first layout: a batch of views is (n, R, T, C); a window is an image
of height T (time) and width C (channels), zero-padded at the top/left to a multiple of 4 (the
original pads 125 x 45 to 128 x 48) and cropped back after decoding. The detector stores the
network channels-last on CPU (a memory layout only: the same function, computed faster);
``reference.py`` keeps a plainer formulation to check and time this one against.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from adray.detectors.components import keras_like

KERNEL = 4  # every Conv2D / Conv2DTranspose is 4 x 4 (published code)
FUSION_BN_EPS = keras_like.KERAS_BN_EPS  # the fusion's BatchNorm runs in inference mode: only eps matters


def pad_amounts(length: int, multiple: int = 4) -> int:
    """Zero rows added before the data so two 2x poolings divide evenly: 125 -> 3, 45 -> 3, 40 -> 0."""
    return (-length) % multiple


class Memory(nn.Module):
    """Memory modules of ``n_slots`` items of dimension ``dim``, U(±1/sqrt(n_slots)) initialised.

    ``n_modules`` = 1: the global memory shared by every view; = R: one local memory per view.
    For each spatial position's feature f: w = softmax(f Mᵀ) over the slots, output w M.
    """

    def __init__(self, n_slots: int, dim: int, n_modules: int = 1) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n_slots)
        shape = (n_modules, n_slots, dim) if n_modules > 1 else (n_slots, dim)
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """features (n, R, P, D) -> (read-out (n, R, P, D), entropy (n, R)); see :func:`address`."""
        return address(features, self.weight)


def address(features: torch.Tensor, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft memory read: w = softmax(f Mᵀ), output w M, entropy mean(-w log w) over positions and slots.

    ``memory`` is (S, D) (shared) or (R, S, D) (one per view, broadcast over the batch). The entropy
    of one position is computed without a (n, R, P, S) product: with logits l = f Mᵀ,
    -Σ_s w_s log w_s = logsumexp(l) - Σ_s w_s l_s, and Σ_s w_s l_s = f · (w M) is the read-out's dot
    product with the feature. Equal to the plain formula up to float rounding, about 5 % less work
    per training step (``adray bench amsl``), and finite where a weight underflows (the
    original's 0 * log 0 is NaN).
    """
    logits = features @ memory.transpose(-1, -2)  # (n, R, P, S)
    read = torch.softmax(logits, dim=-1) @ memory
    entropy = torch.logsumexp(logits, dim=-1) - (features * read).sum(dim=-1)  # (n, R, P)
    return read, entropy.mean(dim=-1) / memory.shape[-2]


class AdaptiveFusion(nn.Module):
    """The 2R fusion weights α = sigmoid(BN_inference(Dense(0))) of the original, as learned scalars.

    Dense(2R) applied to a constant 0 is its bias b (the kernel never gets a gradient, so it is
    omitted); BatchNorm forced into inference mode keeps its moving statistics at (0, 1), giving
    α = sigmoid(gamma * b / sqrt(1 + eps) + beta). Every parameter starts as in Keras (b = 0,
    gamma = 1, beta = 0), so α starts at 0.5. Row r of :meth:`forward` is (α_local, α_global) of view r.
    """

    def __init__(self, n_views: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(2 * n_views))
        self.gamma = nn.Parameter(torch.ones(2 * n_views))
        self.beta = nn.Parameter(torch.zeros(2 * n_views))
        self.register_buffer("moving_mean", torch.zeros(2 * n_views))
        self.register_buffer("moving_var", torch.ones(2 * n_views))

    def forward(self) -> torch.Tensor:
        normed = (self.bias - self.moving_mean) / torch.sqrt(self.moving_var + FUSION_BN_EPS)
        return torch.sigmoid(self.gamma * normed + self.beta).view(-1, 2)


def same_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Keras ``Conv2D(out, 4x4, padding="same")``: TF pads 1 row/column before and 2 after."""
    total = KERNEL - 1
    return nn.Sequential(nn.ZeroPad2d((total // 2, total - total // 2, total // 2, total - total // 2)),
                         nn.Conv2d(in_channels, out_channels, KERNEL))


class SameConvTranspose2d(nn.ConvTranspose2d):
    """Keras ``Conv2DTranspose(out, 4x4, padding="same", strides=s)``: output = s x input.

    TF's "same" transposed convolution is the gradient of a "same" convolution, which pads
    (k - s) // 2 rows before the data: the full transposed output with its first (k - s) // 2 rows
    skipped and s * H rows kept. ``padding`` = (k - s) // 2 drops those rows inside the convolution
    (and as many at the end), so only stride 1 (k - s odd) needs one more row cut off, and stride 2
    returns a contiguous tensor instead of a cropped view that the next layer would have to copy.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__(in_channels, out_channels, KERNEL, stride=stride, padding=(KERNEL - stride) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2] * self.stride[0], x.shape[-1] * self.stride[1]
        out = super().forward(x)
        return out if out.shape[-2:] == (height, width) else out[..., :height, :width]


def decoder(in_channels: int, filters: tuple[int, int, int]) -> nn.Sequential:
    """One view's decoder: ConvT(f3) -> ConvT(f2, s2) -> ConvT(f1, s2) -> ConvT(1), relu/.../sigmoid."""
    f1, f2, f3 = filters
    return keras_like.keras_init(nn.Sequential(
        SameConvTranspose2d(in_channels, f3, 1), nn.ReLU(),
        SameConvTranspose2d(f3, f2, 2), nn.ReLU(),
        SameConvTranspose2d(f2, f1, 2), nn.ReLU(),
        SameConvTranspose2d(f1, 1, 1), nn.Sigmoid(),
    ))


class AMSLNetwork(nn.Module):
    """The whole model for windows of ``length`` x ``n_channels`` and ``n_views`` views.

    Parameters follow the original's flags: ``filters`` = (filter_size1, filter_size2,
    filter_size3) = (32, 64, 128); the memory dimension is filter_size2.
    """

    def __init__(self, length: int, n_channels: int, n_views: int = 7, *, global_slots: int = 500,
                 local_slots: int = 500, filters: tuple[int, int, int] = (32, 64, 128)) -> None:
        super().__init__()
        f1, f2, f3 = filters
        self.length, self.n_channels, self.n_views = length, n_channels, n_views
        self.pad_t, self.pad_c = pad_amounts(length), pad_amounts(n_channels)
        height, width = (length + self.pad_t) // 4, (n_channels + self.pad_c) // 4
        self.code_shape = (f2, height, width)
        self.encoder = keras_like.keras_init(nn.Sequential(
            same_conv(1, f1), nn.ReLU(), nn.MaxPool2d(2),
            same_conv(f1, f2), nn.ReLU(), nn.MaxPool2d(2),
        ))
        self.classifier = keras_like.keras_init(nn.Sequential(
            same_conv(f2, 1), nn.Sigmoid(), nn.Flatten(),
            nn.Linear(height * width, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, n_views),
        ))  # softmax is applied in the loss
        self.global_memory = Memory(global_slots, f2)
        self.local_memory = Memory(local_slots, f2, n_modules=n_views)
        self.fusion = AdaptiveFusion(n_views)
        self.decoders = nn.ModuleList(decoder(2 * f2, filters) for _ in range(n_views))  # unshared

    def encode(self, views: torch.Tensor) -> torch.Tensor:
        """(n, R, T, C) -> z (n, R, f2, T'/4, C'/4) with the shared encoder."""
        n = views.shape[0]
        x = F.pad(views.reshape(n * self.n_views, 1, self.length, self.n_channels), (self.pad_c, 0, self.pad_t, 0))
        return self.encoder(x).view(n, self.n_views, *self.code_shape)

    def forward(self, views: torch.Tensor, classify: bool = True) -> dict[str, torch.Tensor]:
        """Reconstructions (n, R, T, C), memory entropies (n, R) each, view logits (n, R, R) if asked."""
        n, r = views.shape[0], self.n_views
        z = self.encode(views)
        dim, height, width = self.code_shape
        positions = z.flatten(-2).transpose(-1, -2)  # (n, R, P, D)
        global_read, global_entropy = self.read_memory(self.global_memory, positions)
        local_read, local_entropy = self.read_memory(self.local_memory, positions)
        alpha = self.fusion()  # (R, 2): view r uses its own memory reads (fixes the views 6/7 bug)
        fused = alpha[:, :1, None] * local_read + alpha[:, 1:, None] * global_read
        fused = fused.transpose(-1, -2).reshape(n, r, dim, height, width)
        code = torch.cat([z, fused], dim=2)  # (n, R, 2 f2, h, w): concat(z_r, Fused_r)
        out = {"reconstruction": self.decode(code)[:, :, self.pad_t:, self.pad_c:],
               "global_entropy": global_entropy, "local_entropy": local_entropy}
        if classify:
            out["logits"] = self.classifier(z.reshape(n * r, *self.code_shape)).view(n, r, r)
        return out

    def read_memory(self, memory: Memory, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(read-out, entropy) of one memory for features (n, R, P, D)."""
        return memory(positions)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Codes (n, R, 2 f2, h, w) -> padded windows (n, R, T', C'), view r by decoder r."""
        return torch.cat([dec(c) for c, dec in zip(code.unbind(1), self.decoders, strict=True)], dim=1)
