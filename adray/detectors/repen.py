"""REPEN baseline (registry name ``"repen"``; Pang, Cao, Chen & Liu, KDD 2018), unsupervised.

The seeds ran the authors' external code (epochs = min(30, n_epochs); not shipped, so its
other settings there are unknown). adray follows the paper and its reference code (GuansongPang/deep-outlier-detection,
``REPEN.py`` and ``utilities.py``, Keras 2.2):

1. **Outlier candidates**: LeSiNN scores the training rows, an ensemble of **50** random subsamples of
   **8** rows each, a row's score = mean over the ensemble of the Euclidean distance to its nearest
   neighbour in the subsample (:func:`lesinn_scores`). Rows scoring above mean + **1.7321** std
   (Cantelli's inequality with alpha = 0.25) are outlier candidates, the rest inlier candidates; if none
   exceeds it, the 10 top-scored rows are the candidates (``cutoff_unsorted``, :func:`split_candidates`).
2. **Triplets**: anchor = an inlier candidate drawn with probability proportional to (sum of the inlier
   scores - its score), positive = another inlier candidate drawn uniformly, negative = an outlier candidate
   drawn with probability proportional to its score.
3. **Representation**: one shared ``Dense(20) -> ReLU`` layer (Keras init) on the flattened input, trained
   with the triplet ranking loss mean max(0, **1000** - (||f(a) - f(n)||^2 - ||f(a) - f(p)||^2))
   (:func:`triplet_loss`) by Adadelta (Keras defaults: lr **1.0**, rho 0.95, eps 1e-7), batches of **256**
   triplets, ceil(n / 256) steps per epoch, **30** epochs (the code's value, also the seeds' cap).
4. **Score** = LeSiNN in the learned space: the mean over the same 50 subsamples (embedded with the trained
   layer) of the distance to the nearest subsample row. The reference code draws both LeSiNN ensembles with
   the same fixed RandomState(42) on the same data, i.e. the same subsamples; adray draws them from the
   trial seed instead.

Unsupervised: labels are ignored (every training row takes part). The seeds train REPEN on the test
split when there is no pollution; adray always trains on the training rows.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors.components import keras_like
from adray.detectors.components.constraints import NON_NEGATIVE, POSITIVE, POSITIVE_INT, Interval
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

ADADELTA_RHO = 0.95  # Keras Adadelta defaults
N_FALLBACK = 10  # cutoff_unsorted: the top-10 rows when nothing exceeds the threshold


def lesinn_scores(X: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """LeSiNN: mean over the ensemble of the distance to the nearest reference row.

    X (n, d); references (E, psi, d), one subsample per ensemble member -> (n,) scores.
    """
    dist = torch.cdist(X.unsqueeze(0).expand(len(references), -1, -1), references)  # (E, n, psi)
    return dist.min(dim=2).values.mean(dim=0)


def split_candidates(scores: np.ndarray, n_std: float = 1.7321) -> tuple[np.ndarray, np.ndarray]:
    """(inlier, outlier) candidate indices: above mean + n_std * std are outliers (else the top 10)."""
    threshold = scores.mean() + n_std * scores.std()
    if threshold >= scores.max():
        threshold = np.sort(scores)[-min(N_FALLBACK + 1, len(scores))]
    return np.flatnonzero(scores <= threshold), np.flatnonzero(scores > threshold)


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                 margin: float = 1000.0) -> torch.Tensor:
    """mean max(0, margin - (||a - n||^2 - ||a - p||^2)) with squared Euclidean distances."""
    pos = ((anchor - positive) ** 2).sum(dim=1)
    neg = ((anchor - negative) ** 2).sum(dim=1)
    return torch.clamp(margin - (neg - pos), min=0.0).mean()


class REPENNetwork(nn.Module):
    """Flatten -> Dense(embedding_dim) -> ReLU."""

    def __init__(self, n_inputs: int, embedding_dim: int):
        super().__init__()
        self.hidden = keras_like.dense(n_inputs, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.hidden(x.flatten(1)))


class REPEN(TorchDetector):
    """REPEN: triplet representation learning on LeSiNN candidates, scored by LeSiNN (module docstring).

    Parameters
    ----------
    embedding_dim : representation size (20). margin : triplet margin (1000).
    ensemble_size, subsample_size : LeSiNN's E = 50 and psi = 8. cutoff_std : 1.7321 (Cantelli, alpha 0.25).
    epochs : <= 30 (30). batch_size : triplets per step (256). steps_per_epoch : None = ceil(n / batch_size).
    learning_rate : Adadelta step size (Keras default 1.0).

    Attributes
    ----------
    references_ : (E, psi, *shape) tensor, the LeSiNN subsamples (raw rows, embedded when scoring).
    n_outlier_candidates_ : how many training rows were outlier candidates.
    """

    summary: ClassVar[str] = "REPEN (KDD 2018): LeSiNN candidates, triplet loss"
    supervision: ClassVar[str] = "unsupervised"
    state_attrs: ClassVar[tuple[str, ...]] = ("references_",)
    smoke_params: ClassVar[dict] = {"epochs": 2, "steps_per_epoch": 3, "batch_size": 64}
    default_dataset: ClassVar[str] = "breast_cancer:unsupervised"
    default_grid: ClassVar[dict[str, list]] = {"epochs": [30], "embedding_dim": [20, 50]}
    param_constraints: ClassVar[dict[str, list]] = {
        "embedding_dim": [POSITIVE_INT], "margin": [NON_NEGATIVE], "ensemble_size": [POSITIVE_INT],
        "subsample_size": [POSITIVE_INT], "cutoff_std": [NON_NEGATIVE],
        "epochs": [Interval(int, 0, 30)],  # the seeds' protocol trains REPEN for at most 30 epochs
        "batch_size": [POSITIVE_INT], "steps_per_epoch": [None, POSITIVE_INT], "learning_rate": [POSITIVE],
    }

    def __init__(self, *, embedding_dim: int = 20, margin: float = 1000.0, ensemble_size: int = 50,
                 subsample_size: int = 8, cutoff_std: float = 1.7321, epochs: int = 30, batch_size: int = 256,
                 steps_per_epoch: int | None = None, learning_rate: float = 1.0) -> None:
        self.embedding_dim = embedding_dim
        self.margin = margin
        self.ensemble_size = ensemble_size
        self.subsample_size = subsample_size
        self.cutoff_std = cutoff_std
        self.epochs = epochs
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.learning_rate = learning_rate

    def build_networks(self, feature_shape, n_subclasses):
        return {"net": REPENNetwork(int(np.prod(feature_shape)), int(self.embedding_dim))}

    def make_optimizers(self):
        return {"main": torch.optim.Adadelta(self.networks_["net"].parameters(), lr=self.learning_rate,
                                             rho=ADADELTA_RHO, eps=keras_like.KERAS_EPSILON)}

    def stage_data(self, stage, X, y, subclass):
        n = len(X)
        if n < 3:
            raise AdrayError(f"REPEN needs at least 3 training rows, got {n}")
        psi = min(int(self.subsample_size), n)
        picks = np.stack([self.stage_rng_.choice(n, psi, replace=False) for _ in range(int(self.ensemble_size))])
        self.references_ = self.as_tensor(np.array(X[picks]))  # a copy: (E, psi, *shape)
        flat = self.as_tensor(X).flatten(1)
        scores = lesinn_scores(flat, self.references_.flatten(2)).cpu().numpy().astype(np.float64)
        inliers, outliers = split_candidates(scores, float(self.cutoff_std))
        if len(inliers) < 2 or len(outliers) < 1:
            raise AdrayError(f"REPEN found {len(inliers)} inlier and {len(outliers)} outlier candidates; "
                             "it needs at least 2 and 1: give it more training rows")
        self.n_outlier_candidates_ = len(outliers)
        s_in = scores[inliers]
        anchor_w = np.zeros(n)
        anchor_w[inliers] = s_in.sum() - s_in
        if anchor_w.sum() <= 0:  # all inlier scores 0 (duplicates): uniform
            anchor_w[inliers] = 1.0
        negative_w = np.zeros(n)
        negative_w[outliers] = scores[outliers]
        inlier_mask = np.zeros(n, dtype=np.float32)
        inlier_mask[inliers] = 1.0
        return X, (anchor_w / anchor_w.sum()).astype(np.float32), \
            (negative_w / negative_w.sum()).astype(np.float32), inlier_mask

    def run_epoch(self, stage, data):
        X, anchor_w, negative_w, inlier_mask = data
        steps = self.steps_per_epoch or math.ceil(len(X) / self.batch_size)
        g = self.generator_
        inliers = torch.nonzero(inlier_mask > 0).reshape(-1).cpu()
        anchor_w, negative_w = anchor_w.cpu(), negative_w.cpu()
        total = 0.0
        for _ in range(int(steps)):
            anchor = torch.multinomial(anchor_w, self.batch_size, replacement=True, generator=g)
            # positive: uniform over the other inlier candidates
            rank = torch.searchsorted(inliers, anchor)
            other = torch.randint(len(inliers) - 1, (self.batch_size,), generator=g)
            positive = inliers[other + (other >= rank).long()]
            negative = torch.multinomial(negative_w, self.batch_size, replacement=True, generator=g)
            index = [i.to(self.device_) for i in (anchor, positive, negative)]
            total += float(self.train_step(stage, tuple(X[i] for i in index))["loss"])
        return {"loss": total / max(1, int(steps))}

    def train_step(self, stage, batch):
        net = self.networks_["net"]
        loss = triplet_loss(*(net(x) for x in batch), margin=float(self.margin))
        self.optimize(loss)
        return {"loss": loss.detach()}

    def score_batch(self, batch_X):
        net = self.networks_["net"]
        refs = net(self.references_.flatten(0, 1)).reshape(len(self.references_), -1, int(self.embedding_dim))
        return lesinn_scores(net(batch_X), refs)

    def transform(self, X) -> np.ndarray:
        """The learned representation of X, float32 (n, embedding_dim)."""
        self._check_fitted()
        X = self._check_X(X, "X", feature_shape=self.feature_shape_)
        return torch.cat(self.infer(lambda x: self.networks_["net"](x).cpu(), self.batches(X))).numpy()
