"""R2-AD2, Raw gRADient Anomaly Detection (ECML-PKDD 2022; class ``GAA`` of Fraunhofer-AISEC/R2-AD2).

Pipeline (``adray/detectors/r2ad2/README.md`` gives each default's source), in three template stages:

1. ``"target"`` (``target_epochs`` = 10, the published ``gaa_ae_n_epochs``): the target AE trains with BCE on a
   random 75 % of the normal training rows (``p_holdout`` = 0.25 held out).
2. ``"snapshots"`` ((``n_targets`` − 1) · ``n_target_epochs`` epochs): snapshot T_1 is the AE
   at the end of stage 1; the live AE keeps training on the same rows and optimiser, and a copy is
   taken every ``n_target_epochs`` = 5 epochs (T_2, T_3, ... at epochs 15, 20, ...).
3. ``"alarm"`` (``epochs`` = 100, lr 1e-3): for every sample, the per-sample gradient of its
   reconstruction BCE over all weights of each snapshot forms a (K, P) sequence; a BatchNorm shared
   across the K steps normalises it and the alarm (LSTMs for K > 1, dense for K = 1) learns y
   (1 = known anomaly) plus noise counter-examples N(0.5, ``trivial_stddev``) labelled 1. Each batch
   is a two-phase step: (a) the alarm learns with the BatchNorm in inference mode, (b) the
   BatchNorm's γ/β learn (and its moving statistics update) with the alarm in inference mode; each
   phase has its own Keras-Adam.

Score: A(BN(G(x))), the alarm's anomaly probability (higher = more anomalous).

Memory: a precomputed training set holds n · K · P float32 (4·K·P bytes per row: MNIST conv target,
P = 9657, K = 3 -> 116 KB per row). ``precompute_gradients=False`` extracts them live per batch
instead; ``gradient_batch_size`` bounds the extraction's working memory.

Deviations from the original (documented decisions):

- Fixed: the 75 % subset is drawn once per fit (from the seed) and the same rows
  feed the target stage and the snapshot epochs (the original redraws it at every ``to_data()``).
- Gradient feature order: PyTorch kernels are (out, in) where Keras' are (in, out), so the P
  features come in another (fixed) permutation; BatchNorm and the alarm's first layer are
  per-feature, so the model family is the same.
- Keras' ``TimeDistributed(BatchNormalization)`` and a plain BatchNormalization on (b, K, P) compute
  the same statistics, so ``distributed_norm`` is not a knob here (always shared).
- Training gradients are precomputed once per fit (the original does it for MNIST/FMNIST only);
  counter-example gradients are always computed live, as in the original.
- Conv ``padding="same"`` transposed convs reproduce TF's alignment (see ``network.SameConvTranspose2d``).
"""

from __future__ import annotations

import copy
from typing import ClassVar

import numpy as np
import torch

from adray.detectors.components import keras_like
from adray.detectors.components.autoencoders import default_hidden_dims
from adray.detectors.components.constraints import (
    DROPOUT,
    EPOCHS,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    Boolean,
    Interval,
    IntSequence,
    Options,
    Subset,
    TextSequence,
)
from adray.detectors.r2ad2.gradients import (
    GRAD_LAYERS,
    GRAD_TYPES,
    n_gradient_features,
    per_sample_gradients,
    select_parameters,
)
from adray.detectors.r2ad2.network import (
    ALARM_BIG,
    ALARM_SMALL,
    DenseAlarm,
    GradientNorm,
    LSTMAlarm,
    is_conv_image,
    make_target,
)
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

CONV_CODE = 8  # the published DIM_TARGET of MNIST / FMNIST
ALARM_DIMS = {"big": ALARM_BIG, "small": ALARM_SMALL}


class R2AD2(TorchDetector):
    """R2-AD2 / GAA-K (see the module docstring; every default is the published one).

    Parameters
    ----------
    target_dims : None = the rule below; an int = conv target with that code (28x28 or 32x32 images);
        a tuple = dense target widths down to the code (R2-AD2's tabular DIM_TARGET, e.g. (40, 20, 10)).
        Rule for None: images of 28 or 32 px -> conv with code 8; anything else -> dense
        ``adray.detectors.components.autoencoders.default_hidden_dims(D)``.
    dropout : p_dropout 0.4 of the target and the alarm (published code).
    target_epochs : GAA-AE epochs before T_1 (10).
    n_targets : K snapshots, 1..4 (GAA-3 is the main method: 3).
    n_target_epochs : epochs between snapshots (5).
    p_holdout : fraction of the normal rows the target never sees (0.25).
    alarm_dims : "big" (1000, 500, 200, 75), "small" (100, 50, 25, 10) or a tuple.
    lstm_middle, second_lstm : alarm variants (False, True).
    grad_types, grad_layers : which weights' gradients form the features (("kernel", "bias"), "all").
    normalise_normal : phase (b) uses the normal rows only (False).
    trivial_stddev : noise N(0.5, s) counter-examples; 0 = U(0, 1); None = none (1.0).
    epochs, batch_size, learning_rate : alarm epochs (100), batch size (per data set in the seeds;
        also the target's) and Adam lr of target, alarm and BatchNorm (1e-3).
    gradient_batch_size : samples per vectorised gradient extraction (memory bound, not a model knob).
    precompute_gradients : compute the training rows' gradients once per alarm stage (True).
    norm_momentum : PyTorch momentum of the gradient BatchNorm's moving statistics (0.01 = Keras'
        0.99). They start at mean 0 / variance 1 while gradients are ~1e-4, so short fits
        (tests, smoke runs) need a larger value; sweeps keep the default.
    """

    summary: ClassVar[str] = ("R2-AD2 (ECML-PKDD 2022): per-sample gradients of AE snapshots (torch.func), shared "
                              "BN, LSTM alarm")
    supervision: ClassVar[str] = "semi"
    smoke_params: ClassVar[dict] = {"target_epochs": 2, "n_targets": 2, "n_target_epochs": 1, "epochs": 6,
                                    "alarm_dims": (16, 8, 8), "batch_size": 32, "dropout": 0.1,
                                    "norm_momentum": 0.3}
    default_dataset: ClassVar[str] = "digits:r2ad2"
    # the published protocol: K = 1 and 3 gradient snapshots; the small alarm and BN momentum 0.1 size it
    # for a CPU (the seeds: K in 1..4, alarm "big", 100 epochs, norm_momentum 0.01, a GPU budget)
    default_grid: ClassVar[dict[str, list]] = {"n_targets": [1, 3], "alarm_dims": ["small"], "epochs": [20],
                                               "batch_size": [32], "norm_momentum": [0.1]}
    param_constraints: ClassVar[dict[str, list]] = {
        "target_dims": [None, POSITIVE_INT, IntSequence()], "dropout": [DROPOUT], "target_epochs": [EPOCHS],
        "n_targets": [POSITIVE_INT], "n_target_epochs": [EPOCHS], "p_holdout": [Interval(float, 0, 1, closed="left")],
        "alarm_dims": [Options(*ALARM_DIMS), IntSequence()], "lstm_middle": [Boolean()], "second_lstm": [Boolean()],
        "grad_types": [Options(*GRAD_TYPES), Subset(*GRAD_TYPES)],
        "grad_layers": [Options(*GRAD_LAYERS), TextSequence()],
        "normalise_normal": [Boolean()], "trivial_stddev": [None, NON_NEGATIVE],  # 0 = uniform noise
        "epochs": [EPOCHS], "batch_size": [POSITIVE_INT], "learning_rate": [POSITIVE],
        "gradient_batch_size": [POSITIVE_INT], "precompute_gradients": [Boolean()],
        "norm_momentum": [Interval(float, 0, 1)],
    }

    def __init__(self, *, target_dims: int | tuple[int, ...] | None = None, dropout: float = 0.4,
                 target_epochs: int = 10, n_targets: int = 3, n_target_epochs: int = 5, p_holdout: float = 0.25,
                 alarm_dims: str | tuple[int, ...] = "big", lstm_middle: bool = False, second_lstm: bool = True,
                 grad_types: tuple[str, ...] = GRAD_TYPES, grad_layers: str | tuple[str, ...] = "all",
                 normalise_normal: bool = False, trivial_stddev: float | None = 1.0, epochs: int = 100,
                 batch_size: int = 256, learning_rate: float = 1e-3, gradient_batch_size: int = 256,
                 precompute_gradients: bool = True, norm_momentum: float = 0.01) -> None:
        self.target_dims = target_dims
        self.dropout = dropout
        self.target_epochs = target_epochs
        self.n_targets = n_targets
        self.n_target_epochs = n_target_epochs
        self.p_holdout = p_holdout
        self.alarm_dims = alarm_dims
        self.lstm_middle = lstm_middle
        self.second_lstm = second_lstm
        self.grad_types = grad_types
        self.grad_layers = grad_layers
        self.normalise_normal = normalise_normal
        self.trivial_stddev = trivial_stddev
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.gradient_batch_size = gradient_batch_size
        self.precompute_gradients = precompute_gradients
        self.norm_momentum = norm_momentum

    # ------------------------------------------------------------------ networks
    def _target_dims(self, feature_shape):
        dims = self.target_dims
        if dims is None:
            return CONV_CODE if is_conv_image(feature_shape) else default_hidden_dims(int(np.prod(feature_shape)))
        if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
            if dims <= 0 or not is_conv_image(feature_shape):
                raise AdrayError(f"target_dims={dims!r} asks for the conv target, which needs a positive code and "
                                 f"28x28 or 32x32 images (optionally with channels last); got {feature_shape}")
            return int(dims)
        return tuple(int(d) for d in dims)

    def _alarm_dims(self) -> tuple[int, ...]:
        dims = ALARM_DIMS[self.alarm_dims] if isinstance(self.alarm_dims, str) else tuple(self.alarm_dims)
        needed = 1 + int(bool(self.lstm_middle)) + int(bool(self.second_lstm)) if self.n_targets > 1 else 1
        if len(dims) < needed:
            raise AdrayError(f"alarm_dims {dims} is too short: this alarm variant needs at least {needed} widths")
        return tuple(int(d) for d in dims)

    def build_networks(self, feature_shape, n_subclasses):
        self.target_dims_ = self._target_dims(feature_shape)
        target = make_target(feature_shape, self.target_dims_, float(self.dropout))
        types = (self.grad_types,) if isinstance(self.grad_types, str) else tuple(self.grad_types)
        self.gradient_names_ = select_parameters(target, types, self.grad_layers)
        if not self.gradient_names_:
            raise AdrayError(f"grad_layers={self.grad_layers!r} with grad_types={types} selects no weights")
        self.n_gradients_ = n_gradient_features(target, self.gradient_names_)
        dims = self._alarm_dims()
        if self.n_targets > 1:
            alarm = LSTMAlarm(self.n_gradients_, dims, float(self.dropout), lstm_middle=bool(self.lstm_middle),
                              second_lstm=bool(self.second_lstm))
        else:
            alarm = DenseAlarm(self.n_gradients_, dims, float(self.dropout))
        networks = {"target": target}
        for k in range(1, int(self.n_targets) + 1):
            networks[f"snapshot{k}"] = copy.deepcopy(target)
        networks.update(norm=GradientNorm(self.n_gradients_, float(self.norm_momentum)), alarm=alarm)
        return networks

    def make_optimizers(self):
        lr = self.learning_rate
        return {name: keras_like.adam(self.networks_[name].parameters(), lr) for name in ("target", "alarm", "norm")}

    def _snapshots(self) -> list[torch.nn.Module]:
        return [self.networks_[f"snapshot{k}"] for k in range(1, int(self.n_targets) + 1)]

    # ------------------------------------------------------------------ stages
    def stages(self):
        return [("target", int(self.target_epochs)),
                ("snapshots", (int(self.n_targets) - 1) * int(self.n_target_epochs)),
                ("alarm", int(self.epochs))]

    def train_networks(self, stage):
        return ("alarm",) if stage == "alarm" else ("target",)

    def on_stage_start(self, stage):
        if stage == "snapshots":  # T_1 = the target after its first epochs; later ones overwrite their copy
            for snapshot in self._snapshots():
                snapshot.load_state_dict(self.networks_["target"].state_dict())

    def _holdout_rows(self, y: np.ndarray) -> np.ndarray:
        """The target's training rows: a fixed random (1 − p_holdout) share of the normal rows.

        Drawn from its own seed-derived generator, so both target stages (and a resumed fit) see
        the very same rows (the original redrew them).
        """
        normal = np.flatnonzero(y == 0)
        if len(normal) == 0:
            raise AdrayError("R2-AD2 trains its target on normal rows (y == 0), but every training row is an anomaly")
        n_keep = max(1, int(round(len(normal) * (1.0 - float(self.p_holdout)))))
        rng = np.random.default_rng([self.seed_, 2022])
        return np.sort(rng.choice(normal, size=n_keep, replace=False))

    def stage_data(self, stage, X, y, subclass):
        if stage != "alarm":
            keras_like.require_unit_range(X, "R2-AD2's target trains")
            self.holdout_rows_ = self._holdout_rows(y)
            return (X[self.holdout_rows_],)
        labels = y.astype(np.float32)
        if not self.precompute_gradients:
            return (X, labels)
        features = self.gradients(self.as_tensor(X))
        return (features.cpu().numpy(), labels)

    def run_epoch(self, stage, data):
        metrics = super().run_epoch(stage, data)
        epoch = self.epoch_ + 1  # the template counts the epoch once this returns
        if stage == "snapshots" and epoch % int(self.n_target_epochs) == 0:
            k = epoch // int(self.n_target_epochs) + 1
            self.networks_[f"snapshot{k}"].load_state_dict(self.networks_["target"].state_dict())
        return metrics

    # ------------------------------------------------------------------ gradients, training, score
    def gradients(self, x: torch.Tensor) -> torch.Tensor:
        """(n, K, P) per-sample gradient features of ``x`` (on ``device_``) over the K snapshots."""
        return torch.stack([per_sample_gradients(snapshot, x, self.gradient_names_, self.gradient_batch_size)
                            for snapshot in self._snapshots()], dim=1)

    def _noise(self, n: int) -> torch.Tensor | None:
        shape = (n, *self.feature_shape_)
        if self.trivial_stddev is None:
            return None
        if self.trivial_stddev > 0:
            return torch.randn(shape, device=self.device_) * float(self.trivial_stddev) + 0.5
        return torch.rand(shape, device=self.device_)

    def train_step(self, stage, batch):
        if stage != "alarm":
            (x,) = batch
            loss = keras_like.bce(self.networks_["target"](x), x.flatten(1))
            self.optimize(loss, "target")
            return {"loss": loss}
        inputs, y = batch
        features = inputs if self.precompute_gradients else self.gradients(inputs)
        alarm, norm = self.networks_["alarm"], self.networks_["norm"]
        noise = self._noise(len(y))

        # (a) alarm update: BatchNorm in inference mode, alarm in training mode (published step 2)
        norm.eval()
        alarm.train()
        loss_train = keras_like.bce(alarm(norm(features)), y)
        loss = loss_train
        metrics = {"loss_train": loss_train}
        if noise is not None:
            noise_features = self.gradients(noise)
            loss_noise = keras_like.bce(alarm(norm(noise_features)), torch.ones_like(y))
            loss = loss + loss_noise
            metrics["loss_noise"] = loss_noise
        self.optimize(loss, "alarm")

        # (b) BatchNorm update: batch statistics, alarm in inference mode (published step 3)
        rows = y == 0 if self.normalise_normal else torch.ones_like(y, dtype=torch.bool)
        if int(rows.sum()) * features.shape[1] > 1:  # BatchNorm needs two values per feature
            norm.train()
            alarm.eval()
            loss_norm = keras_like.bce(alarm(norm(features[rows])), y[rows])
            self.optimize(loss_norm, "norm")
            metrics["loss_norm"] = loss_norm.detach()
        norm.eval()
        alarm.train()
        return {"loss": loss, **metrics}

    def score_batch(self, batch_X):
        return self.networks_["alarm"](self.networks_["norm"](self.gradients(batch_X)))
