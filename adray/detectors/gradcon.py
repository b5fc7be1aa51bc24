"""GradCon: gradient-constrained autoencoder (Kwon et al., ECCV 2020); registry name ``"gradcon"``.

As R2-AD2 re-implemented it (``baselines/gradcon/GradCon.py``):

- the network is a fresh copy of the R2-AD2 target AE (``[Dense -> ReLU -> Dropout(0.4)]``,
  code ``Dense -> ReLU``, mirrored decoder with a sigmoid output; here
  :class:`~adray.detectors.components.autoencoders.DenseAutoEncoder` on the flattened input), trained with the MSE
  reconstruction loss and Keras-Adam(learning_rate);
- for every decoder *kernel* k (the weight matrices of the decoder's Dense layers, biases excluded) a
  running mean g_k = (sum of the kernel's gradient of the *total* loss over every step so far) / steps;
- training loss = MSE + ``train_weight`` (0.03) * mean_k(-cos(grad_k MSE, g_k)), where the cosine term
  enters only once a history exists (from the second step on) and stays in the autodiff graph
  (second-order gradients, ``create_graph=True``);
- score(x) = MSE(x) + ``score_weight`` (0.12) * mean_k(-cos(grad_k MSE(x), g_k)) per sample, with the
  decoder in inference mode; per-sample gradients are vectorised with ``torch.func.vmap(grad)``.

Defect fixed (found while porting; ``adray/detectors/r2ad2/README.md`` lists it): R2-AD2 computes the cosine with
``tf.keras.losses.CosineSimilarity()`` on gradients reshaped to ``(-1, 1)``, i.e. along an axis of
length one, so each "cosine" is the sign agreement of one weight (and its gradient is almost zero).
Kwon et al. define the cosine between whole per-layer gradient vectors; this port uses that
(``cosine="layer"``: ``F.cosine_similarity`` of the flattened tensors, eps 1e-8). ``cosine="element"``
reproduces the shipped behaviour for comparison. The choice matters: with the layer cosine the
second-order constraint term shapes training strongly (on digits it lowers the AE's reconstruction
AUC), while the shipped element-wise variant trains almost like a plain MSE AE and adds an O(1)
sign-agreement term to the score.

Other differences: the seeds shuffle with a 10*batch buffer (here: a full reshuffle each epoch, as
every adray detector). Defaults follow R2-AD2: dropout 0.4, ``learning_rate=1e-3``,
``epochs=100``; ``hidden_dims=None`` uses the AE's width rule (R2-AD2's DIM_TARGET per data set,
e.g. (40, 20, 10), belongs in the sweep).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from adray.detectors.components import baseline_networks
from adray.detectors.components.autoencoders import DenseAutoEncoder
from adray.detectors.components.constraints import (
    DROPOUT,
    EPOCHS,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    IntSequence,
    Options,
)
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

COSINE_EPS = 1e-8


def gradient_constraint(grads: list[torch.Tensor], references: list[torch.Tensor],
                        cosine: str = "layer") -> torch.Tensor:
    """mean_k(-cos(grads[k], references[k])) over flattened tensors; with a leading batch axis on
    ``grads`` (per-sample gradients, shape (b, *kernel)) the result has shape (b,).

    ``cosine="element"`` reproduces R2-AD2 as shipped: Keras ``CosineSimilarity`` along an axis of
    length one, i.e. -mean_j(g_j / |g_j| * r_j / |r_j|) (each |.| floored at 1e-6).
    """
    if cosine not in ("layer", "element"):
        raise AdrayError(f"cosine must be 'layer' or 'element', got {cosine!r}")
    terms = []
    for g, ref in zip(grads, references, strict=True):
        batched = g.dim() > ref.dim()
        g = g.flatten(1) if batched else g.flatten()[None]
        r = ref.flatten()[None]
        if cosine == "layer":
            terms.append(-F.cosine_similarity(g, r, dim=1, eps=COSINE_EPS))
        else:  # tf.math.l2_normalize of a single value: x / sqrt(max(x^2, 1e-12))
            unit = (g / torch.sqrt((g * g).clamp_min(1e-12))) * (r / torch.sqrt((r * r).clamp_min(1e-12)))
            terms.append(-unit.mean(dim=1))
    out = torch.stack(terms).mean(dim=0)
    return out if grads[0].dim() > references[0].dim() else out[0]


class GradCon(TorchDetector):
    """GradCon (see the module docstring); score = MSE + 0.12 * gradient-constraint term.

    Parameters
    ----------
    hidden_dims : encoder widths, the last being the code (None:
        :func:`~adray.detectors.components.autoencoders.default_hidden_dims`).
    dropout : dropout of the AE's hidden layers (R2-AD2: 0.4).
    train_weight, score_weight : weight of the cosine term in training (0.03) and in the score (0.12).
    cosine : "layer" (Kwon et al., per-layer vector cosine) or "element" (R2-AD2 as shipped).
    epochs, batch_size, learning_rate : training length, minibatch size, Adam step size.

    Attributes
    ----------
    grad_sum_ : per decoder kernel, the sum of its total-loss gradients over all steps.
    grad_count_ : the number of steps summed. ``mean_gradients()`` = grad_sum_ / grad_count_.
    """

    summary: ClassVar[str] = "GradCon (ECCV 2020): gradient-constrained AE"
    state_attrs: ClassVar[tuple[str, ...]] = ("grad_sum_", "grad_count_")
    smoke_params: ClassVar[dict] = {"epochs": 3, "batch_size": 32}
    default_dataset: ClassVar[str] = "breast_cancer:unsupervised"
    # Kwon et al.'s per-layer cosine, and the element-wise one R2-AD2 shipped
    default_grid: ClassVar[dict[str, list]] = {"epochs": [100], "batch_size": [32], "learning_rate": [1e-3],
                                               "cosine": ["layer", "element"]}
    param_constraints: ClassVar[dict[str, list]] = {
        "hidden_dims": [None, IntSequence()], "dropout": [DROPOUT], "train_weight": [NON_NEGATIVE],
        "score_weight": [NON_NEGATIVE], "cosine": [Options("layer", "element")], "epochs": [EPOCHS],
        "batch_size": [POSITIVE_INT], "learning_rate": [POSITIVE],
    }

    def __init__(self, *, hidden_dims: tuple[int, ...] | None = None, dropout: float = 0.4, train_weight: float = 0.03,
                 score_weight: float = 0.12, cosine: str = "layer", epochs: int = 100, batch_size: int = 256,
                 learning_rate: float = 1e-3) -> None:
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        self.train_weight = train_weight
        self.score_weight = score_weight
        self.cosine = cosine
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate

    def build_networks(self, feature_shape, n_subclasses):
        n_inputs = int(np.prod(feature_shape))
        self.hidden_dims_ = baseline_networks.resolve_dims(self.hidden_dims, n_inputs)
        return {"ae": DenseAutoEncoder(n_inputs, self.hidden_dims_, float(self.dropout))}

    def _kernel_names(self) -> list[str]:
        return [f"decoder.{name}.weight" for name, m in self.networks_["ae"].decoder.named_children()
                if isinstance(m, nn.Linear)]

    def _kernels(self) -> list[nn.Parameter]:
        params = dict(self.networks_["ae"].named_parameters())
        return [params[name] for name in self._kernel_names()]

    def on_stage_start(self, stage):
        self.grad_sum_ = [torch.zeros_like(k, device=self.device_) for k in self._kernels()]
        self.grad_count_ = 0

    def mean_gradients(self) -> list[torch.Tensor]:
        """The running mean g_k of each decoder kernel's gradient (zeros before the first step)."""
        return [s / max(self.grad_count_, 1) for s in self.grad_sum_]

    def train_step(self, stage, batch):
        (x,) = batch
        x = x.flatten(1)
        mse = ((self.networks_["ae"](x) - x) ** 2).mean()
        kernels = self._kernels()
        if self.grad_count_ > 0:
            grads = torch.autograd.grad(mse, kernels, create_graph=True)
            constraint = gradient_constraint(list(grads), self.mean_gradients(), self.cosine)
        else:
            constraint = torch.zeros((), device=x.device)
        loss = mse + self.train_weight * constraint
        opt = self.optimizers_["main"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for total, kernel in zip(self.grad_sum_, kernels, strict=True):
            total += kernel.grad.detach()
        self.grad_count_ += 1
        opt.step()
        return {"loss": loss, "mse": mse, "grad_loss": constraint}

    def score_batch(self, batch_X):
        net = self.networks_["ae"]
        x = batch_X.flatten(1)
        params = {name: p.detach() for name, p in net.named_parameters()}
        names = self._kernel_names()

        def sample_mse(kernels, row):
            out = functional_call(net, {**params, **dict(zip(names, kernels, strict=True))}, (row[None],))
            return ((out[0] - row) ** 2).mean()

        with torch.enable_grad():
            per_sample = vmap(grad(sample_mse), in_dims=(None, 0))([params[n] for n in names], x)
        mse = ((net(x) - x) ** 2).mean(dim=1)
        return mse + self.score_weight * gradient_constraint(list(per_sample), self.mean_gradients(), self.cosine)
