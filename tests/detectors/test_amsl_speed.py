"""AMSL's faster network computes what the plain formulation computes (``adray.detectors.amsl.reference``).

The speed-ups (entropy from the read-out, transposed convolutions that crop inside the kernel,
unbind instead of slicing, channels-last on CPU, a smaller scoring chunk) are measured by
``adray bench amsl``; here only their results are checked: the same outputs, gradients,
training trajectory and scores, up to float32 rounding.
"""

import numpy as np
import pytest
import torch

from adray.detectors.amsl import AMSL
from adray.detectors.amsl import detector as amsl_detector
from adray.detectors.amsl.loss import amsl_loss, reconstruction_score
from adray.detectors.amsl.network import AMSLNetwork, address
from adray.detectors.amsl.reference import ReferenceNetwork, plain_address
from adray.detectors.components import keras_like

SMALL = {"global_slots": 50, "local_slots": 50, "filters": (8, 16, 16)}
TINY = {"global_mem_dim": 20, "local_mem_dim": 20, "filter_size1": 4, "filter_size2": 8, "filter_size3": 8}


def pair(length, channels, channels_last, **sizes):
    """The optimised network (as the detector builds it on CPU when ``channels_last``) and the
    reference, both with the same initial weights."""
    torch.manual_seed(0)
    fast = AMSLNetwork(length, channels, **sizes)
    torch.manual_seed(0)
    plain = ReferenceNetwork(length, channels, **sizes)
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    return fast, plain


def grads(net, views):
    net.zero_grad()
    out = net(views)
    amsl_loss(views, out, 1.0, 2e-4)["loss"].backward()
    return out, {name: p.grad.clone() for name, p in net.named_parameters()}


@pytest.mark.parametrize(("length", "channels", "sizes"), [
    (125, 45, {}),  # DSADS with the default network (3.3 M parameters)
    (40, 6, SMALL),  # basic_motions: no time padding, odd channel padding
    (9, 1, SMALL),  # univariate, padded on both axes
])
@pytest.mark.parametrize("channels_last", [False, True])
def test_same_outputs_and_gradients_as_the_reference(length, channels, sizes, channels_last):
    fast, plain = pair(length, channels, channels_last, **sizes)
    fast.eval(), plain.eval()  # no dropout: both see the same function
    views = torch.rand(3, 7, length, channels, generator=torch.Generator().manual_seed(1))
    out_fast, grad_fast = grads(fast, views)
    out_plain, grad_plain = grads(plain, views)
    for key in ("reconstruction", "global_entropy", "local_entropy", "logits"):
        torch.testing.assert_close(out_fast[key], out_plain[key], rtol=1e-5, atol=1e-6)
    assert grad_fast.keys() == grad_plain.keys()
    for name, g in grad_plain.items():
        scale = float(g.abs().max()) + 1e-12
        torch.testing.assert_close(grad_fast[name], g, rtol=1e-4, atol=1e-4 * scale, msg=name)
        assert float(g.abs().max()) > 0 or name.startswith("fusion.gamma"), f"{name} gets no gradient"


def test_entropy_from_the_read_out_is_the_entropy_for_peaked_and_flat_addresses():
    torch.manual_seed(0)
    memory = torch.randn(7, 30, 8)
    for spread in (0.01, 1.0, 10.0):  # nearly uniform, typical, nearly one-hot weights
        features = spread * torch.randn(2, 7, 5, 8)
        read, entropy = address(features, memory)
        plain_read, plain_entropy = plain_address(features, memory)
        torch.testing.assert_close(read, plain_read, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(entropy, plain_entropy, rtol=1e-4, atol=1e-5)
    assert 0.0 < float(plain_entropy.min()) < float(plain_entropy.max()) < np.log(30) / 30


def test_training_follows_the_reference_trajectory():
    # the same batches and dropout masks: ten Adam steps end at the same weights and scores
    fast, plain = pair(40, 6, True, **SMALL)
    # windows near 0.1: learnable, so the scores fall well away from the untrained ones
    views = 0.1 + 0.05 * torch.rand(10, 4, 7, 40, 6, generator=torch.Generator().manual_seed(2))
    held_out = 0.1 + 0.05 * torch.rand(8, 7, 40, 6, generator=torch.Generator().manual_seed(4))

    def scores(net):
        with torch.no_grad():
            return reconstruction_score(held_out, net.eval()(held_out, classify=False)["reconstruction"])

    before = scores(plain)
    for net in (fast, plain):
        torch.manual_seed(3)
        optimizer = keras_like.adam(list(net.parameters()), 3e-3)
        net.train()
        for batch in views:
            optimizer.zero_grad()
            amsl_loss(batch, net(batch), 1.0, 2e-4)["loss"].backward()
            optimizer.step()
    after_fast, after_plain = scores(fast), scores(plain)
    moved = float((after_plain - before).abs().max())
    assert moved > 0.05  # the steps did change the scores ...
    assert float((after_fast - after_plain).abs().max()) < 1e-3 * moved  # ... both networks alike
    for (name, p), q in zip(fast.named_parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-5, msg=name)


def test_the_cpu_detector_scores_with_the_reference_network_s_values():
    rng = np.random.default_rng(0)
    X, X_test = rng.random((40, 12, 3)).astype(np.float32), rng.random((21, 12, 3)).astype(np.float32)
    det = AMSL(epochs=2, **TINY).fit(X, seed=1)
    net = det.networks_["amsl"]
    assert net.encoder[0][1].weight.is_contiguous(memory_format=torch.channels_last)
    plain = ReferenceNetwork(12, 3, global_slots=20, local_slots=20, filters=(4, 8, 8)).eval()
    plain.load_state_dict(net.state_dict())
    views, _ = det.view_reconstructions(X_test)
    with torch.no_grad():
        expected = reconstruction_score(torch.from_numpy(views), plain(torch.from_numpy(views))["reconstruction"])
    np.testing.assert_allclose(det.decision_function(X_test), expected.numpy(), rtol=1e-5)


def test_scores_do_not_depend_on_the_scoring_chunk(monkeypatch):
    X = np.random.default_rng(1).random((30, 12, 3)).astype(np.float32)
    det = AMSL(epochs=1, **TINY).fit(X, seed=2)
    scores = det.decision_function(X)
    monkeypatch.setitem(amsl_detector.SCORE_CHUNK, "cpu", 7)
    np.testing.assert_allclose(det.decision_function(X), scores, rtol=1e-6)
