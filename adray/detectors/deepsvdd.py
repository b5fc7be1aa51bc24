"""Deep-SVDD baseline (registry name ``"deepsvdd"``; Ruff et al., ICML 2018).

One-class Deep-SVDD: a bias-free network phi, optionally the encoder of an autoencoder pre-trained with MSE
(stage ``"pretrain"``), then stage ``"train"`` fixes the centre c (mean phi(train), |c_j| < 0.1 -> +-0.1)
and minimises mean ||phi(x) - c||^2. Score = ||phi(x) - c||^2. Unsupervised: labels are ignored, every
training row is used. The networks, the centre rule, the defaults and why they were chosen are in
:mod:`adray.detectors.components.svdd`.
"""

from __future__ import annotations

from typing import ClassVar

from adray.detectors.components.svdd import SVDDBase, svdd_loss


class DeepSVDD(SVDDBase):
    """One-class Deep-SVDD (with AE pre-training for the mlp, dense and conv networks).

    Parameters
    ----------
    architecture : "auto" (conv for square images with a side that is a multiple of 4, branched otherwise),
        "seeds" (the papers' choice: conv for such images, dense otherwise),
        "branched" (PyOD's ReLU network in ``n_branches`` copies, on standardised features), "mlp" (Ruff
        et al.'s tabular network on standardised features), "dense" (the seeds' dense network on [0, 1]
        input) or "conv" (the seeds' image network).
    hidden_dims : dense widths, the last one the code; None = (64, 32) for branched, (128, 64, 32) for
        mlp, the AE baseline's halving rule for dense.
    n_branches : independent copies of the branched network, their distances summed (1 = PyOD's).
    dropout : dropout after each hidden activation of the fully connected networks (the seeds used 0.1).
    pretrain_epochs, pretrain_learning_rate : AE stage; pretrain_epochs None = none for branched, 150
        for the others.
    epochs, learning_rate, lr_decay : SVDD stage (lr_decay: Keras' inverse-time decay per step).
    batch_size : minibatch of both stages.
    """

    summary: ClassVar[str] = "Deep-SVDD on five independent branches of PyOD's network, the ±0.1 centre rule"
    supervision: ClassVar[str] = "unsupervised"
    default_dataset: ClassVar[str] = "breast_cancer:unsupervised"

    def __init__(self, *, architecture: str = "auto", hidden_dims: tuple[int, ...] | None = None,
                 n_branches: int = 5, dropout: float = 0.0, pretrain_epochs: int | None = None,
                 pretrain_learning_rate: float = 1e-4, epochs: int = 100, learning_rate: float = 1e-4,
                 lr_decay: float = 1e-5, batch_size: int = 32) -> None:
        self.architecture = architecture
        self.hidden_dims = hidden_dims
        self.n_branches = n_branches
        self.dropout = dropout
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.lr_decay = lr_decay
        self.batch_size = batch_size

    def train_step(self, stage, batch):
        (x,) = batch
        if stage == "pretrain":
            return self._ae_step(x)
        loss = svdd_loss(self._branch_dists(x))
        self._svdd_step(loss)
        return {"loss": loss}
