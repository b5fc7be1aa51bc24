import io

import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.components.keras_like import Standardize
from adray.detectors.components.svdd import (
    BranchedLinear,
    BranchedSVDDAutoEncoder,
    ConvSVDDAutoEncoder,
    DenseSVDDAutoEncoder,
    JoinBranches,
    MLPSVDDAutoEncoder,
    center,
    is_conv_shape,
    svdd_loss,
)
from adray.detectors.deepsvdd import DeepSVDD
from adray.errors import AdrayError
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays


def embedded(name, setting=None, seed=0):
    dataset = load(name)
    split = make_split(dataset, get_spec(name).setting(setting), seed)
    arrays = prepare_arrays(dataset, split)
    return arrays["train"], split.y_train, arrays["test"], split.y_test


def test_center_rule_floors_small_coordinates_keeping_the_sign():
    z = torch.tensor([[0.10, -0.02, 0.0, 1.0, -0.4, 0.3],
                      [-0.04, -0.06, 0.0, 0.0, -0.2, -0.1]])
    # means: 0.03, -0.04, 0 (exact), 0.5, -0.3, 0.1 (not below 0.1: kept)
    expected = torch.tensor([0.1, -0.1, -0.1, 0.5, -0.3, 0.1])
    torch.testing.assert_close(center(z), expected)


def test_svdd_loss_is_the_mean_squared_distance():
    assert svdd_loss(torch.tensor([1.0, 2.0, 6.0])).item() == pytest.approx(3.0)


@pytest.mark.parametrize(("shape", "conv"), [((8, 8), True), ((28, 28), True), ((28, 28, 1), True),
                                             ((32, 32, 3), True), ((30,), False), ((40, 6), False),
                                             ((6, 6), False), ((4, 4), False), ((8, 8, 8), False)])
def test_conv_rule(shape, conv):
    assert is_conv_shape(shape) is conv


def test_mlp_architecture_is_ruffs_tabular_network_on_standardised_input(toy):
    det = DeepSVDD(architecture="mlp", epochs=0).fit(toy.X_train)
    ae = det.networks_["ae"]
    assert isinstance(ae, MLPSVDDAutoEncoder) and det.architecture_ == "mlp" and det.hidden_dims_ == (128, 64, 32)
    assert all(m.bias is None for m in ae.modules() if isinstance(m, torch.nn.Linear))
    norms = [m for m in ae.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 4 and all(not m.affine and m.eps == 1e-4 for m in norms)  # no learnable shift
    assert [name for name, _ in ae.encoder.named_children()][-1] == "code" and ae.encoder.code.out_features == 32
    assert [name for name, _ in ae.decoder.named_children()][-1] == "output"  # linear: standardised units
    np.testing.assert_allclose(ae.encoder.standardize.mean.numpy(), toy.X_train.mean(axis=0), rtol=1e-5)
    phi = det.networks_["phi"]
    assert {"standardize.mean", "standardize.scale"} <= set(phi.state_dict())
    opt = det.optimizers_
    assert opt["pretrain"].defaults["lr"] == 1e-4 and opt["main"].defaults["lr"] == 1e-4
    assert det.pretrain_epochs_ == 150  # Ruff et al.'s AE stage when pretrain_epochs is not set


def test_branched_architecture_is_pyods_relu_network_in_independent_copies(toy):
    reports = []
    det = DeepSVDD(epochs=1, batch_size=64).fit(toy.X_train, callbacks=[reports.append])
    ae, phi = det.networks_["ae"], det.networks_["phi"]
    assert isinstance(ae, BranchedSVDDAutoEncoder) and det.architecture_ == "branched"
    defaults = DeepSVDD()
    assert det.hidden_dims_ == (64, 32) and (defaults.n_branches, defaults.batch_size, defaults.epochs) == (5, 32, 100)
    assert det.pretrain_epochs_ == 0 and [r["stage"] for r in reports] == ["train"]  # PyOD's recipe: no AE stage
    assert [m.weight.shape for m in phi.modules() if isinstance(m, BranchedLinear)] == [(5, 8, 64), (5, 64, 32)]
    assert [type(m) for m in phi.children()][-2:] == [torch.nn.ReLU, JoinBranches]  # a ReLU code, as PyOD's
    assert phi(torch.from_numpy(toy.X_test)).shape == (len(toy.X_test), 5 * 32)
    assert ae(torch.from_numpy(toy.X_test)).shape == (len(toy.X_test), 5 * 8)  # a reconstruction per branch


def test_one_branch_computes_pyods_network_and_branches_train_as_if_alone(toy):
    from pyod.models.deep_svdd import InnerDeepSVDD

    X = torch.from_numpy(toy.X_train)
    standardize = Standardize.fit(toy.X_train)
    one = BranchedSVDDAutoEncoder(standardize, (16, 8), 0.0, 1).encoder
    pyod = InnerDeepSVDD(8, use_ae=False, hidden_neurons=[16, 8], hidden_activation="relu",
                         output_activation="sigmoid", dropout_rate=0.2, l2_regularizer=0.0).model.eval()
    ours = [m for m in one.modules() if isinstance(m, BranchedLinear)]
    theirs = [m for m in pyod.modules() if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for mine, linear in zip(ours, theirs, strict=True):
            mine.weight.copy_(linear.weight.T[None])
        torch.testing.assert_close(one(X), pyod(standardize(X)))

    # three branches trained together: branch 0 follows the very steps a lone copy of it takes
    three = BranchedSVDDAutoEncoder(standardize, (16, 8), 0.0, 3).encoder
    with torch.no_grad():
        for mine, lone in zip([m for m in three.modules() if isinstance(m, BranchedLinear)], ours, strict=True):
            lone.weight.copy_(mine.weight[:1])
    centres = [center(net(X).detach()) for net in (three, one)]
    torch.testing.assert_close(centres[0][:8], centres[1])
    optimisers = [torch.optim.Adam(net.parameters(), lr=1e-2) for net in (three, one)]
    for batch in X.split(64):
        for net, c, opt in zip((three, one), centres, optimisers, strict=True):
            opt.zero_grad()
            svdd_loss(((net(batch) - c) ** 2).sum(dim=1)).backward()
            opt.step()
    with torch.no_grad():
        torch.testing.assert_close(three(X)[:, :8], one(X))


def test_mlp_scores_ignore_each_features_unit(toy):
    params = {"pretrain_epochs": 2, "epochs": 2, "batch_size": 64}
    det = DeepSVDD(**params).fit(toy.X_train, seed=1)
    a, b = np.linspace(0.5, 40.0, toy.X_train.shape[1]).astype(np.float32), np.float32(-3.0)
    rescaled = DeepSVDD(**params).fit(toy.X_train * a + b, seed=1)
    np.testing.assert_allclose(rescaled.decision_function(toy.X_test * a + b), det.decision_function(toy.X_test),
                               rtol=1e-3, atol=1e-6)


def test_a_last_batch_of_one_row_is_skipped(toy):
    X = np.concatenate([toy.X_train, toy.X_train[:1]])  # 257 rows, batch 64: 4 full batches and 1 row
    det = DeepSVDD(pretrain_epochs=1, epochs=3, batch_size=64).fit(X)
    assert det.train_steps_ == 3 * 4 and np.isfinite(det.decision_function(toy.X_test)).all()


def test_dense_architecture_is_the_seeds_bias_free_leaky_and_linear_coded(toy):
    det = DeepSVDD(architecture="dense", dropout=0.1, learning_rate=1e-3, pretrain_epochs=0, epochs=0,
                   hidden_dims=(6, 3)).fit(toy.X_train)
    ae = det.networks_["ae"]
    assert isinstance(ae, DenseSVDDAutoEncoder) and det.architecture_ == "dense"
    assert all(m.bias is None for m in ae.modules() if isinstance(m, torch.nn.Linear))
    assert [m.negative_slope for m in ae.modules() if isinstance(m, torch.nn.LeakyReLU)] == [0.01] * 2
    assert list(ae.encoder.named_children())[-1][0] == "code"  # linear code: no activation after it
    assert ae.encoder.code.out_features == 3 and ae.encoder.dropout0.p == 0.1
    assert isinstance(ae.decoder.output_act, torch.nn.Sigmoid)
    opt = det.optimizers_
    assert opt["pretrain"].defaults["lr"] == 1e-4 and opt["main"].defaults["lr"] == 1e-3
    assert opt["main"].defaults["eps"] == 1e-7 and opt["main"].defaults["weight_decay"] == 0


def test_conv_architecture_follows_section_2_7(toy_images):
    det = DeepSVDD(pretrain_epochs=0, epochs=0).fit(toy_images.X_train)
    ae = det.networks_["ae"]
    assert isinstance(ae, ConvSVDDAutoEncoder) and det.architecture_ == "conv"
    enc = ae.encoder
    assert (enc.conv0.out_channels, enc.conv0.kernel_size, enc.conv1.out_channels) == (8, (5, 5), 4)
    assert enc.bn0.eps == 1e-4 and not enc.bn0.affine and enc.code.out_features == 32
    assert all(getattr(m, "bias", None) is None for m in ae.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    x = torch.rand(5, 28, 28)
    big = ConvSVDDAutoEncoder(28, 1)
    assert big.encoder(x).shape == (5, 32) and big(x).shape == (5, 784)
    with pytest.raises(AdrayError, match="architecture='conv' needs square images"):
        DeepSVDD(architecture="conv").fit(np.zeros((4, 30), np.float32))


def test_phi_copies_the_encoder_and_c_is_its_mean_and_scores_are_squared_distances(toy):
    det = DeepSVDD(pretrain_epochs=2, epochs=0, dropout=0.0).fit(toy.X_train)
    phi, enc = det.networks_["phi"], det.networks_["ae"].encoder
    for (name, a), (_, b) in zip(phi.state_dict().items(), enc.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    with torch.no_grad():
        z = phi(torch.from_numpy(toy.X_train))
        torch.testing.assert_close(det.c_, center(z))
        expected = ((phi(torch.from_numpy(toy.X_test)) - det.c_) ** 2).sum(dim=1).double().numpy()
    np.testing.assert_allclose(det.decision_function(toy.X_test), expected, rtol=1e-5)


def test_keras_learning_rate_decay(toy):
    det = DeepSVDD(pretrain_epochs=1, epochs=3, batch_size=64, lr_decay=0.1).fit(toy.X_train)
    steps = 3 * 4  # 256 rows / 64
    assert det.train_steps_ == steps
    assert det.optimizers_["main"].param_groups[0]["lr"] == pytest.approx(1e-4 / (1 + 0.1 * (steps - 1)))


def test_resume_in_the_middle_of_the_svdd_stage(toy):
    kwargs = {"seed": 2}
    params = {"pretrain_epochs": 2, "epochs": 4, "batch_size": 64}
    full = DeepSVDD(**params).fit(toy.X_train, **kwargs)
    states = {}
    det = DeepSVDD(**params)

    def grab(report):
        if report["iteration"] == 4:  # "train" epoch 2
            buffer = io.BytesIO()
            torch.save(det.get_state(), buffer)
            buffer.seek(0)
            states["s"] = torch.load(buffer, weights_only=True)

    det.fit(toy.X_train, callbacks=[grab], **kwargs)
    assert states["s"]["stage"] == "train"
    reports = []
    resumed = DeepSVDD(**params).fit(toy.X_train, state=states["s"], callbacks=[reports.append], **kwargs)
    assert [(r["stage"], r["epoch"]) for r in reports] == [("train", 3), ("train", 4)]
    np.testing.assert_array_equal(resumed.decision_function(toy.X_test), full.decision_function(toy.X_test))
    np.testing.assert_array_equal(resumed.c_.numpy(), full.c_.numpy())


def test_training_reduces_the_loss_and_beats_chance_on_breast_cancer():
    X, _, X_test, y_test = embedded("breast_cancer", "unsupervised")
    aucs = []
    # the default network, 30 epochs: over 20 seeds measured the test AUC was 0.947-0.966 (five branches
    # average out the seed); the bar leaves 0.05 of margin on the median of three
    for seed in range(3):
        reports = []
        det = DeepSVDD(epochs=30)
        det.fit(X, seed=seed, X_val=X_test, y_val=y_test, callbacks=[reports.append])
        assert len(reports) == 30 and reports[-1]["loss"] < reports[0]["loss"]
        aucs.append(auc(y_test, det.decision_function(X_test)))
    assert np.median(aucs) > 0.9, aucs


def test_seeds_architecture_is_the_papers_pair_conv_for_images_dense_otherwise(toy, toy_images):
    rows = DeepSVDD(architecture="seeds", pretrain_epochs=0, epochs=0).fit(toy.X_train)
    images = DeepSVDD(architecture="seeds", pretrain_epochs=0, epochs=0).fit(toy_images.X_train)
    assert isinstance(rows.networks_["ae"], DenseSVDDAutoEncoder) and rows.architecture_ == "dense"
    assert isinstance(images.networks_["ae"], ConvSVDDAutoEncoder) and images.architecture_ == "conv"
