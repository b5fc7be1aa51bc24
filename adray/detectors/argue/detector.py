"""ARGUE – Anomaly detection by Recombining Gated Unsupervised Experts (IJCNN 2022), name ``"argue"``.

Numbers and their sources: ``adray/detectors/argue/README.md``. Stages, each reported per epoch:

1. ``"clusters"`` (only ``partitions="clusters"``, A4RGUE): an adversarial clustering AAE
   (code dim 2, K-way cluster head, two WGAN critics, gradients clipped to global norm 0.01, Adam
   at min(learning_rate, 1e-5)) learns partitions of the normal rows without labels;
2. ``"experts"``: the multi-decoder AE (shared encoder, one decoder per partition) reconstructs each
   partition's rows, the partitions equalised by oversampling (BCE, Adam(lr));
3. ``"alarm"``: with the experts frozen, each batch makes an alarm update, then a gate update
   at gate_factor·lr, on the batch plus as many N(0.5, 1) counter-examples.

Score = Σ_i g_i(x)·a_i(x) with a_{n+1} ≡ 1 (the anomaly expert).

Decisions, fixes and deviations:

- **Gate labels fixed**: the shipped ``DataLabels.to_data()`` never fills the gate
  targets, so ARGUE with given splits cannot run as published. Here they follow
  ``get_attention_labels``: one-hot of the row's normal sub-class (``subclass``; polluted rows keep
  their random normal class), known anomalies (y == 1) the anomaly column.
- Works with ``n_train_anomalies = 0`` (unsupervised with pollution, ARGUE's default protocol).
- Experts: the rows labelled normal (y == 0). ``partitions="given"`` uses ``subclass`` (None: one
  expert); ``"clusters"`` uses the argmax of the trained AAE's cluster head (``r_norm=None``: every
  row counts as normal). In clusters mode the original also clusters and gate-labels known anomalies
  (the AAE and MAE-0 see all training rows); here known anomalies are kept out of the experts and
  get the anomaly column, as with given splits. A cluster without rows keeps an untrained decoder
  and never appears as a gate target (the original skips MAE-0 when clusters are missing).
- Architecture: the dense MAE on flattened input, the conv MAE for 28x28 and 32x32 images
  (``architecture="auto"``); other image sizes (e.g. the 8x8 ``digits``) use the dense MAE. The AAE
  is conv for 28x28 images in auto mode, else dense on the flattened input.
- ``hidden_dims=None``: :func:`adray.detectors.argue.network.default_hidden_dims`, shaped like the
  published DIM_TARGETs (widen to 1.25·D, six layers shrinking geometrically to a tenth); the sweep
  sets the published per-dataset DIM_TARGET. (The AE baseline's narrowing rule gave digits AUC 0.56
  vs 0.92 in one run.) The AAE uses ``hidden_dims`` with the code overridden to 2.
- Keras TF2 convolutions with stride 2 and "same" padding pad asymmetrically; PyTorch pads 1 on
  both sides: same shapes, a one-pixel shift of the AAE's conv windows.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from adray.detectors.argue.loss import (
    alarm_loss,
    combine,
    critic_loss,
    equalised_experts,
    expert_loss,
    gate_labels,
    gate_loss,
)
from adray.detectors.argue.network import (
    AAE_CONV_SIZE,
    CONV_SIZES,
    ClusteringAAE,
    MultiAutoencoder,
    conv_decoder,
    conv_encoder,
    critic,
    default_hidden_dims,
    dense_decoder,
    dense_encoder,
)
from adray.detectors.components import keras_like, taps
from adray.detectors.components.constraints import (
    DROPOUT,
    EPOCHS,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    Boolean,
    IntSequence,
    Options,
)
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

PARTITIONS = ("auto", "given", "clusters")
ARCHITECTURES = ("auto", "dense", "conv")
AAE_MAX_LR = 1e-5  # published code: "the loss diverged for high learning rates"
AAE_CODE_DIM = 2  # published code_dim_override
CLIP_NORM = 0.01  # published: critic and encoder gradients, global norm


class ARGUE(TorchDetector):
    """ARGUE / A4RGUE (see the module docstring).

    Parameters
    ----------
    hidden_dims : DIM_TARGET, encoder widths down to the code (published per data set, e.g. KDD
        (150, 100, 70, 40, 25, 10)); None = :func:`~adray.detectors.argue.network.default_hidden_dims`.
    architecture : "auto" (conv for 28/32 px images, else dense), "dense" or "conv".
    dropout : p_dropout 0.1 of the experts, alarm and gate (published code).
    alarm_dims : DIM_ALARM, ALARM_BIG (1000, 500, 200, 75) for the alarm and the gate (published code).
    gate_factor : the gate's learning rate is gate_factor·learning_rate, 0.5 (published code).
    learning_rate : 1e-4 for every stage (published code; the AAE caps it at 1e-5).
    expert_epochs, alarm_epochs, cluster_epochs : n_epochs 500 for every model (published code).
    batch_size : per data set (MNIST 256, KDD 512, ... in the published code).
    partitions : "given" (ARGUE: the ``subclass`` array), "clusters" (A4RGUE) or "auto": the
        given sub-classes when the normal data has at least two, else learned clusters (one given
        class would make one expert, and ARGUE's gate would have nothing to choose between).
    n_clusters : A4RGUE_CLUSTERS K (5 for most data sets in the published code).
    full_act : alarm input concat(encoder taps, decoder taps) (True) or decoder taps only.

    Attributes
    ----------
    hidden_dims_ (None for conv), architecture_, partitions_ ("given" or "clusters"), n_experts_,
    n_enc_taps_, n_dec_taps_.
    networks_ : "mae", "alarm", "gate" (+ "aae", "critic_code", "critic_cluster" for clusters).
    """

    summary: ClassVar[str] = ("ARGUE (IJCNN 2022): shared encoder + one decoder per normal sub-class, alarm + "
                              "gating networks; partitions=\"clusters\" is A4RGUE (adversarial clustering AE)")
    supervision: ClassVar[str] = "semi"
    smoke_params: ClassVar[dict] = {
        "expert_epochs": 5, "alarm_epochs": 10, "cluster_epochs": 2, "alarm_dims": (32, 16),
        "batch_size": 64, "learning_rate": 3e-3, "n_clusters": 2,
    }
    default_dataset: ClassVar[str] = "digits"
    # ARGUE ("auto": the given normal sub-classes, or learned partitions when the data has only one) and
    # A4RGUE's learned partitions; the seeds ran 500 epochs at lr 1e-4 (a GPU budget): 30 per stage at 1e-3
    # keeps the default sweep to minutes on a CPU
    default_grid: ClassVar[dict[str, list]] = {"expert_epochs": [30], "alarm_epochs": [30], "cluster_epochs": [30],
                                               "learning_rate": [1e-3], "batch_size": [64],
                                               "partitions": ["auto", "clusters"], "n_clusters": [5]}
    param_constraints: ClassVar[dict[str, list]] = {
        "hidden_dims": [None, IntSequence()], "architecture": [Options(*ARCHITECTURES)], "dropout": [DROPOUT],
        "alarm_dims": [IntSequence()], "gate_factor": [NON_NEGATIVE], "learning_rate": [POSITIVE],
        "expert_epochs": [EPOCHS], "alarm_epochs": [EPOCHS], "cluster_epochs": [EPOCHS],
        "batch_size": [POSITIVE_INT], "partitions": [Options(*PARTITIONS)], "n_clusters": [POSITIVE_INT],
        "full_act": [Boolean()],
    }

    def __init__(
        self, *,
        hidden_dims: tuple[int, ...] | None = None,
        architecture: str = "auto",
        dropout: float = 0.1,
        alarm_dims: tuple[int, ...] = taps.ALARM_BIG,
        gate_factor: float = 0.5,
        learning_rate: float = 1e-4,
        expert_epochs: int = 500,
        alarm_epochs: int = 500,
        cluster_epochs: int = 500,
        batch_size: int = 256,
        partitions: str = "auto",
        n_clusters: int = 5,
        full_act: bool = True,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.architecture = architecture
        self.dropout = dropout
        self.alarm_dims = alarm_dims
        self.gate_factor = gate_factor
        self.learning_rate = learning_rate
        self.expert_epochs = expert_epochs
        self.alarm_epochs = alarm_epochs
        self.cluster_epochs = cluster_epochs
        self.batch_size = batch_size
        self.partitions = partitions
        self.n_clusters = n_clusters
        self.full_act = full_act

    # ------------------------------------------------------------------ model
    def build_networks(self, feature_shape, n_subclasses):
        n_inputs = int(np.prod(feature_shape))
        layout = taps.image_layout(feature_shape)
        conv_ok = layout is not None and layout[1] == layout[2] and layout[1] in CONV_SIZES
        if self.architecture == "conv" and not conv_ok:
            raise AdrayError(f"ARGUE's conv MAE needs 28x28 or 32x32 images, got {tuple(feature_shape)}; "
                             "use architecture='dense'")
        self.architecture_ = "conv" if self.architecture == "conv" or (self.architecture == "auto" and conv_ok) \
            else "dense"
        self.partitions_ = self.partitions
        if self.partitions == "auto":
            self.partitions_ = "given" if n_subclasses >= 2 else "clusters"
        if self.partitions_ == "clusters":
            self.n_experts_ = int(self.n_clusters)
        else:
            self.n_experts_ = int(n_subclasses)
        dims = default_hidden_dims(n_inputs) if self.hidden_dims is None else tuple(self.hidden_dims)
        dims = tuple(int(d) for d in dims)
        p = float(self.dropout)
        if self.architecture_ == "conv":
            self._layout = layout
            self.hidden_dims_ = None
            encoder = conv_encoder(layout[0], p)
            decoders = [conv_decoder(layout[0], layout[1], p) for _ in range(self.n_experts_)]
            mae_input = (layout[0], layout[1], layout[2])
        else:
            self._layout = None
            self.hidden_dims_ = dims
            encoder = dense_encoder(n_inputs, dims, p)
            decoders = [dense_decoder(n_inputs, dims, p) for _ in range(self.n_experts_)]
            mae_input = (n_inputs,)
        mae = MultiAutoencoder(encoder, decoders)
        self.n_enc_taps_ = taps.tap_size(encoder, mae_input)
        with torch.no_grad():
            code = encoder.eval()(torch.zeros((1, *mae_input)))
        self.n_dec_taps_ = taps.tap_size(decoders[0], tuple(code.shape[1:]))
        n_alarm_in = self.n_enc_taps_ + self.n_dec_taps_ if self.full_act else self.n_dec_taps_
        alarm_dims = tuple(self.alarm_dims)
        networks = {
            "mae": mae,
            "alarm": taps.alarm_network(n_alarm_in, alarm_dims, dropout=p, dropout_each=True),
            "gate": taps.alarm_network(self.n_enc_taps_, alarm_dims, dropout=p, dropout_each=True,
                                       n_outputs=self.n_experts_ + 1, output="softmax"),
        }
        if self.partitions_ == "clusters":
            aae_conv = self.architecture != "dense" and layout is not None \
                and layout[1:] == (AAE_CONV_SIZE, AAE_CONV_SIZE)
            self._aae_layout = layout if aae_conv else None
            networks["aae"] = ClusteringAAE(n_inputs, (*dims[:-1], AAE_CODE_DIM), self.n_experts_,
                                            AAE_CODE_DIM, conv_channels=layout[0] if aae_conv else None)
            networks["critic_code"] = critic(AAE_CODE_DIM)
            networks["critic_cluster"] = critic(self.n_experts_)
        return networks

    def fit_info(self) -> dict:
        return {"partitions": self.partitions_, "experts": self.n_experts_, "architecture": self.architecture_}

    def make_optimizers(self):
        lr = float(self.learning_rate)
        mae = self.networks_["mae"]
        opts = {
            "experts": keras_like.adam(mae.parameters(), lr),
            "alarm": keras_like.adam(self.networks_["alarm"].parameters(), lr),
            "gate": keras_like.adam(self.networks_["gate"].parameters(), float(self.gate_factor) * lr),
        }
        if "aae" in self.networks_:
            aae_lr = min(lr, AAE_MAX_LR)
            aae = self.networks_["aae"]
            opts["recon"] = keras_like.adam(aae.parameters(), aae_lr)
            opts["critic_code"] = keras_like.adam(self.networks_["critic_code"].parameters(), aae_lr)
            opts["critic_cluster"] = keras_like.adam(self.networks_["critic_cluster"].parameters(), aae_lr)
            opts["aae_encoder"] = keras_like.adam(aae.encoder_parameters(), aae_lr)
        return opts

    def stages(self):
        partitions = getattr(self, "partitions_", self.partitions)  # resolved once fit has seen the data
        stages = [("clusters", int(self.cluster_epochs))] if partitions == "clusters" else []
        return [*stages, ("experts", int(self.expert_epochs)), ("alarm", int(self.alarm_epochs))]

    def train_networks(self, stage):
        return {"clusters": ("aae", "critic_code", "critic_cluster"), "experts": ("mae",),
                "alarm": ("alarm", "gate")}[stage]

    def on_stage_start(self, stage):
        if stage == "experts" and "aae" in self.networks_:
            for name in ("aae", "critic_code", "critic_cluster"):
                self.networks_[name].requires_grad_(False)
        if stage == "alarm":
            self.networks_["mae"].requires_grad_(False)  # the MAE is frozen

    # ------------------------------------------------------------------ data
    def _mae_input(self, x: torch.Tensor) -> torch.Tensor:
        return taps.to_channels_first(x, self._layout) if self._layout is not None else x.flatten(1)

    def _aae_input(self, x: torch.Tensor) -> torch.Tensor:
        return taps.to_channels_first(x, self._aae_layout) if self._aae_layout is not None else x.flatten(1)

    def _partition(self, X: np.ndarray, subclass, normal: np.ndarray) -> np.ndarray:
        """Expert id per row (−1 outside the normal rows): the given sub-class or the AAE's cluster."""
        part = np.full(len(X), -1, dtype=np.int64)
        if self.partitions_ == "given":
            part[normal] = 0 if subclass is None else subclass[normal]
            if (part[normal] < 0).any():
                raise AdrayError("ARGUE needs a normal sub-class (subclass >= 0) for every row with y == 0")
            return part
        aae = self.networks_["aae"]
        rows = np.flatnonzero(normal)
        clusters = self.infer(lambda batch: aae.encode(self._aae_input(batch))[1].flatten(1).argmax(1).cpu(),
                              self.batches(X[rows]))
        part[rows] = torch.cat(clusters).numpy()
        return part

    def stage_data(self, stage, X, y, subclass):
        y = np.zeros(len(X), dtype=np.int64) if y is None else y
        normal = y == 0
        if not normal.any():
            raise AdrayError("ARGUE trains its experts on normal rows (y == 0), but every training row is labelled 1")
        if stage in ("clusters", "experts"):
            keras_like.require_unit_range(X[normal], "ARGUE's autoencoders train")
        if stage == "clusters":
            return (X[normal],)
        partition = self._partition(X, subclass, normal)
        if stage == "experts":
            self._stage_X = self.as_tensor(X)
            self.expert_rows_ = np.bincount(partition[normal], minlength=self.n_experts_)
            return (equalised_experts(partition, self.n_experts_, self.stage_rng_),)
        self.__dict__.pop("_stage_X", None)  # the experts' rows are no longer needed
        self.gate_labels_ = gate_labels(y, partition, self.n_experts_)
        return X, y.astype(np.float32), self.gate_labels_

    # ------------------------------------------------------------------ forward
    def _activations(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(encoder taps (b, e), alarm inputs (n_experts, b, d)) of the frozen MAE."""
        enc, dec = self.networks_["mae"].activations(self._mae_input(x))
        inputs = torch.cat([enc.expand(len(dec), -1, -1), dec], dim=2) if self.full_act else dec
        return enc, inputs

    def _alarm(self, inputs: torch.Tensor) -> torch.Tensor:
        """a_1..a_n (b, n) from alarm inputs (n, b, d): one shared alarm network for every expert."""
        n, b = inputs.shape[:2]
        return self.networks_["alarm"](inputs.reshape(n * b, -1)).reshape(n, b).transpose(0, 1)

    def gates(self, X) -> np.ndarray:
        """Gate outputs g(x) (n, n_experts_ + 1); the last column is the anomaly expert."""
        self._check_fitted()
        X = self._check_X(X, "X", feature_shape=self.feature_shape_)

        def gate(x: torch.Tensor) -> torch.Tensor:
            _, enc = self.networks_["mae"].encode(self._mae_input(x))
            return self.networks_["gate"](enc).cpu()

        return torch.cat(self.infer(gate, self.batches(X))).numpy()

    def score_batch(self, batch_X):
        enc, inputs = self._activations(batch_X)
        return combine(self.networks_["gate"](enc), self._alarm(inputs))

    # ------------------------------------------------------------------ training
    def train_step(self, stage, batch):
        if stage == "clusters":
            return self._aae_step(batch[0])
        if stage == "experts":
            return self._experts_step(batch[0])
        x, y, labels = batch
        b = len(x)
        with torch.no_grad():  # the frozen MAE in eval mode: one pass serves both updates
            enc, inputs = self._activations(torch.cat([x, taps.counter_examples(x, "normal")]))
        gate = self.networks_["gate"]
        # 1) alarm update: the gate (train mode, as in the original) enters the score, is not updated
        with torch.no_grad():
            g = gate(enc)
        score = combine(g, self._alarm(inputs))
        loss_alarm = alarm_loss(score[:b], y, score[b:])
        self.optimize(loss_alarm, "alarm")
        # 2) gate update at gate_factor·lr; noise targets the anomaly expert
        g = gate(enc)
        loss_gate = gate_loss(g[:b], labels, g[b:])
        self.optimize(loss_gate, "gate")
        return {"loss": loss_alarm + loss_gate, "alarm_loss": loss_alarm, "gate_loss": loss_gate}

    def _experts_step(self, index: torch.Tensor):
        mae = self.networks_["mae"]
        active = [i for i in range(self.n_experts_) if self.expert_rows_[i] > 0]
        xs = [self._mae_input(self._stage_X[index[:, i]]) for i in active]
        codes, _ = mae.encode(torch.cat(xs))
        codes = codes.split([len(x) for x in xs])
        recons = [mae.decode(code, i)[0] for code, i in zip(codes, active, strict=True)]
        loss = expert_loss(recons, xs)
        self.optimize(loss, "experts")
        return {"loss": loss}

    def _clipped_step(self, loss: torch.Tensor, optimizer: str) -> None:
        opt = self.optimizers_[optimizer]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for group in opt.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)  # tf.clip_by_global_norm
        opt.step()

    def _aae_step(self, x: torch.Tensor):
        aae, c_code, c_cluster = (self.networks_[k] for k in ("aae", "critic_code", "critic_cluster"))
        x = self._aae_input(x)
        # 1) reconstruction (encoder + decoder)
        recon_loss = keras_like.bce(aae(x).flatten(1), x.flatten(1))
        self.optimize(recon_loss, "recon")
        # 2) critics: real = N(0, I) codes and random one-hot clusters; encoder in inference mode
        aae.eval()
        with torch.no_grad():
            code, cluster = (t.flatten(1) for t in aae.encode(x))
        aae.train()
        real_cluster = torch.nn.functional.one_hot(
            torch.randint(0, cluster.shape[1], (len(x),), device=x.device), cluster.shape[1]).float()
        code_loss = critic_loss(c_code(torch.randn_like(code)), c_code(code))
        cluster_loss = critic_loss(c_cluster(real_cluster), c_cluster(cluster))
        self._clipped_step(code_loss, "critic_code")
        self._clipped_step(cluster_loss, "critic_cluster")
        # 3) encoder: fool both critics
        code, cluster = (t.flatten(1) for t in aae.encode(x))
        enc_loss = -c_code(code).mean() - c_cluster(cluster).mean()
        self._clipped_step(enc_loss, "aae_encoder")
        return {"loss": recon_loss, "critic_code_loss": code_loss.detach(),
                "critic_cluster_loss": cluster_loss.detach(), "encoder_loss": enc_loss.detach()}
