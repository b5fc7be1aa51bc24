"""The plain formulation of AMSL's network, as first ported: the yardstick of :mod:`.network`'s speed-ups.

:class:`~.network.AMSLNetwork` computes the same function with less work (entropy from the
read-out, transposed convolutions that crop inside the kernel, channels-last on CPU).
``ReferenceNetwork`` keeps the straightforward memory read and decoders (and is left NCHW), with
identical parameters and initialisation, so the tests can check that the optimised network gives
the same outputs and gradients and ``adray bench amsl`` can time both in one run. Training
never uses it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from adray.detectors.amsl.network import KERNEL, AMSLNetwork, Memory, SameConvTranspose2d


def plain_address(features: torch.Tensor, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """w = softmax(f Mᵀ), read-out w M, entropy mean(-w log w) over positions and slots, term by term."""
    log_w = torch.log_softmax(features @ memory.transpose(-1, -2), dim=-1)
    w = log_w.exp()
    return w @ memory, -(w * log_w).mean(dim=(-2, -1))


def cropped_conv_transpose(layer: SameConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """TF's "same" transposed convolution: the full output, (k - s) // 2 rows skipped, s * H kept."""
    stride = layer.stride[0]
    full = F.conv_transpose2d(x, layer.weight, layer.bias, stride=stride)
    skip = (KERNEL - stride) // 2
    return full[..., skip: skip + x.shape[-2] * stride, skip: skip + x.shape[-1] * stride]


class ReferenceNetwork(AMSLNetwork):
    """:class:`AMSLNetwork` (same parameters, same initialisation) with the plain memory read and decoders."""

    def read_memory(self, memory: Memory, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return plain_address(positions, memory.weight)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        decoded = []
        for i, decoder in enumerate(self.decoders):
            x = code[:, i]
            for layer in decoder:
                x = cropped_conv_transpose(layer, x) if isinstance(layer, SameConvTranspose2d) else layer(x)
            decoded.append(x)
        return torch.cat(decoded, dim=1)
