"""ARGUE's losses and labels (adray/detectors/argue/README.md), Keras semantics (clipped BCE/CCE, batch means)."""

from __future__ import annotations

import numpy as np
import torch

from adray.detectors.components import keras_like


def combine(gate: torch.Tensor, alarms: torch.Tensor) -> torch.Tensor:
    """score = Σ_{i=1}^{n+1} g_i · a_i with a_{n+1} ≡ 1 (the anomaly expert); alarms: (b, n)."""
    ones = torch.ones_like(alarms[:, :1])
    return (gate * torch.cat([alarms, ones], dim=1)).sum(dim=1)


def cce(probabilities: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Keras ``CategoricalCrossentropy`` on probabilities with one-hot targets given as indices.

    Rows are renormalised, clipped to [1e-7, 1 − 1e-7], then −log p[target], averaged over the batch.
    """
    p = probabilities / probabilities.sum(dim=1, keepdim=True)
    p = p.clamp(keras_like.KERAS_EPSILON, 1.0 - keras_like.KERAS_EPSILON)
    return -torch.log(p.gather(1, target.reshape(-1, 1).long())).mean()


def alarm_loss(score_real: torch.Tensor, y: torch.Tensor, score_noise: torch.Tensor) -> torch.Tensor:
    """L_alarm = BCE(y, score(x)) + BCE(1, score(x_noise)) (the training step's alarm update)."""
    return keras_like.bce(score_real, y) + keras_like.bce(score_noise, torch.ones_like(score_noise))


def gate_loss(gate_real: torch.Tensor, labels: torch.Tensor, gate_noise: torch.Tensor) -> torch.Tensor:
    """L_gate = CCE(y_gate, g(x)) + CCE(onehot_n, g(x_noise)); the anomaly expert is the last column."""
    anomaly = torch.full((len(gate_noise),), gate_noise.shape[1] - 1, device=gate_noise.device)
    return cce(gate_real, labels) + cce(gate_noise, anomaly)


def expert_loss(reconstructions: list[torch.Tensor], inputs: list[torch.Tensor]) -> torch.Tensor:
    """Σ_experts mean-BCE(x_i, x̂_i) with equal weights (Keras multi-output fit)."""
    return sum(keras_like.bce(r.flatten(1), x.flatten(1)) for r, x in zip(reconstructions, inputs, strict=True))


def critic_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN critic: −mean(critic(real)) + mean(critic(fake))."""
    return -real.mean() + fake.mean()


def gate_labels(y: np.ndarray | None, partition: np.ndarray, n_experts: int) -> np.ndarray:
    """Gate targets as column indices: the row's expert (sub-class or cluster), or ``n_experts``
    (the anomaly expert) for known anomalies (y == 1) and rows without a partition (< 0).

    This is ``get_attention_labels``; the shipped ``DataLabels.to_data()`` never fills
    them (the README's first defect), fixed here. Polluted rows carry y = 0 and their random normal class.
    """
    partition = np.asarray(partition, dtype=np.int64)
    labels = np.where(partition >= 0, partition, n_experts)
    if y is not None:
        labels = np.where(np.asarray(y) == 1, n_experts, labels)
    if labels.max(initial=0) > n_experts:
        raise ValueError(f"partition ids must be < n_experts={n_experts}, got {int(labels.max())}")
    return labels.astype(np.int64)


def equalised_experts(partition: np.ndarray, n_experts: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices (N_max, n_experts): column i holds every row of expert i, oversampled to the size of
    the largest expert by random repetition (``equalise_expert_data``). Experts without rows get
    a column of −1 (they are skipped)."""
    groups = [np.flatnonzero(partition == i) for i in range(n_experts)]
    size = max(len(g) for g in groups)
    if size == 0:
        raise ValueError("no expert has any training row")
    columns = []
    for g in groups:
        if len(g) == 0:
            columns.append(np.full(size, -1, dtype=np.int64))
        else:
            columns.append(np.concatenate([g, g[rng.choice(len(g), size - len(g))]]))
    return np.stack(columns, axis=1).astype(np.int64)
