"""DevNet baseline (registry name ``"devnet"``; Pang, Shen & van den Hengel, KDD 2019).

The seeds ran the authors' external code (not shipped, so the settings they ran are unknown);
adray follows the defaults of the paper and its reference code (GuansongPang/deviation-network,
``devnet.py``, Keras 2.2):

- **Network** (``network_depth=2``, the code's and paper's default, Section 4.2 of the paper): flattened input ->
  ``Dense(20) -> ReLU`` with an L2 kernel penalty 0.01 -> ``Dense(1)`` linear score. ``hidden_dims=(1000,
  250, 20)`` gives the code's deeper ``network_depth=4`` variant. Keras defaults: Glorot-uniform, zero bias.
- **Deviation loss**: with a reference r of l = **5000** draws from the prior **N(0, 1)**, drawn once per
  fit (the Keras code builds it once at compile time), dev(x) = (phi(x) - mean r) / std r and
  L = mean[(1 - y) |dev| + y max(0, a - dev)] with margin **a = 5** (:func:`deviation_loss`), plus the
  L2 penalty 0.01 sum W^2 of the hidden kernels.
- **Optimiser**: RMSprop (Keras defaults: lr **1e-3**, rho 0.9, eps 1e-7) with ``clipnorm=1`` (Keras 2.2
  clips by the global norm of all gradients).
- **Training**: **50** epochs of **20** steps (``nb_batch``), each a batch of **512** rows drawn with
  replacement, alternating normal/anomaly (even positions from the y = 0 rows, odd ones from the known
  anomalies: half and half). An "epoch" is those 20 steps.
- **Score** = phi(x) (higher = more anomalous).

Semi-supervised: the known anomalies are the rows with y = 1 (at least one is needed: an AdrayError says
so otherwise); every other row (normal or polluted) is an "inlier".
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors.components import keras_like
from adray.detectors.components.baseline_networks import keras_rmsprop
from adray.detectors.components.constraints import EPOCHS, NON_NEGATIVE, POSITIVE, POSITIVE_INT, Interval, IntSequence
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

N_REFERENCE = 5000  # l in Algorithm 1 of the paper


def deviation_loss(scores: torch.Tensor, y: torch.Tensor, ref_mean: float, ref_std: float,
                   margin: float = 5.0) -> torch.Tensor:
    """DevNet's deviation loss: mean over the batch of |dev| (y = 0) or max(0, margin - dev) (y = 1)."""
    dev = (scores.reshape(-1) - ref_mean) / ref_std
    return torch.where(y > 0, torch.clamp(margin - dev, min=0.0), dev.abs()).mean()


class DevNetwork(nn.Module):
    """Flatten -> [Dense(d) -> ReLU] for d in hidden_dims -> Dense(1) (Keras init)."""

    def __init__(self, n_inputs: int, hidden_dims: tuple[int, ...]):
        super().__init__()
        self.hidden = keras_like.dense_block(n_inputs, hidden_dims)
        self.score = keras_like.dense(hidden_dims[-1] if hidden_dims else n_inputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.hidden(x.flatten(1))).reshape(-1)

    def l2_penalty(self) -> torch.Tensor:
        """sum W^2 over the hidden kernels (the Keras ``kernel_regularizer=l2(.)`` terms, without the factor)."""
        return sum((m.weight ** 2).sum() for m in self.hidden if isinstance(m, nn.Linear))


class DevNet(TorchDetector):
    """Deviation network (see the module docstring for every default and its source).

    Parameters
    ----------
    hidden_dims : hidden widths ((20,) = the paper's default; (1000, 250, 20) its deep variant; () linear).
    l2 : L2 factor on the hidden kernels (0.01). margin : the confidence margin a (5).
    n_reference : size l of the N(0, 1) reference (5000).
    epochs, steps_per_epoch, batch_size : 50, 20 (``nb_batch``), 512.
    learning_rate, clipnorm : RMSprop step size (1e-3) and global gradient-norm clip (1).
    """

    summary: ClassVar[str] = "DevNet (KDD 2019): deviation loss, balanced batches"
    supervision: ClassVar[str] = "semi"
    requires_known_anomalies: ClassVar[bool] = True  # fit needs >= 1 row with y = 1
    state_attrs: ClassVar[tuple[str, ...]] = ("ref_mean_", "ref_std_")
    smoke_params: ClassVar[dict] = {"epochs": 4, "steps_per_epoch": 20, "batch_size": 64}
    default_dataset: ClassVar[str] = "breast_cancer"
    # the paper's 20-unit network and its deeper 1000-250-20 option
    default_grid: ClassVar[dict[str, list]] = {"epochs": [50], "hidden_dims": [[20], [1000, 250, 20]]}
    param_constraints: ClassVar[dict[str, list]] = {
        "hidden_dims": [IntSequence(min_len=0)], "l2": [NON_NEGATIVE], "margin": [NON_NEGATIVE],
        "n_reference": [Interval(int, 2)], "epochs": [EPOCHS], "steps_per_epoch": [POSITIVE_INT],
        "batch_size": [POSITIVE_INT], "learning_rate": [POSITIVE], "clipnorm": [NON_NEGATIVE],  # 0 = no clipping
    }

    def __init__(self, *, hidden_dims: tuple[int, ...] = (20,), l2: float = 0.01, margin: float = 5.0,
                 n_reference: int = N_REFERENCE, epochs: int = 50, steps_per_epoch: int = 20,
                 batch_size: int = 512, learning_rate: float = 1e-3, clipnorm: float = 1.0) -> None:
        self.hidden_dims = hidden_dims
        self.l2 = l2
        self.margin = margin
        self.n_reference = n_reference
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm

    def build_networks(self, feature_shape, n_subclasses):
        dims = tuple(self.hidden_dims)
        return {"net": DevNetwork(int(np.prod(feature_shape)), tuple(int(d) for d in dims))}

    def make_optimizers(self):
        return {"main": keras_rmsprop(self.networks_["net"].parameters(), self.learning_rate)}

    def on_stage_start(self, stage):
        ref = self.stage_rng_.normal(0.0, 1.0, size=int(self.n_reference))
        self.ref_mean_, self.ref_std_ = float(ref.mean()), float(ref.std())  # K.std: population std

    def stage_data(self, stage, X, y, subclass):
        if y is None or not (y == 1).any():
            raise AdrayError(
                "DevNet needs at least one known anomaly (a training row with y = 1); this setting has none: "
                "use a setting with n_train_anomalies > 0 (the seeds run DevNet only then)"
            )
        if not (y != 1).any():
            raise AdrayError("DevNet needs normal (y = 0) training rows as well as known anomalies")
        return X, (y == 1).astype(np.float32)

    def run_epoch(self, stage, data):
        X, y = data
        anomalies = torch.nonzero(y > 0).reshape(-1)
        inliers = torch.nonzero(y == 0).reshape(-1)
        n_in = (self.batch_size + 1) // 2  # positions 0, 2, 4, ... are inliers
        total = 0.0
        for _ in range(int(self.steps_per_epoch)):
            pick_in = torch.randint(len(inliers), (n_in,), generator=self.generator_).to(self.device_)
            pick_out = torch.randint(len(anomalies), (self.batch_size - n_in,),
                                     generator=self.generator_).to(self.device_)
            index = torch.cat([inliers[pick_in], anomalies[pick_out]])
            total += float(self.train_step(stage, (X[index], y[index]))["loss"])
        return {"loss": total / max(1, int(self.steps_per_epoch))}

    def train_step(self, stage, batch):
        x, y = batch
        net = self.networks_["net"]
        loss = deviation_loss(net(x), y, self.ref_mean_, self.ref_std_, float(self.margin))
        loss = loss + self.l2 * net.l2_penalty() if self.l2 else loss
        opt = self.optimizers_["main"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clipnorm:
            torch.nn.utils.clip_grad_norm_(net.parameters(), float(self.clipnorm))
        opt.step()
        return {"loss": loss.detach()}

    def score_batch(self, batch_X):
        return self.networks_["net"](batch_X)
