"""Deep-SVDD baseline (registry name ``"deepsvdd"``; Ruff et al., ICML 2018), as run in ARGUE.

One-class Deep-SVDD on top of a pre-trained bias-free LeakyReLU autoencoder (SEEDS.md §2.7, §6):
stage ``"pretrain"`` trains the AE with MSE (Adam lr 1e-4), stage ``"train"`` copies its encoder into
phi, fixes the centre c (mean phi(train), |c_j| < 0.1 -> +-0.1) and minimises mean ||phi(x) - c||^2
(λ = 0) with Adam(1e-3, Keras lr decay 1e-5). Score = ||phi(x) - c||^2. Unsupervised: labels are
ignored, every training row is used. The architecture, the centre rule, the defaults and the fixed
seed defects (§7.6: the hard-coded learning rates are hyperparameters here) are documented in
:mod:`adray.detectors.svdd_common`.
"""

from __future__ import annotations

from adray.detectors.svdd_common import SVDDBase, svdd_loss


class DeepSVDD(SVDDBase):
    """One-class Deep-SVDD with AE pre-training.

    Parameters
    ----------
    architecture : "auto" (conv for square images with a side that is a multiple of 4, dense otherwise),
        "dense" or "conv" (SEEDS.md §2.7).
    hidden_dims : dense widths, the last one the (linear) code; None = the AE baseline's rule.
    dropout : dropout after each hidden LeakyReLU of the dense AE and phi (ARGUE's AE default 0.1, §2.1).
    pretrain_epochs, pretrain_learning_rate : AE stage (seeds: n_epochs, lr 1e-4 hard-coded, §2.7/§7.6).
    epochs, learning_rate, lr_decay : SVDD stage (seeds: n_epochs, Adam 1e-3 with Keras decay 1e-5).
    batch_size : minibatch of both stages.
    """

    supervision = "unsupervised"

    def __init__(self, *, architecture: str = "auto", hidden_dims: tuple[int, ...] | None = None,
                 dropout: float = 0.1, pretrain_epochs: int = 100, pretrain_learning_rate: float = 1e-4,
                 epochs: int = 100, learning_rate: float = 1e-3, lr_decay: float = 1e-5,
                 batch_size: int = 256) -> None:
        self.architecture = architecture
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.lr_decay = lr_decay
        self.batch_size = batch_size

    def _train_step(self, stage, batch):
        (x,) = batch
        if stage == "pretrain":
            return self._ae_step(x)
        loss = svdd_loss(self._dist(x))
        self._svdd_step(loss)
        return {"loss": loss}
