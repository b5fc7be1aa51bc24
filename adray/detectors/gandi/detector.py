"""GANDI: a GAN's discriminator as an anomaly detector (registry name ``"gandi"``; ``adray/detectors/gandi/README.md``).

E. Karavani's 2017 thesis project (ehudkr/gandi, TF1 graph mode) trains a small GAN on a 1-D
N(4, 1) and tracks how well ``1 - D(x)`` separates shifted Gaussians "over training time". This port
keeps every number of the original and generalises it to d features (flattened input):

- **Generator**: noise z ~ U(-8, 8)^k (``noise_dim`` k, default d) -> d outputs; softplus
  hidden layers, linear output; ``g_arch`` 1 (5), 2 (10-10-5) or 3 (25-25-20-10, the paper's
  setting 9). See :mod:`adray.detectors.gandi.network`.
- **Discriminator**: ``d_arch`` 1 only (the original's architecture 2 was never written):
  tanh(Lin(d -> 5)), minibatch discrimination (5 kernels x 3 dims) when ``minibatch > 1``, else
  Lin(5 -> 5); then Lin(-> 1) and a sigmoid. Xavier-uniform weights, zero biases.
- **Losses**: ``d_loss`` "cross_entropy" | "game"; ``g_loss`` "cross_entropy"
  (non-saturating) | "non_sat_heu" | "minimax" | "max_like" (see :mod:`adray.detectors.gandi.loss`).
- **Optimiser**: one TF1 Adam per network: lr 1e-3, betas (0.9, 0.999), **eps 1e-8**.
- **Loop**: each training step does ``d_step_ratio`` D updates, each on a fresh minibatch of
  ``minibatch`` (12) training rows and fresh noise, then one G update on fresh noise. As in the
  original (D1/D2 sharing weights), the real and the generated minibatch are separate minibatches
  for minibatch discrimination; they go through D stacked in one call. The original
  samples N(4, 1) afresh at every step; here the rows are drawn uniformly with replacement from X
  (i.i.d. draws from the empirical distribution). With one feature (resp. one noise dimension) the
  batch is sorted, as the original's samplers did; D's losses are batch means and minibatch
  discrimination is permutation-equivariant, so the order changes nothing but summation order.
- **Steps, not epochs**: training runs ``training_steps`` generator steps (the original ran
  200,001; the default 5,000 keeps a fit to seconds on one CPU core). Every ``steps_per_report``
  steps (the original tested D every 1,000) the template sends one report: mean D and G losses of the
  block, the step counters and, with validation data, ``val_auc``. That is GANDI's "AUC over
  training", one Tune result per report. Checkpoints are taken at report boundaries.
- **Score**: ``1 - D(x)`` (as the original: D's "real" probability is a normality score). Computed as
  ``sigmoid(-logit)`` in float64, which is the same number without float32 saturation at 1.

Scoring and the minibatch-discrimination caveat
    With minibatch discrimination a row's D output depends on the other rows of its minibatch. The
    original fed the 6,000 true and the 6,000 anomalous test samples as two separate, homogeneous
    batches, so its AUCs depend on how the batches were composed. Here ``decision_function(X)`` cuts
    X, in the given row order, into consecutive minibatches of ``score_batch_size`` rows (default
    ``minibatch``, the size D saw in training; 6000 reproduces the original) and fills the last one
    up with rows from the start of X (their second scores are discarded). A row's score therefore
    depends only on X itself (on the rows in its own minibatch), never on another call: it is
    deterministic, and scoring the val set cannot change the test scores. Reordering X changes the
    scores. Without minibatch discrimination (``minibatch == 1``) scores are per-row.

What to expect
    As the author found, the AUC over training is non-monotonic and oscillates; it can flip
    below 0.5 when D leans on the minibatch features and G collapses. On ``gaussian_shift:shift3``
    with the original's protocol (normal and shifted test rows scored as separate sets) 2,000 steps
    reach per-side AUCs of about 0.9-1.0; on mixed test sets (the adray trial) the batch dependence
    costs more and varies from report to report. ``val_auc`` per report is the way to watch this.
    One step of the default (g_arch 3) takes about 2.5 ms of one CPU core, so 5,000 steps ~ 12 s.

Defects of the original fixed here
    - The data and noise distributions were configured through a ``kwargs=`` dict that their class
      ignored (so the class defaults applied): here every setting is an explicit hyperparameter
      and is used.
    - D and G optimisers incremented one shared ``global_step``, so "steps" counted D and G updates
      together: here ``d_steps_`` and ``g_steps_`` count separately (reported as ``d_steps`` and
      ``step``), and ``training_steps`` counts generator steps, as the original's loop did.
    - ``g_loss="minimax"`` crashed and ``"max_like"`` always raised (see the loss module); both work.

Parameters
----------
training_steps : generator steps (each after ``d_step_ratio`` D steps). Original 200,001.
steps_per_report : steps between two reports (one template "epoch"). Original test interval 1,000.
g_arch : 1, 2 or 3 (the paper's settings 9-11 use 3, setting 12 uses 2).
d_arch : 1 (the only discriminator the original implements).
d_step_ratio : D updates per G update (settings 9/10/11: 1/3/6).
minibatch : rows per D/G minibatch (12); > 1 switches minibatch discrimination on.
g_loss, d_loss : loss options above (settings 9-12: "cross_entropy" for both).
learning_rate : Adam step size of both networks (1e-3).
noise_dim : k, the generator's noise dimension; None = the number of input features (1 in the original).
score_batch_size : rows per scoring minibatch; None = ``minibatch``.

Attributes
----------
networks_ : {"g": Generator, "d": Discriminator}. optimizers_ : {"d", "g"}.
d_steps_, g_steps_ : updates done so far (checkpointed). noise_dim_ : k used.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch

from adray.detectors.components.constraints import POSITIVE, POSITIVE_INT, Interval, Options
from adray.detectors.gandi.loss import D_LOSSES, G_LOSSES, discriminator_loss, generator_loss
from adray.detectors.gandi.network import GENERATOR_ARCHS, Discriminator, Generator
from adray.detectors.torch_template import TorchDetector

NOISE_LOW, NOISE_HIGH = -8.0, 8.0  # z ~ U(-8, 8) (the original's Distributions.UniformDistribution)
TF1_ADAM = {"betas": (0.9, 0.999), "eps": 1e-8}  # tf.train.AdamOptimizer defaults, as the original
SCORE_CHUNK_ROWS = 8192  # rows per forward pass when scoring (whole minibatches only)


class GANDI(TorchDetector):
    """GAN discriminator anomaly detector; score = 1 - D(x) (see the module docstring)."""

    summary: ClassVar[str] = ("GANDI (2017): GAN with minibatch discrimination; the discriminator is the detector, "
                              "AUC tracked over training")
    supervision: ClassVar[str] = "unsupervised"
    state_attrs: ClassVar[tuple[str, ...]] = ("d_steps_", "g_steps_")
    # the smallest GAN (g_arch 1) with a 10x step size: 3 reports of 100 steps, ~0.6 s of CPU on 64 rows
    smoke_params: ClassVar[dict] = {"training_steps": 300, "steps_per_report": 100, "g_arch": 1, "learning_rate": 1e-2}
    default_dataset: ClassVar[str] = "gaussian_shift"
    # the published settings 9-12: generator arch 3 or 2, D:G step ratio 1/3/6, minibatch 12; 5,000 steps
    # (the original ran 200,001) reported every 500 steps: AUC over training
    default_grid: ClassVar[dict[str, list]] = {"training_steps": [5000], "steps_per_report": [500], "g_arch": [3, 2],
                                               "d_step_ratio": [1, 3, 6]}
    param_constraints: ClassVar[dict[str, list]] = {
        "training_steps": [Interval(int, 0)], "steps_per_report": [POSITIVE_INT],
        "g_arch": [Options(*sorted(GENERATOR_ARCHS))],
        "d_arch": [Options(1)],  # the original implements no other discriminator
        "d_step_ratio": [POSITIVE_INT], "minibatch": [POSITIVE_INT], "g_loss": [Options(*G_LOSSES)],
        "d_loss": [Options(*D_LOSSES)], "learning_rate": [POSITIVE], "noise_dim": [None, POSITIVE_INT],
        "score_batch_size": [None, POSITIVE_INT],
    }

    def __init__(self, *, training_steps: int = 5000, steps_per_report: int = 1000, g_arch: int = 3, d_arch: int = 1,
                 d_step_ratio: int = 1, minibatch: int = 12, g_loss: str = "cross_entropy",
                 d_loss: str = "cross_entropy", learning_rate: float = 1e-3, noise_dim: int | None = None,
                 score_batch_size: int | None = None) -> None:
        self.training_steps = training_steps
        self.steps_per_report = steps_per_report
        self.g_arch = g_arch
        self.d_arch = d_arch
        self.d_step_ratio = d_step_ratio
        self.minibatch = minibatch
        self.g_loss = g_loss
        self.d_loss = d_loss
        self.learning_rate = learning_rate
        self.noise_dim = noise_dim
        self.score_batch_size = score_batch_size

    # ------------------------------------------------------------------ template hooks
    def build_networks(self, feature_shape, n_subclasses):
        n_features = int(np.prod(feature_shape))
        self.noise_dim_ = n_features if self.noise_dim is None else int(self.noise_dim)
        return {"g": Generator(self.noise_dim_, n_features, int(self.g_arch)),
                "d": Discriminator(n_features, minibatch_discrimination=int(self.minibatch) > 1)}

    def make_optimizers(self):
        return {name: torch.optim.Adam(self.networks_[name].parameters(), lr=self.learning_rate, foreach=True,
                                       **TF1_ADAM)
                for name in ("d", "g")}

    def stages(self):
        return [("train", math.ceil(int(self.training_steps) / int(self.steps_per_report)))]

    def on_stage_start(self, stage):
        self.d_steps_, self.g_steps_ = 0, 0

    def stage_data(self, stage, X, y, subclass):
        return (X.reshape(len(X), -1),)  # a view: X stays untouched

    def run_epoch(self, stage, data):
        """``steps_per_report`` training steps (fewer in the last block); returns the block's means."""
        (X,) = data
        gen, disc = self.networks_["g"], self.networks_["d"]
        steps = min(int(self.steps_per_report), int(self.training_steps) - self.g_steps_)
        ratio, batch = int(self.d_step_ratio), int(self.minibatch)
        rows = torch.randint(len(X), (steps, ratio, batch), generator=self.generator_).to(self.device_)
        sum_d = sum_g = torch.zeros((), device=self.device_)
        for step in range(steps):
            for k in range(ratio):
                x = X[rows[step, k]]
                if x.shape[1] == 1:
                    x = x.sort(dim=0).values
                with torch.no_grad():
                    fake = gen(self._noise(batch))
                real_logit, fake_logit = disc(torch.stack([x, fake]))  # two separate minibatches, one pass
                loss_d = discriminator_loss(real_logit, fake_logit, self.d_loss)
                self.optimize(loss_d, "d")
                self.d_steps_ += 1
                sum_d = sum_d + loss_d.detach()
            loss_g = generator_loss(disc(gen(self._noise(batch))), self.g_loss)
            self.optimize(loss_g, "g")
            self.g_steps_ += 1
            sum_g = sum_g + loss_g.detach()
        loss_d = float(sum_d) / (steps * ratio)
        return {"loss": loss_d, "loss_d": loss_d, "loss_g": float(sum_g) / steps,
                "step": float(self.g_steps_), "d_steps": float(self.d_steps_)}

    def scoring_data(self, X):
        """X's rows cut, in order, into scoring minibatches of ``score_batch_size`` rows, stacked (m, size, d).

        The last minibatch is filled up with rows from the start of X (their scores are dropped);
        up to ``SCORE_CHUNK_ROWS`` rows go through D at once.
        """
        n = len(X)
        flat = np.asarray(X).reshape(n, -1)
        size = int(self.score_batch_size or self.minibatch) if int(self.minibatch) > 1 else 1
        order = np.arange(math.ceil(n / size) * size) % n  # the last minibatch is filled from X's start
        per_chunk = max(1, SCORE_CHUNK_ROWS // size) * size
        for start in range(0, len(order), per_chunk):
            chunk = torch.from_numpy(flat[order[start: start + per_chunk]])  # fancy indexing: a copy
            yield chunk.to(self.device_).reshape(-1, size, flat.shape[1])

    def score_batch(self, batch):
        """(m, b, d) stacked minibatches (or (b, d)) -> (m, b) anomaly scores 1 - D(x), float64."""
        return torch.sigmoid(-self.networks_["d"](batch).double())

    # ------------------------------------------------------------------ helpers
    def _noise(self, batch: int) -> torch.Tensor:
        """z ~ U(-8, 8)^k from the global CPU torch RNG (so CPU and GPU fits draw the same numbers)."""
        z = torch.rand(batch, self.noise_dim_) * (NOISE_HIGH - NOISE_LOW) + NOISE_LOW
        if self.noise_dim_ == 1:
            z = z.sort(dim=0).values
        return z.to(self.device_)

