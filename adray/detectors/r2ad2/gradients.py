"""Per-sample gradients of a target's reconstruction loss (R2-AD2's features), vectorised with ``torch.func``.

g(x) = ∂ BCE(x, T(x)) / ∂θ over the selected weights θ of the target T (dropout in inference mode,
BCE the element-wise mean with Keras' clipping), flattened layer by layer in module order (encoder
then decoder, each layer's weight then bias, as in Keras' weight order). ``vmap(grad(...))`` computes
a whole chunk of samples at once; chunks of ``batch_size`` samples bound the memory (a chunk holds
batch_size · P gradient values plus the vmapped activations).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from adray.detectors.components import keras_like

GRAD_TYPES = ("kernel", "bias")
GRAD_LAYERS = ("all", "middle", "all_but_input", "all_but_output", "encoder", "decoder")


def weight_layers(model: nn.Module) -> list[str]:
    """Names of the Dense/Conv layers (modules holding a ``weight``), in forward order."""
    return [name for name, module in model.named_modules()
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]


def select_parameters(model: nn.Module, grad_types: Sequence[str] = GRAD_TYPES,
                      grad_layers: str | Sequence[str] = "all") -> list[str]:
    """The parameter names whose gradients form the feature vector (the published options).

    ``grad_types``: "kernel" and/or "bias". ``grad_layers``: "all" (default), "middle" (all but the
    input and the output layer), "all_but_input", "all_but_output", "encoder", "decoder", or a
    sequence of layer names (e.g. ``("encoder.code",)``).
    """
    layers = weight_layers(model)
    if isinstance(grad_layers, str):
        drop = {"all": set(), "middle": {layers[0], layers[-1]}, "all_but_input": {layers[0]},
                "all_but_output": {layers[-1]}, "encoder": {n for n in layers if not n.startswith("encoder.")},
                "decoder": {n for n in layers if not n.startswith("decoder.")}}[grad_layers]
        chosen = [n for n in layers if n not in drop]
    else:
        chosen = [n for n in layers if n in set(grad_layers)]
    suffixes = tuple({"kernel": "weight", "bias": "bias"}[t] for t in grad_types)
    names = [f"{layer}.{suffix}" for layer in chosen for suffix in ("weight", "bias") if suffix in suffixes]
    params = dict(model.named_parameters())
    return [name for name in names if name in params]


def n_gradient_features(model: nn.Module, names: Sequence[str]) -> int:
    """P: the number of gradient features (weights counted in ``names``)."""
    params = dict(model.named_parameters())
    return sum(params[name].numel() for name in names)


def per_sample_gradients(model: nn.Module, x: torch.Tensor, names: Sequence[str], batch_size: int) -> torch.Tensor:
    """(n, P) float32: the gradient of each sample's reconstruction BCE, chunks of ``batch_size`` at once.

    The model is evaluated in inference mode (dropout off) and left in the mode it had.
    """
    was_training = model.training
    model.eval()
    params = {name: p.detach() for name, p in model.named_parameters()}
    selected = {name: params[name] for name in names}
    fixed = {name: p for name, p in params.items() if name not in selected}
    fixed.update({name: b.detach() for name, b in model.named_buffers()})

    def loss(weights: dict[str, torch.Tensor], sample: torch.Tensor) -> torch.Tensor:
        batch = sample.unsqueeze(0)
        return keras_like.bce(functional_call(model, {**fixed, **weights}, (batch,)), batch.flatten(1))

    per_sample = vmap(grad(loss), in_dims=(None, 0))
    parts = []
    try:
        with torch.enable_grad():
            for start in range(0, len(x), max(1, int(batch_size))):
                grads = per_sample(selected, x[start: start + int(batch_size)])
                parts.append(torch.cat([grads[name].flatten(1) for name in names], dim=1))
    finally:
        model.train(was_training)
    return torch.cat(parts) if parts else x.new_zeros((0, n_gradient_features(model, names)))
