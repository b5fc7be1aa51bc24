import math

import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.dagmm import (
    DAGMM,
    covariance_penalty,
    gmm_parameters,
    reconstruction_features,
    sample_energy,
)
from adray.errors import AdrayError
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays


def breast_cancer():
    ds = load("breast_cancer")
    split = make_split(ds, get_spec("breast_cancer").setting("unsupervised"), 110)
    arrays = prepare_arrays(ds, split)
    return arrays["train"], arrays["test"], split.y_test


def test_architecture_follows_the_seeds(toy):
    det = DAGMM(comp_hiddens=(60, 30, 10), est_hiddens=(10, 4), epochs=0).fit(toy.X_train)  # A3's sizes
    net = det.networks_["dagmm"]
    linear = [(m.in_features, m.out_features) for m in net.encoder if isinstance(m, torch.nn.Linear)]
    assert linear == [(8, 60), (60, 30), (30, 10)]
    assert [m.out_features for m in net.decoder if isinstance(m, torch.nn.Linear)] == [30, 60, 8]
    assert isinstance(net.encoder.act0, torch.nn.Tanh) and isinstance(net.encoder.output, torch.nn.Linear)
    est = [(m.in_features, m.out_features) for m in net.estimation if isinstance(m, torch.nn.Linear)]
    assert est == [(12, 10), (10, 4)]  # z = 10-d code + 2 reconstruction features; K = 4
    assert net.estimation.dropout0.p == 0.5
    opt = det.optimizers_["main"]
    assert opt.defaults["lr"] == 1e-4 and opt.defaults["eps"] == 1e-7
    default = DAGMM()  # ARGUE tabular, paper lambdas
    assert (default.comp_hiddens, default.est_hiddens, default.lambda1, default.lambda2) == ((12, 4, 1), (10, 2), 0.1, 0.005)


def test_reconstruction_features_by_hand():
    x = torch.tensor([[3.0, 4.0]])
    rec = torch.tensor([[3.0, 0.0]])
    rel, cos = reconstruction_features(x, rec)[0]
    assert rel.item() == pytest.approx(4.0 / (5.0 + 1e-3))
    assert cos.item() == pytest.approx(9.0 / (15.0 + 1e-3))


def test_gmm_parameters_and_energy_by_hand():
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]], dtype=torch.float64)
    gamma = torch.tensor([[1.0, 0.0]] * 2 + [[0.5, 0.5]] * 2, dtype=torch.float64)
    phi, mu, sigma = gmm_parameters(z, gamma)
    np.testing.assert_allclose(phi, [0.75, 0.25])
    np.testing.assert_allclose(mu[1], [1.0, 2.0])
    np.testing.assert_allclose(sigma[1], [[1.0, 0.0], [0.0, 0.0]], atol=1e-12)
    # one unit Gaussian: E(z) = ||z - mu||^2 / 2 + log(2 pi) (d = 2), up to the 1e-6 ridge
    one = (torch.ones(1, dtype=torch.float64), torch.zeros(1, 2, dtype=torch.float64),
           torch.eye(2, dtype=torch.float64)[None])
    energy = sample_energy(torch.tensor([[1.0, 1.0]], dtype=torch.float64), *one)
    assert energy.item() == pytest.approx(1.0 + math.log(2 * math.pi), rel=1e-5)
    assert covariance_penalty(torch.diag(torch.tensor([2.0, 4.0]))[None]).item() == pytest.approx(0.75)


def test_energy_is_finite_and_the_training_set_gmm_is_valid(toy):
    reports = []
    det = DAGMM(**DAGMM.smoke_params).fit(toy.X_train, seed=1, callbacks=[reports.append])
    phi, mu, sigma = det.gmm_phi_, det.gmm_mu_, det.gmm_sigma_
    assert phi.shape == (2,) and mu.shape == (2, 3) and sigma.shape == (2, 3, 3)  # d = 1 + 2
    assert phi.sum().item() == pytest.approx(1.0) and (phi > 0).all()
    assert torch.allclose(sigma, sigma.transpose(1, 2))
    assert (torch.linalg.eigvalsh(sigma + 1e-6 * torch.eye(3, dtype=sigma.dtype)) > 0).all()
    scores = det.decision_function(toy.X_test)
    assert np.isfinite(scores).all()
    assert {"loss", "reconstruction", "energy", "cov_penalty"} <= set(reports[-1])
    assert all(math.isfinite(r["energy"]) for r in reports)


def test_score_uses_the_gmm_of_the_whole_training_set(toy):
    det = DAGMM(**DAGMM.smoke_params).fit(toy.X_train, seed=2)
    net = det.networks_["dagmm"].eval()
    with torch.no_grad():
        _, z, gamma = net(torch.from_numpy(toy.X_train))
        phi, mu, sigma = gmm_parameters(z, gamma)
        expected = sample_energy(net(torch.from_numpy(toy.X_test))[1], phi, mu, sigma).numpy()
    np.testing.assert_allclose(det.gmm_phi_.numpy(), phi.numpy(), rtol=1e-9)
    np.testing.assert_allclose(det.decision_function(toy.X_test), expected, rtol=1e-6)


def test_same_seed_same_scores(toy_images):
    a = DAGMM(**DAGMM.smoke_params).fit(toy_images.X_train, seed=4).decision_function(toy_images.X_test)
    b = DAGMM(**DAGMM.smoke_params).fit(toy_images.X_train, seed=4).decision_function(toy_images.X_test)
    np.testing.assert_array_equal(a, b)


def test_bad_hyperparameters_are_rejected(toy):
    with pytest.raises(AdrayError, match="comp_hiddens"):
        DAGMM(comp_hiddens=(4, 0)).fit(toy.X_train)
    with pytest.raises(AdrayError, match="dropout"):
        DAGMM(dropout=1.0).fit(toy.X_train)


def test_beats_chance_clearly_on_breast_cancer():
    X, X_test, y_test = breast_cancer()
    det = DAGMM(comp_hiddens=(60, 30, 10), est_hiddens=(10, 4), epochs=50, batch_size=64,
                learning_rate=1e-3).fit(X, seed=110)
    assert auc(y_test, det.decision_function(X_test)) > 0.85
