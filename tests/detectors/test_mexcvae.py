import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.mexcvae import MExCVAE, keras_kl, mex_loss, mex_score
from adray.errors import AdrayError
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays


def breast_cancer():
    ds = load("breast_cancer")
    split = make_split(ds, get_spec("breast_cancer").setting("unsupervised"), 110)
    arrays = prepare_arrays(ds, split)
    return arrays["train"], arrays["test"], split.y_test


def const(value, shape=(1, 2)):
    return torch.full(shape, float(value))


def fake_outputs():
    """x = 0 everywhere, so every MSE against x is the square of the constant."""
    e1 = (const(1), const(0.5), const(0), const(2), const(0.5))  # x_hat, z1, y_hat, y, z2
    e2 = (const(0), const(0.25), const(0), const(0), const(1.25))
    gate = (const(3), const(0, (1, 4)), const(1), const(1))
    return e1, e2, gate, const(0.5, (1, 1)), const(1, (1, 1))


def test_keras_kl_by_hand():
    z, n = torch.tensor([[0.5, 0.0]]), torch.tensor([[0.25, 2.0]])
    # clipped: z -> [0.5, 1e-7], n -> [0.25, 1]
    expected = 0.5 * np.log(0.5 / 0.25) + 1e-7 * np.log(1e-7 / 1.0)
    assert keras_kl(z, n).item() == pytest.approx(expected, rel=1e-5)


def test_loss_weights_by_hand():
    x = const(0)
    noise = const(0.5)  # KL(z, noise) = 0 when z = 0.5; for z = 0.25: 2 * 0.25 * log(0.5)
    parts = mex_loss(x, fake_outputs(), noise)
    kl2 = 2 * 0.25 * np.log(0.25 / 0.5)  # expert 2's own code z_21 (ARGUE's z_12 typo fixed)
    l1 = 0.7 * (0.5 * 4 + 0.3 * 1 + 0.2 * 0) + 0.3 * 0
    l2 = 0.7 * (0.5 * 0 + 0.3 * 0 + 0.2 * kl2) + 0.3 * 1
    lg = 0.7 * 1 + 0.3 * 4
    lt = 0.7 * 0.25 + 0.3 * 1
    assert parts["expert1"].item() == pytest.approx(l1)
    assert parts["expert2"].item() == pytest.approx(l2, rel=1e-5)
    assert parts["gate"].item() == pytest.approx(lg)
    assert parts["tower"].item() == pytest.approx(lt)
    assert parts["loss"].item() == pytest.approx(0.3 * l1 + 0.3 * l2 + 0.3 * lg + 0.1 * lt, rel=1e-5)


def test_score_weights_by_hand():
    s1 = 0.6 * 4 + 0.4 * 1
    s2 = 0.0
    expected = 0.4 * s1 + 0.4 * s2 + 0.1 * 0.25 + 0.1 * 1
    assert mex_score(const(0), fake_outputs()).item() == pytest.approx(expected)


def test_architecture_follows_argue(toy):
    det = MExCVAE(hidden_dims=(6, 4, 3), epochs=0).fit(toy.X_train)
    net = det.networks_["mex"]
    x = torch.from_numpy(toy.X_train[:5])
    with torch.no_grad():
        e1, e2, g, t1, t2 = net(x)
    assert [tuple(t.shape) for t in e1] == [(5, 4), (5, 3), (5, 4), (5, 8), (5, 3)]  # x_hat, z1, y_hat, y, z2
    assert [tuple(t.shape) for t in g] == [(5, 4), (5, 4), (5, 4), (5, 8)]  # gate code 4
    assert t1.shape == t2.shape == (5, 1) and ((t1 > 0) & (t1 < 1)).all()
    assert net.expert1.encoder2 is not None and net.gate.encoder2 is None
    assert not torch.equal(net.expert1.encoder.code[0].weight, net.expert1.encoder2.code[0].weight)  # fresh weights
    opt = det.optimizers_["main"]
    assert isinstance(opt, torch.optim.RMSprop)
    assert (opt.defaults["alpha"], opt.defaults["eps"], opt.defaults["lr"]) == (0.9, 1e-7, 1e-4)
    with pytest.raises(AdrayError, match="at least 2"):
        MExCVAE(hidden_dims=(4,)).fit(toy.X_train)


def test_same_seed_same_scores(toy_images):
    a = MExCVAE(**MExCVAE.smoke_params).fit(toy_images.X_train, seed=4).decision_function(toy_images.X_test)
    b = MExCVAE(**MExCVAE.smoke_params).fit(toy_images.X_train, seed=4).decision_function(toy_images.X_test)
    np.testing.assert_array_equal(a, b)


def test_beats_chance_clearly_on_breast_cancer():
    X, X_test, y_test = breast_cancer()
    det = MExCVAE(epochs=20, batch_size=32, learning_rate=1e-3).fit(X, seed=110)
    assert auc(y_test, det.decision_function(X_test)) > 0.85
