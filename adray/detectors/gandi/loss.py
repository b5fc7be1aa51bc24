"""GANDI's loss options (as the original), on discriminator logits ``l`` with ``D = sigmoid(l)``.

Discriminator (minimised; both terms are batch means, as in the original):

- ``"cross_entropy"``: ``CE(D(x), 1) + CE(D(G(z)), 0)`` from logits (TF ``sigmoid_cross_entropy_with_logits``).
- ``"game"``: ``mean(-log D(x) - log(1 - D(G(z))))``, written on the probabilities as the original
  does (the same value as ``"cross_entropy"`` until the float32 sigmoid saturates).

Generator (minimised):

- ``"cross_entropy"``: non-saturating ``CE(D(G(z)), 1)`` from logits.
- ``"non_sat_heu"``: the non-saturating heuristic ``mean(-log D(G(z)))`` on the probability, as written.
- ``"minimax"``: ``mean(log(1 - D(G(z))))``, i.e. minus the discriminator's fake-sample term. The
  original's ``-D.loss`` also contains the real-data term, which needs a batch of real data the
  generator step does not feed, so that graph crashed (``InvalidArgumentError``). The real term
  does not depend on G, so dropping it gives the same gradients the intended loss has.
- ``"max_like"``: the maximum-likelihood cost ``mean(-exp(logit(D(G(z)))))`` = ``mean(-exp(l))``.
  The original picked its inverse activation by looking for "sigmoid" in the *loss* tensor's name,
  which never contains it, so the option always raised ``ValueError``; here it uses the logit.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

D_LOSSES = ("cross_entropy", "game")
G_LOSSES = ("cross_entropy", "non_sat_heu", "minimax", "max_like")


def discriminator_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor, kind: str = "cross_entropy") -> torch.Tensor:
    """The loss D minimises on a batch of real-data logits and a batch of generated-data logits."""
    if kind == "cross_entropy":
        real = F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
        fake = F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))
        return real + fake
    if kind == "game":
        return (-torch.log(torch.sigmoid(real_logit)) - torch.log(1.0 - torch.sigmoid(fake_logit))).mean()
    raise ValueError(f"d_loss must be one of {', '.join(D_LOSSES)}, got {kind!r}")


def generator_loss(fake_logit: torch.Tensor, kind: str = "cross_entropy") -> torch.Tensor:
    """The loss G minimises, given D's logits on a batch of generated samples."""
    if kind == "cross_entropy":
        return F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
    if kind == "non_sat_heu":
        return (-torch.log(torch.sigmoid(fake_logit))).mean()
    if kind == "minimax":
        return -F.softplus(fake_logit).mean()  # log(1 - sigmoid(l)) = -softplus(l)
    if kind == "max_like":
        return (-torch.exp(fake_logit)).mean()
    raise ValueError(f"g_loss must be one of {', '.join(G_LOSSES)}, got {kind!r}")
