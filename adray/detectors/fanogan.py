"""f-AnoGAN (Schlegl et al., 2019) as ARGUE re-implemented it; registry name ``"fanogan"``.

ARGUE ``baselines/anogan/AnoGAN.py`` derives the networks from its trained AAE; here
they are fresh networks with the AAE's dense layout (:func:`~adray.detectors.components.baseline_networks.aae_encoder`
/ ``aae_decoder``: ``[Dense -> BN -> LeakyReLU(0.01)]`` + linear code; ``[Dense -> ReLU]`` + sigmoid
output; widths ``hidden_dims``, the last being the AAE code), on the flattened input:

- generator G = ``Dense(latent_dim -> code)`` -> AAE decoder;
- discriminator D = AAE encoder (the feature trunk f) -> ``Dense(1) -> sigmoid``;
- encoder E = AAE encoder -> ``Dense(latent_dim)``; ``latent_dim`` = 8 (ARGUE ``gen_dim``).

Stage ``"gan"`` (``epochs``): z ~ N(0, I_8); L_G = mean D(G(z)) and L_D = mean D(x) - mean D(G(z)),
both minimised by separate Keras-Adam(learning_rate) optimisers from one forward pass (simultaneous
updates, as ARGUE's two gradient tapes; no clipping or gradient penalty, as in ARGUE).
Stage ``"encoder"`` (``epochs``, G and D frozen in inference mode): izi_f loss
MSE(x, G(E(x))) + kappa * MSE(f(x), f(G(E(x)))) with kappa = 1, Keras-Adam(learning_rate) on E.
Score: per-sample MSE_x + kappa * MSE_f (ARGUE ``anomaly_score``).

Defaults: ``learning_rate=1e-4`` and ``epochs=500`` are ARGUE's n_epochs/lr; ``batch_size=128``
is the default of ARGUE's ``fAnoGAN.fit``; ``hidden_dims=None`` uses the AE's width rule.
Difference: the seeds shuffle with a 10*batch buffer (here: a full reshuffle each epoch).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors.components import baseline_networks, keras_like
from adray.detectors.components.constraints import EPOCHS, NON_NEGATIVE, POSITIVE, POSITIVE_INT, IntSequence
from adray.detectors.torch_template import TorchDetector


class Discriminator(nn.Module):
    """AAE-encoder trunk f (features) and a sigmoid head."""

    def __init__(self, n_inputs: int, dims: tuple[int, ...]):
        super().__init__()
        self.trunk = baseline_networks.aae_encoder(n_inputs, dims)
        self.head = nn.Sequential(keras_like.dense(dims[-1], 1), nn.Sigmoid())

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


def izi_f_terms(x, x_rec, f_x, f_rec) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (MSE_x, MSE_f)."""
    return baseline_networks.per_sample_mse(x.flatten(1), x_rec), baseline_networks.per_sample_mse(f_x, f_rec)


class FAnoGAN(TorchDetector):
    """f-AnoGAN with izi_f encoder training (see the module docstring).

    Parameters
    ----------
    hidden_dims : AAE widths, the last being the AAE code (None: the AE width rule).
    latent_dim : size of the generator input z and the encoder output (ARGUE: 8).
    kappa : weight of the discriminator-feature residual in the encoder loss and the score (1).
    epochs : epochs of each stage ("gan", then "encoder"), batch_size, learning_rate : as ARGUE.
    """

    summary: ClassVar[str] = "f-AnoGAN: WGAN, then izi_f encoder"
    smoke_params: ClassVar[dict] = {"epochs": 3, "batch_size": 32, "learning_rate": 1e-3}
    default_dataset: ClassVar[str] = "breast_cancer:unsupervised"
    default_grid: ClassVar[dict[str, list]] = {"epochs": [100], "batch_size": [32], "learning_rate": [1e-4, 1e-3]}
    param_constraints: ClassVar[dict[str, list]] = {
        "hidden_dims": [None, IntSequence()], "latent_dim": [POSITIVE_INT], "kappa": [NON_NEGATIVE],
        "epochs": [EPOCHS], "batch_size": [POSITIVE_INT], "learning_rate": [POSITIVE],
    }

    def __init__(self, *, hidden_dims: tuple[int, ...] | None = None, latent_dim: int = 8, kappa: float = 1.0,
                 epochs: int = 500, batch_size: int = 128, learning_rate: float = 1e-4) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.kappa = kappa
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate

    def build_networks(self, feature_shape, n_subclasses):
        n_inputs = int(np.prod(feature_shape))
        dims = baseline_networks.resolve_dims(self.hidden_dims, n_inputs)
        latent = int(self.latent_dim)
        self.hidden_dims_ = dims
        return {
            "generator": nn.Sequential(keras_like.dense(latent, dims[-1]),
                                       baseline_networks.aae_decoder(dims, n_inputs)),
            "discriminator": Discriminator(n_inputs, dims),
            "encoder": nn.Sequential(nn.Flatten(), baseline_networks.aae_encoder(n_inputs, dims),
                                     keras_like.dense(dims[-1], latent)),
        }

    def stages(self):
        return [("gan", int(self.epochs)), ("encoder", int(self.epochs))]

    def make_optimizers(self):
        return {name: keras_like.adam(net.parameters(), self.learning_rate) for name, net in self.networks_.items()}

    def on_stage_start(self, stage):
        if stage == "encoder":  # G and D are frozen from here on
            for name in ("generator", "discriminator"):
                self.networks_[name].requires_grad_(False)

    def train_networks(self, stage):
        return ["generator", "discriminator"] if stage == "gan" else ["encoder"]

    def train_step(self, stage, batch):
        (x,) = batch
        G, D, E = (self.networks_[n] for n in ("generator", "discriminator", "encoder"))
        if stage == "gan":
            z = torch.randn(len(x), int(self.latent_dim), device=x.device)
            d_real, d_fake = D(x), D(G(z))
            loss_g = d_fake.mean()
            loss_d = d_real.mean() - d_fake.mean()
            grads_g = torch.autograd.grad(loss_g, list(G.parameters()), retain_graph=True)
            grads_d = torch.autograd.grad(loss_d, list(D.parameters()))
            for net, grads, name in ((G, grads_g, "generator"), (D, grads_d, "discriminator")):
                for p, g in zip(net.parameters(), grads, strict=True):
                    p.grad = g
                self.optimizers_[name].step()
            return {"loss": loss_g + loss_d, "generator": loss_g, "discriminator": loss_d}
        x_rec = G(E(x))
        mse_x, mse_f = izi_f_terms(x, x_rec, D.features(x), D.features(x_rec))
        loss_x, loss_f = mse_x.mean(), mse_f.mean()
        loss = loss_x + self.kappa * loss_f
        self.optimize(loss, "encoder")
        return {"loss": loss, "izi": loss_x, "intermediate": loss_f}

    def score_terms(self, batch_X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample (MSE_x, MSE_f) of a batch on ``device_`` (networks must be in eval mode)."""
        G, D, E = (self.networks_[n] for n in ("generator", "discriminator", "encoder"))
        x_rec = G(E(batch_X))
        return izi_f_terms(batch_X, x_rec, D.features(batch_X), D.features(x_rec))

    def score_batch(self, batch_X):
        mse_x, mse_f = self.score_terms(batch_X)
        return mse_x + self.kappa * mse_f
