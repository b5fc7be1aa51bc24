import numpy as np
import pytest
import torch

from adray.detectors.ae import AutoEncoder
from adray.detectors.components.autoencoders import DenseAutoEncoder, StandardizedAutoEncoder, default_hidden_dims
from adray.errors import AdrayError
from adray.metrics import auc


def low_rank(n_train=512, n_test=128, d=16, seed=0):
    """Normal rows lie near a 2-D manifold; anomalies keep each column's values but not their relations."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(2, d)) * 1.5

    def normal(n):
        return 1.0 / (1.0 + np.exp(-(rng.normal(size=(n, 2)) @ weights)))

    anomalous = normal(n_test)
    for j in range(d):
        anomalous[:, j] = rng.permutation(anomalous[:, j])
    X_test = np.concatenate([normal(n_test), anomalous]).astype(np.float32)
    return normal(n_train).astype(np.float32), X_test, np.r_[np.zeros(n_test), np.ones(n_test)].astype(int)


@pytest.mark.parametrize("architecture", ["mlp", "dense"])
def test_learns_structure_an_untrained_network_cannot_see(architecture):
    X, X_test, y_test = low_rank()
    params = {"batch_size": 16, "dropout": 0.0, "hidden_dims": (8, 4), "architecture": architecture}
    untrained = AutoEncoder(epochs=0, **params).fit(X)
    assert auc(y_test, untrained.decision_function(X_test)) < 0.7
    aucs, drops = [], []
    # medians over 3 seeds: the trained AUC is 0.99-1.0 for most seeds, but 3 of 72 measured fell below 0.9
    # and 2 of those never left their starting point (loss unchanged, AUC ~0.54)
    for seed in range(3):
        reports = []
        trained = AutoEncoder(epochs=30, **params).fit(X, seed=seed, callbacks=[reports.append])
        aucs.append(auc(y_test, trained.decision_function(X_test)))
        drops.append(reports[0]["loss"] - reports[-1]["loss"])
    assert np.median(aucs) > 0.9, aucs
    assert np.median(drops) > 0.1, drops


def test_score_is_the_per_sample_mse_of_the_reconstruction(toy_images):
    det = AutoEncoder(architecture="dense", epochs=2).fit(toy_images.X_train)
    X = toy_images.X_test
    reconstruction = det.reconstruct(X)
    assert reconstruction.shape == X.shape and reconstruction.dtype == np.float32
    assert reconstruction.min() >= 0.0 and reconstruction.max() <= 1.0
    mse = ((reconstruction.astype(np.float64) - X) ** 2).reshape(len(X), -1).mean(axis=1)
    np.testing.assert_allclose(det.decision_function(X), mse, rtol=1e-5)


@pytest.mark.parametrize(("n_inputs", "dims"), [
    (64, (32, 16, 8, 4)), (30, (15, 7, 3, 2)), (121, (60, 30, 15, 8)), (784, (392, 196, 98, 49)),
    (16, (8, 4, 2)), (4, (2,)), (1, (2,)),
])
def test_hidden_dims_rule(n_inputs, dims):
    assert default_hidden_dims(n_inputs) == dims


def test_mlp_score_is_the_mse_in_standardised_units_and_ignores_feature_scales(toy):
    det = AutoEncoder(epochs=2).fit(toy.X_train, seed=1)
    net = det.networks_["ae"]
    assert isinstance(net, StandardizedAutoEncoder) and det.hidden_dims_ == (64, 32)
    assert "output_act" not in dict(net.ae.decoder.named_children())  # linear output
    np.testing.assert_allclose(net.standardize.mean.numpy(), toy.X_train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(net.standardize.scale.numpy(), toy.X_train.std(axis=0), rtol=1e-5)
    assert {"standardize.mean", "standardize.scale"} <= set(net.state_dict())  # checkpointed with the weights
    X = toy.X_test
    std = (X - toy.X_train.mean(axis=0)) / toy.X_train.std(axis=0)
    reconstruction = det.reconstruct(X)
    std_rec = (reconstruction - toy.X_train.mean(axis=0)) / toy.X_train.std(axis=0)
    np.testing.assert_allclose(det.decision_function(X), ((std_rec - std) ** 2).mean(axis=1), rtol=1e-3)
    # standardising makes the model blind to each feature's unit: rescaled data, same scores (any range works)
    a, b = np.linspace(0.5, 40.0, X.shape[1]).astype(np.float32), np.float32(-3.0)
    rescaled = AutoEncoder(epochs=2).fit(toy.X_train * a + b, seed=1)
    np.testing.assert_allclose(rescaled.decision_function(X * a + b), det.decision_function(X), rtol=1e-3, atol=1e-5)


def test_architecture_follows_the_seeds(toy_images):
    det = AutoEncoder(architecture="dense", epochs=0).fit(toy_images.X_train)
    assert det.hidden_dims_ == (32, 16, 8, 4)
    net = det.networks_["ae"]
    enc = [name for name, _ in net.encoder.named_children()]
    assert enc == ["dense0", "act0", "dropout0", "dense1", "act1", "dropout1", "dense2", "act2", "dropout2",
                   "code", "code_act"]
    dec = [(name, getattr(layer, "out_features", None)) for name, layer in net.decoder.named_children()]
    assert [size for _, size in dec if size] == [8, 16, 32, 64]
    assert dec[-1][0] == "output_act" and isinstance(net.decoder.output_act, torch.nn.Sigmoid)
    assert net.encoder.dropout0.p == 0.1
    opt = det.optimizers_["main"]
    assert opt.defaults["eps"] == 1e-7 and opt.defaults["lr"] == 1e-3
    no_dropout = DenseAutoEncoder(10, (5, 2), dropout=0.0)
    assert not any(isinstance(m, torch.nn.Dropout) for m in no_dropout.modules())


def test_input_outside_unit_range_and_bad_hyperparameters_are_rejected(toy):
    with pytest.raises(AdrayError, match=r"scaled into \[0, 1\]; it spans \[-1, "):
        AutoEncoder(architecture="dense", epochs=1).fit(toy.X_train * 2 - 1)
    with pytest.raises(AdrayError, match="architecture='seeds' must be one of 'mlp', 'dense'"):
        AutoEncoder(architecture="seeds").fit(toy.X_train)
    with pytest.raises(AdrayError, match=r"hidden_dims=\(4, 0\) must be None or a non-empty sequence of positive"):
        AutoEncoder(hidden_dims=(4, 0)).fit(toy.X_train)
    with pytest.raises(AdrayError, match=r"dropout=1.0 must be a number in \[0, 1\)"):
        AutoEncoder(dropout=1.0).fit(toy.X_train)


def test_divergence_is_an_error_not_nan_scores(toy):
    det = AutoEncoder(epochs=1).fit(toy.X_train)
    with torch.no_grad():
        det.networks_["ae"].ae.decoder.output.bias[0] = float("nan")
    with pytest.raises(AdrayError, match="produced non-finite scores"):
        det.decision_function(toy.X_test)

    class Diverging(AutoEncoder):
        def train_step(self, stage, batch):
            return {"loss": super().train_step(stage, batch)["loss"] * float("inf")}

    with pytest.raises(AdrayError, match=r"non-finite loss \(inf\) in stage 'train', epoch 1"):
        Diverging(epochs=2).fit(toy.X_train)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_cuda_request_without_cuda_falls_back_to_cpu(toy):
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        det = AutoEncoder(epochs=1).fit(toy.X_train, device="cuda")
    assert det.device_ == "cpu"
