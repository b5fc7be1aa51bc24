"""GANomaly (Akcay, Atapour-Abarghouei, Breckon, ACCV 2018); registry name ``"ganomaly"``.

ARGUE ran chychen's ``tf2-ganomaly`` (not shipped: enc_dims = DIM_TARGET, images resized
to 32x32, the rest from its ``opt``, so those settings are unknown). So this follows the paper and the authors' PyTorch
code (samet-akcay/ganomaly, ``options.py``/``networks.py``/``model.py``), each default cited:

- generator = encoder G_E -> decoder G_D -> encoder E (encoder-decoder-encoder); z = G_E(x),
  x' = G_D(z), z' = E(x');
- discriminator = an encoder with a 1-unit sigmoid output; its trunk (every layer but the last) gives the
  features f used for feature matching;
- generator loss ``w_adv * mean (f(x) - f(x'))^2 + w_con * mean |x - x'| + w_enc * mean (z - z')^2`` with
  w_adv = 1, w_con = 50, w_enc = 1 (Section 3 of the paper, options.py); discriminator loss
  ``0.5 * (BCE(D(x), 1) + BCE(D(x'), 0))`` (BCE clipped at 1e-7; model.py ``backward_d``); per step G
  is updated first, then D on the same (detached) x'; D is re-initialised when its loss falls below
  1e-5 (model.py ``reinit_d``);
- Adam(lr 2e-4, beta1 0.5, beta2 0.999, PyTorch eps 1e-8) for both (options.py ``lr``, ``beta1``);
  ``epochs=15`` (``niter``), ``batch_size=64`` (``batchsize``), ``latent_dim=100`` (``nz``),
  ``n_filters=64`` (``ngf``/``ndf``);
- score = mean_j |z_j - z'_j| (the paper's L1 anomaly score A(x) = ||G_E(x) - E(G(x))||_1, here as a
  mean; the authors' code uses the squared difference, and its min-max rescaling of the test scores does
  not change any ranking, so it is left out).

Architectures (``architecture``: "auto" = "conv" for image input (n, H, W) or (n, H, W, C), else "dense"):

- "conv" (the paper's DCGAN networks, networks.py): images are resized (bilinear) to ``image_size``
  (a power of two >= 8; ARGUE 32) and mapped to [-1, 1] (the decoder ends in tanh). Encoder:
  ``Conv(4, s2, p1) -> LReLU(0.2)``, then ``Conv(4, s2, p1) -> BN -> LReLU(0.2)`` doubling the filters
  until 4x4, then ``Conv(nz, 4, s1, p0)``; the decoder mirrors it with ``ConvT -> BN -> ReLU`` and a final
  ``ConvT -> tanh``; no biases; weights N(0, 0.02), BN gamma N(1, 0.02) (``weights_init``).
- "dense" (tabular; ``enc_dims`` = ARGUE's DIM_TARGET, the last width being z; None =
  :func:`default_enc_dims`): encoder ``Dense -> LReLU(0.2)``, then ``Dense -> BN -> LReLU(0.2)`` per
  hidden width, linear ``Dense(z)``; decoder ``Dense -> BN -> ReLU`` mirrored, ``Dense(D) -> sigmoid``
  (input is MinMax-scaled to [0, 1]); Keras Glorot init (tf2-ganomaly is Keras). The discriminator
  features are its last hidden activation.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from adray.detectors.components import keras_like
from adray.detectors.components.constraints import (
    EPOCHS,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    Interval,
    IntSequence,
    Options,
)
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

D_REINIT_THRESHOLD = 1e-5  # model.py: reinitialise D when err_d < 1e-5
LRELU_SLOPE = 0.2


# ---------------------------------------------------------------------------- conv (DCGAN) networks
def dcgan_init_(module: nn.Module) -> nn.Module:
    """The authors' ``weights_init``: conv weights N(0, 0.02); BN weight N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def conv_encoder(image_size: int, n_out: int, channels: int, n_filters: int) -> nn.Sequential:
    """networks.py ``Encoder``: (b, C, S, S) -> (b, n_out, 1, 1)."""
    layers: list[nn.Module] = [nn.Conv2d(channels, n_filters, 4, 2, 1, bias=False), nn.LeakyReLU(LRELU_SLOPE)]
    size, width = image_size // 2, n_filters
    while size > 4:
        layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                   nn.LeakyReLU(LRELU_SLOPE)]
        width, size = width * 2, size // 2
    layers.append(nn.Conv2d(width, n_out, 4, 1, 0, bias=False))
    return nn.Sequential(*layers)


def conv_decoder(image_size: int, n_in: int, channels: int, n_filters: int) -> nn.Sequential:
    """networks.py ``Decoder``: (b, n_in, 1, 1) -> (b, C, S, S) in (-1, 1)."""
    width, size = n_filters // 2, 4
    while size != image_size:
        width, size = width * 2, size * 2
    layers: list[nn.Module] = [nn.ConvTranspose2d(n_in, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    size = 4
    while size < image_size // 2:
        layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU()]
        width, size = width // 2, size * 2
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


# ---------------------------------------------------------------------------- dense networks
def dense_encoder(n_inputs: int, dims: tuple[int, ...]) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    width = n_inputs
    for i, d in enumerate(dims[:-1]):
        layers[f"dense{i}"] = keras_like.dense(width, d)
        if i > 0:
            layers[f"bn{i}"] = nn.BatchNorm1d(d)
        layers[f"act{i}"] = nn.LeakyReLU(LRELU_SLOPE)
        width = d
    layers["code"] = keras_like.dense(width, dims[-1])
    return nn.Sequential(layers)


def dense_decoder(dims: tuple[int, ...], n_outputs: int) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    width = dims[-1]
    for i, d in enumerate(reversed(dims[:-1])):
        layers[f"dense{i}"] = keras_like.dense(width, d)
        layers[f"bn{i}"] = nn.BatchNorm1d(d)
        layers[f"act{i}"] = nn.ReLU()
        width = d
    layers["output"] = keras_like.dense(width, n_outputs)
    layers["output_act"] = nn.Sigmoid()
    return nn.Sequential(layers)


def default_enc_dims(n_inputs: int) -> tuple[int, int]:
    """``enc_dims=None`` for dense input: (2c, c) with z size c = max(8, ceil(D / 4)); the AE width rule's
    codes (2 for D = 30) are too small for GANomaly's latent-difference score."""
    code = max(8, math.ceil(n_inputs / 4))
    return (2 * code, code)


# ---------------------------------------------------------------------------- GANomaly modules
class Generator(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module, encoder2: nn.Module):
        super().__init__()
        self.encoder1, self.decoder, self.encoder2 = encoder, decoder, encoder2

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x', z, z'), with z, z' flattened to (b, nz)."""
        z = self.encoder1(x)
        x_rec = self.decoder(z)
        return x_rec, z.flatten(1), self.encoder2(x_rec).flatten(1)


class Discriminator(nn.Module):
    """``features`` = every layer of an encoder but the last; ``classifier`` = the last -> sigmoid."""

    def __init__(self, encoder: nn.Sequential):
        super().__init__()
        layers = list(encoder.children())
        self.features = nn.Sequential(*layers[:-1])
        self.classifier = nn.Sequential(layers[-1], nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return self.classifier(f).reshape(-1), f


def generator_losses(x, x_rec, z, z_rec, feat_real, feat_fake) -> dict[str, torch.Tensor]:
    """The three generator losses (unweighted): adversarial (feature matching, L2), contextual (L1), encoder (L2)."""
    return {"adv": _mean_sq(feat_real, feat_fake), "con": (x - x_rec).abs().mean(), "enc": _mean_sq(z, z_rec)}


def _mean_sq(a, b):
    return ((a - b) ** 2).mean()


class GANomaly(TorchDetector):
    """GANomaly (see the module docstring); score = mean |G_E(x) - E(G(x))|.

    Parameters
    ----------
    architecture : "auto" (conv for images, dense otherwise), "conv" or "dense".
    enc_dims : dense encoder widths, the last being z (ARGUE: DIM_TARGET; None: :func:`default_enc_dims`).
    latent_dim, n_filters, image_size : conv nz (100), ngf = ndf (64) and the resized image side (32).
    w_adv, w_con, w_enc : generator loss weights (1, 50, 1).
    epochs, batch_size, learning_rate, beta1 : niter 15, batchsize 64, lr 2e-4, beta1 0.5.
    """

    summary: ClassVar[str] = "GANomaly (ACCV 2018): encoder-decoder-encoder with adversarial feature matching"
    smoke_params: ClassVar[dict] = {"epochs": 5, "batch_size": 32, "learning_rate": 1e-3, "enc_dims": (16, 8),
                                    "latent_dim": 16, "n_filters": 8, "image_size": 8}
    default_dataset: ClassVar[str] = "digits"
    # Akcay et al.: 15 epochs, batch 64; 16 px and 32 filters keep the conv net CPU-sized
    default_grid: ClassVar[dict[str, list]] = {"epochs": [15], "batch_size": [64], "image_size": [16],
                                               "n_filters": [32]}
    param_constraints: ClassVar[dict[str, list]] = {
        "architecture": [Options("auto", "conv", "dense")], "enc_dims": [None, IntSequence()],
        "latent_dim": [POSITIVE_INT], "n_filters": [POSITIVE_INT],
        "image_size": [Options(*(2 ** k for k in range(3, 11)))],  # a power of two the DCGAN halves down to 4
        "w_adv": [NON_NEGATIVE], "w_con": [NON_NEGATIVE], "w_enc": [NON_NEGATIVE], "epochs": [EPOCHS],
        "batch_size": [POSITIVE_INT], "learning_rate": [POSITIVE], "beta1": [Interval(float, 0, 1, closed="left")],
    }

    def __init__(self, *, architecture: str = "auto", enc_dims: tuple[int, ...] | None = None, latent_dim: int = 100,
                 n_filters: int = 64, image_size: int = 32, w_adv: float = 1.0, w_con: float = 50.0,
                 w_enc: float = 1.0, epochs: int = 15, batch_size: int = 64, learning_rate: float = 2e-4,
                 beta1: float = 0.5) -> None:
        self.architecture = architecture
        self.enc_dims = enc_dims
        self.latent_dim = latent_dim
        self.n_filters = n_filters
        self.image_size = image_size
        self.w_adv = w_adv
        self.w_con = w_con
        self.w_enc = w_enc
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.beta1 = beta1

    # ------------------------------------------------------------------ networks
    def build_networks(self, feature_shape, n_subclasses):
        arch = self.architecture
        if arch == "auto":
            arch = "conv" if len(feature_shape) in (2, 3) else "dense"
        self.architecture_ = arch
        if arch == "dense":
            n_inputs = int(np.prod(feature_shape))
            enc_dims = self.enc_dims if self.enc_dims is not None else default_enc_dims(n_inputs)
            dims = tuple(int(d) for d in enc_dims)
            self.enc_dims_ = dims
            self._discriminator_args = (n_inputs, dims)
            return {"generator": Generator(dense_encoder(n_inputs, dims), dense_decoder(dims, n_inputs),
                                           dense_encoder(n_inputs, dims)),
                    "discriminator": self._new_discriminator()}
        if len(feature_shape) not in (2, 3):
            raise AdrayError(f"architecture 'conv' needs images (n, H, W) or (n, H, W, C); got feature shape "
                             f"{tuple(feature_shape)}")
        size = int(self.image_size)
        channels = feature_shape[2] if len(feature_shape) == 3 else 1
        nz, nf = int(self.latent_dim), int(self.n_filters)
        self._discriminator_args = (size, channels, nf)
        generator = Generator(conv_encoder(size, nz, channels, nf), conv_decoder(size, nz, channels, nf),
                              conv_encoder(size, nz, channels, nf))
        return {"generator": dcgan_init_(generator), "discriminator": self._new_discriminator()}

    def _new_discriminator(self) -> Discriminator:
        """A freshly initialised discriminator (draws from the global torch RNG)."""
        if self.architecture_ == "dense":
            n_inputs, dims = self._discriminator_args
            return Discriminator(dense_encoder(n_inputs, (*dims[:-1], 1)))
        size, channels, nf = self._discriminator_args
        return dcgan_init_(Discriminator(conv_encoder(size, 1, channels, nf)))

    def make_optimizers(self):
        betas = (float(self.beta1), 0.999)
        return {name: torch.optim.Adam(net.parameters(), lr=self.learning_rate, betas=betas)
                for name, net in self.networks_.items()}

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Network input: (b, D) for dense; (b, C, S, S) in [-1, 1] for conv."""
        if self.architecture_ == "dense":
            return x.flatten(1)
        x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return x * 2.0 - 1.0

    # ------------------------------------------------------------------ training and scoring
    def train_step(self, stage, batch):
        x = self._prepare(batch[0])
        G, D = self.networks_["generator"], self.networks_["discriminator"]
        x_rec, z, z_rec = G(x)
        _, feat_real = D(x)
        _, feat_fake = D(x_rec)
        parts = generator_losses(x, x_rec, z, z_rec, feat_real, feat_fake)
        loss_g = self.w_adv * parts["adv"] + self.w_con * parts["con"] + self.w_enc * parts["enc"]
        self.optimize(loss_g, "generator")

        pred_real, _ = D(x)
        pred_fake, _ = D(x_rec.detach())
        loss_d = 0.5 * (keras_like.bce(pred_real, torch.ones_like(pred_real)) +
                        keras_like.bce(pred_fake, torch.zeros_like(pred_fake)))
        self.optimize(loss_d, "discriminator")
        if loss_d.item() < D_REINIT_THRESHOLD:
            self._reinit_discriminator()
        return {"loss": loss_g + loss_d, "generator": loss_g, "discriminator": loss_d, **parts}

    def _reinit_discriminator(self) -> None:
        fresh = self._new_discriminator()  # fresh weights from the global torch RNG (seeded, checkpointed)
        self.networks_["discriminator"].load_state_dict(fresh.state_dict())

    def score_batch(self, batch_X):
        _, z, z_rec = self.networks_["generator"](self._prepare(batch_X))
        return (z - z_rec).abs().mean(dim=1)

