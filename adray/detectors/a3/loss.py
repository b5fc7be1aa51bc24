"""A3's losses (adray/detectors/a3/README.md), on probabilities, with Keras' clipped BCE."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from adray.detectors.components import keras_like


def alarm_loss(p_real: torch.Tensor, y: torch.Tensor, p_fake: torch.Tensor,
               anomaly_loss_weight: float = 1.0) -> torch.Tensor:
    """BCE(y, A(act(x))) + w · BCE(1, A(act(G(x)))), each a mean over the batch.

    One counter-example per real sample: ``p_fake`` has the batch's length.
    """
    return keras_like.bce(p_real, y) + anomaly_loss_weight * keras_like.bce(p_fake, torch.ones_like(p_fake))


def shifted_l1l2(output: torch.Tensor, l1: float = 0.0, l2: float = 0.0, shift: float = 1.0) -> torch.Tensor:
    """Keras activity regulariser ``ShiftedL1L2(new_zero=1)`` on the alarm output.

    Σ_outputs l1·|o − shift| + l2·(o − shift)², averaged over the batch (Keras divides activity
    regularisation by the batch size). Zero at o = 1.
    """
    d = output.reshape(len(output), -1) - shift
    return (l1 * d.abs() + l2 * d.square()).sum(dim=1).mean()


def l1l2(params: Iterable[torch.Tensor], l1: float = 0.0, l2: float = 0.0) -> torch.Tensor:
    """Keras ``L1L2`` weight regulariser: Σ l1·|w| + l2·w² over the given tensors (kernel and bias)."""
    total = 0.0
    for p in params:
        total = total + l1 * p.abs().sum() + l2 * p.square().sum()
    return torch.as_tensor(total)


def vae_loss(x: torch.Tensor, reconstruction: torch.Tensor, mean: torch.Tensor,
             log_var: torch.Tensor) -> torch.Tensor:
    """A3's VAE objective: mean_b[Σ_pixels BCE + KL] + mean BCE (the compiled Keras loss).

    KL = −½ Σ (1 + log σ² − μ² − exp(log σ²)).
    """
    x, reconstruction = x.flatten(1), reconstruction.flatten(1)
    bce = keras_like.bce(reconstruction, x, reduction="none")
    kl = -0.5 * (1.0 + log_var - mean.square() - log_var.exp()).sum(dim=1)
    return (bce.sum(dim=1) + kl).mean() + bce.mean()
