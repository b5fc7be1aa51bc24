import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.devnet import DevNet, deviation_loss
from adray.errors import AdrayError
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays


def embedded(name, setting=None, seed=0):
    dataset = load(name)
    split = make_split(dataset, get_spec(name).setting(setting), seed)
    arrays = prepare_arrays(dataset, split)
    return arrays["train"], split.y_train, arrays["test"], split.y_test


def labels(n, k=16):
    y = np.zeros(n, dtype=np.int64)
    y[-k:] = 1
    return y


def test_deviation_loss_by_hand():
    scores = torch.tensor([0.0, 1.0, 6.0, 3.0])
    y = torch.tensor([0.0, 0.0, 1.0, 1.0])
    # inliers |dev|: 0, 1; anomalies max(0, 5 - dev): 0, 2
    assert deviation_loss(scores, y, 0.0, 1.0).item() == pytest.approx(0.75)
    # reference mean 1, std 2: dev = -0.5, 0, 2.5, 1 -> 0.5, 0, 2.5, 4
    assert deviation_loss(scores, y, 1.0, 2.0).item() == pytest.approx(7 / 4)
    assert deviation_loss(scores, y, 0.0, 1.0, margin=2.0).item() == pytest.approx(0.25)


def test_needs_a_known_anomaly(toy):
    with pytest.raises(AdrayError, match="at least one known anomaly"):
        DevNet(epochs=1).fit(toy.X_train, np.zeros(len(toy.X_train), dtype=np.int64))
    with pytest.raises(AdrayError, match="semi-supervised: pass y"):
        DevNet(epochs=1).fit(toy.X_train)


def test_defaults_follow_the_paper(toy):
    det = DevNet(epochs=0).fit(toy.X_train, labels(len(toy.X_train)), seed=4)
    d = DevNet()
    assert (d.epochs, d.steps_per_epoch, d.batch_size, d.margin, d.n_reference, d.l2) == (50, 20, 512, 5.0, 5000, 0.01)
    net = det.networks_["net"]
    assert [m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)] == [20, 1]
    opt = det.optimizers_["main"]
    assert isinstance(opt, torch.optim.RMSprop)
    assert (opt.defaults["lr"], opt.defaults["alpha"], opt.defaults["eps"]) == (1e-3, 0.9, 1e-7)
    # the N(0, 1) reference: 5000 draws, fixed per seed
    assert abs(det.ref_mean_) < 0.05 and abs(det.ref_std_ - 1) < 0.05
    other = DevNet(epochs=0).fit(toy.X_train, labels(len(toy.X_train)), seed=4)
    assert (other.ref_mean_, other.ref_std_) == (det.ref_mean_, det.ref_std_)
    with torch.no_grad():
        w = net.hidden.dense0.weight
        assert net.l2_penalty().item() == pytest.approx((w ** 2).sum().item())
    deep = DevNet(hidden_dims=(1000, 250, 20), epochs=0).fit(toy.X_train, labels(len(toy.X_train)))
    assert [m.out_features for m in deep.networks_["net"].modules() if isinstance(m, torch.nn.Linear)] == \
        [1000, 250, 20, 1]


def test_batches_are_half_anomalies_and_steps_make_an_epoch(toy):
    seen = []

    class Spy(DevNet):
        def train_step(self, stage, batch):
            seen.append((len(batch[1]), float(batch[1].sum())))
            return super().train_step(stage, batch)

    reports = []
    Spy(epochs=2, steps_per_epoch=3, batch_size=10).fit(toy.X_train, labels(len(toy.X_train), 2),
                                                          callbacks=[reports.append])
    assert seen == [(10, 5.0)] * 6 and len(reports) == 2


def test_beats_chance_on_breast_cancer_with_the_known_anomalies():
    X, y, X_test, y_test = embedded("breast_cancer")
    det = DevNet(epochs=5).fit(X, y, seed=0)
    assert auc(y_test, det.decision_function(X_test)) > 0.9
