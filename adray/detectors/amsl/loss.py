"""AMSL's losses and score (adray/detectors/amsl/README.md).

total = Σ_r MSE_r + λ2 · L_spar + λ1 · Σ_r CE_r, every term averaged over the batch, where
MSE_r is the mean squared reconstruction error of view r, L_spar the sum of the 2R memory
entropies (R global reads + R local reads) and CE_r the view classifier's cross-entropy for view r
(target class r).
"""

from __future__ import annotations

import torch

from adray.detectors.components import keras_like


def view_mse(views: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """(n, R) mean squared error of every view of every sample."""
    return ((views - reconstruction) ** 2).mean(dim=(-2, -1))


def reconstruction_score(views: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """The anomaly score: per-sample Σ_r MSE_r, shape (n,).

    The original's ``mse`` Lambda averages over the whole batch, giving every sample of a batch of
    16 the same value (a defect of the published code); this is the per-sample version.
    """
    return view_mse(views, reconstruction).sum(dim=1)


def keras_categorical_crossentropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Keras' ``categorical_crossentropy`` on softmax probabilities, per row.

    Keras clips the probabilities to [1e-7, 1 - 1e-7] before the log
    (:mod:`adray.detectors.components.keras_like`), so a probability below 1e-7 contributes
    -log(1e-7) and no gradient. ``target`` holds class indices.
    """
    probs = torch.softmax(logits, dim=-1).clamp(keras_like.KERAS_EPSILON, 1.0 - keras_like.KERAS_EPSILON)
    return -torch.log(probs.gather(-1, target.unsqueeze(-1)).squeeze(-1))


def amsl_loss(views: torch.Tensor, out: dict[str, torch.Tensor], lambda1: float, lambda2: float
              ) -> dict[str, torch.Tensor]:
    """Total loss and its parts for a batch of views (n, R, T, C) and the network's outputs."""
    n, r = views.shape[:2]
    mse = view_mse(views, out["reconstruction"]).mean(dim=0).sum()
    sparsity = (out["global_entropy"].sum(dim=1) + out["local_entropy"].sum(dim=1)).mean()
    target = torch.arange(r, device=views.device).expand(n, r)
    ce = keras_categorical_crossentropy(out["logits"], target).mean(dim=0).sum()
    total = mse + lambda2 * sparsity + lambda1 * ce
    return {"loss": total, "mse": mse, "sparsity": sparsity, "ce": ce}
