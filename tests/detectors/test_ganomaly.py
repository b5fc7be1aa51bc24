import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.ganomaly import GANomaly, conv_decoder, conv_encoder, default_enc_dims, generator_losses
from adray.errors import AdrayError
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays


def breast_cancer():
    ds = load("breast_cancer")
    split = make_split(ds, get_spec("breast_cancer").setting("unsupervised"), 110)
    arrays = prepare_arrays(ds, split)
    return arrays["train"], arrays["test"], split.y_test


def test_three_generator_losses_by_hand():
    x, x_rec = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.0]])
    z, z_rec = torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 0.0]])
    f_real, f_fake = torch.tensor([[3.0]]), torch.tensor([[1.0]])
    parts = generator_losses(x, x_rec, z, z_rec, f_real, f_fake)
    assert parts["adv"].item() == pytest.approx(4.0)  # feature matching, L2
    assert parts["con"].item() == pytest.approx(0.75)  # contextual, L1
    assert parts["enc"].item() == pytest.approx(2.0)  # encoder, L2


def test_paper_defaults():
    det = GANomaly()
    assert (det.w_adv, det.w_con, det.w_enc) == (1.0, 50.0, 1.0)
    assert (det.learning_rate, det.beta1, det.epochs, det.batch_size) == (2e-4, 0.5, 15, 64)
    assert (det.latent_dim, det.n_filters, det.image_size) == (100, 64, 32)
    assert default_enc_dims(30) == (16, 8) and default_enc_dims(64) == (32, 16)


def test_conv_networks_are_the_papers_dcgan_pyramid():
    enc = conv_encoder(32, 100, 1, 64)
    convs = [(m.in_channels, m.out_channels) for m in enc if isinstance(m, torch.nn.Conv2d)]
    assert convs == [(1, 64), (64, 128), (128, 256), (256, 100)]
    assert enc(torch.zeros(2, 1, 32, 32)).shape == (2, 100, 1, 1)
    dec = conv_decoder(32, 100, 1, 64)
    assert [m.out_channels for m in dec if isinstance(m, torch.nn.ConvTranspose2d)] == [256, 128, 64, 1]
    assert dec(torch.zeros(2, 100, 1, 1)).shape == (2, 1, 32, 32) and isinstance(dec[-1], torch.nn.Tanh)


def test_fit_wires_architecture_optimisers_and_image_resizing(toy, toy_images):
    det = GANomaly(**{**GANomaly.smoke_params, "epochs": 0}).fit(toy_images.X_train)
    assert det.architecture_ == "conv"
    x = det._prepare(torch.from_numpy(toy_images.X_train[:3]))
    assert x.shape == (3, 1, 8, 8) and x.min() >= -1 and x.max() <= 1
    opt = det.optimizers_["generator"]
    assert opt.defaults["betas"] == (0.5, 0.999) and opt.defaults["lr"] == 1e-3
    big = GANomaly(**{**GANomaly.smoke_params, "epochs": 0, "image_size": 16}).fit(toy_images.X_train)
    assert big._prepare(torch.from_numpy(toy_images.X_train[:3])).shape == (3, 1, 16, 16)
    dense = GANomaly(epochs=0).fit(toy.X_train)
    assert dense.architecture_ == "dense" and dense.enc_dims_ == (16, 8)
    assert dense.networks_["discriminator"].classifier[0].out_features == 1
    with pytest.raises(AdrayError, match=r"image_size=12 must be one of 8, 16, 32"):
        GANomaly(image_size=12).fit(toy_images.X_train)
    with pytest.raises(AdrayError, match="needs images"):
        GANomaly(architecture="conv").fit(toy.X_train)


def test_score_is_mean_abs_latent_difference(toy):
    det = GANomaly(**GANomaly.smoke_params).fit(toy.X_train, seed=1)
    X = torch.from_numpy(toy.X_test)
    with torch.no_grad():
        _, z, z_rec = det.networks_["generator"](X)
    np.testing.assert_allclose(det.decision_function(toy.X_test), (z - z_rec).abs().mean(1).numpy(), rtol=1e-5)


def test_reports_carry_the_three_losses_and_weights_combine_them(toy):
    reports = []
    GANomaly(**{**GANomaly.smoke_params, "epochs": 1}).fit(toy.X_train, callbacks=[reports.append])
    r = reports[0]
    assert {"adv", "con", "enc", "generator", "discriminator"} <= set(r)
    # per batch generator = adv + 50 con + enc; the epoch means keep that relation
    assert r["generator"] == pytest.approx(r["adv"] + 50 * r["con"] + r["enc"], rel=1e-5)


def test_discriminator_is_reinitialised_when_it_wins(toy, monkeypatch):
    monkeypatch.setattr("adray.detectors.ganomaly.D_REINIT_THRESHOLD", float("inf"))
    calls = []
    det = GANomaly(**{**GANomaly.smoke_params, "epochs": 1, "batch_size": 128})
    original = det._reinit_discriminator
    monkeypatch.setattr(det, "_reinit_discriminator", lambda: (calls.append(1), original()))
    det.fit(toy.X_train)
    assert len(calls) == 2  # once per step


def test_same_seed_same_scores(toy_images):
    a = GANomaly(**GANomaly.smoke_params).fit(toy_images.X_train, seed=4).decision_function(toy_images.X_test)
    b = GANomaly(**GANomaly.smoke_params).fit(toy_images.X_train, seed=4).decision_function(toy_images.X_test)
    np.testing.assert_array_equal(a, b)


def test_beats_chance_clearly_on_breast_cancer():
    X, X_test, y_test = breast_cancer()
    det = GANomaly(enc_dims=(32, 16), epochs=30, batch_size=32).fit(X, seed=110)
    assert auc(y_test, det.decision_function(X_test)) > 0.85
