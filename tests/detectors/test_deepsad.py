import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.components.svdd import center, sad_loss, svdd_loss
from adray.detectors.deepsad import DeepSAD
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays


def embedded(name, setting=None, seed=0):
    dataset = load(name)
    split = make_split(dataset, get_spec(name).setting(setting), seed)
    arrays = prepare_arrays(dataset, split)
    return arrays["train"], split.y_train, arrays["test"], split.y_test


def test_sad_loss_on_labelled_anomalies_by_hand():
    dist = torch.tensor([1.0, 3.0, 0.5, 4.0])
    sign = torch.tensor([1.0, 1.0, -1.0, -1.0])  # two normals, two known anomalies
    eps = 1e-6
    expected = ((1 + eps) + (3 + eps) + 1 / (0.5 + eps) + 1 / (4 + eps)) / 4  # = (4 + 2 + 0.25) / 4
    assert sad_loss(dist, sign).item() == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(1.5625, rel=1e-5)
    weighted = ((1 + eps) + (3 + eps) + 2 / (0.5 + eps) + 2 / (4 + eps)) / 4
    assert sad_loss(dist, sign, eta=2.0).item() == pytest.approx(weighted, rel=1e-6)
    # an anomaly far from c costs little, one at c a lot
    assert sad_loss(torch.tensor([100.0]), torch.tensor([-1.0])).item() == pytest.approx(0.01, rel=1e-4)
    assert sad_loss(torch.tensor([0.0]), torch.tensor([-1.0])).item() == pytest.approx(1e6)


def test_with_branches_each_branch_has_its_own_objective():
    dist = torch.tensor([[0.5, 2.0, 1e-3], [1.0, 0.1, 4.0], [3.0, 0.2, 0.3]])  # (rows, branches)
    sign = torch.tensor([1.0, -1.0, 1.0])
    per_branch = [sad_loss(dist[:, k], sign, eta=2.0) for k in range(3)]
    assert sad_loss(dist, sign, eta=2.0).item() == pytest.approx(sum(per_branch).item())
    assert svdd_loss(dist).item() == pytest.approx(svdd_loss(dist.sum(dim=1)).item())  # one-class: the same


def test_centre_and_pretraining_use_the_rows_labelled_normal(toy):
    X = toy.X_train.copy()
    y = np.zeros(len(X), dtype=np.int64)
    y[:20] = 1
    X[:20] = 5.0  # known anomalies far away: they must not move c
    det = DeepSAD(pretrain_epochs=0, epochs=0, dropout=0.0).fit(X, y)
    with torch.no_grad():
        z = det.networks_["phi"](torch.from_numpy(X[20:]))
    torch.testing.assert_close(det.c_, center(z))
    data = det.stage_data("train", X, y, None)
    np.testing.assert_array_equal(data[1], np.r_[-np.ones(20), np.ones(len(X) - 20)].astype(np.float32))


def test_known_anomalies_are_pushed_away_and_it_beats_chance_on_breast_cancer():
    X, y, X_test, y_test = embedded("breast_cancer")  # default setting: 20 known anomalies
    assert y.sum() == 20
    pushed, aucs = [], []
    # the default network, 10 epochs: over 20 seeds measured every known anomaly scored above the normal
    # median and the test AUC was 0.968-0.983; medians over 3 seeds, with margins of 0.2 and 0.07
    for seed in range(3):
        reports = []
        det = DeepSAD(epochs=10)
        det.fit(X, y, seed=seed, callbacks=[reports.append])
        assert [r["stage"] for r in reports] == ["train"] * 10
        train_scores = det.decision_function(X)
        pushed.append(np.mean(train_scores[y == 1] > np.median(train_scores[y == 0])))
        aucs.append(auc(y_test, det.decision_function(X_test)))
    assert np.median(pushed) >= 0.8, pushed
    assert np.median(aucs) > 0.9, aucs


def test_same_seed_same_scores(toy):
    y = np.zeros(len(toy.X_train), dtype=np.int64)
    y[:5] = 1
    params = {"pretrain_epochs": 1, "epochs": 2, "batch_size": 64}
    first = DeepSAD(**params).fit(toy.X_train, y, seed=3).decision_function(toy.X_test)
    np.testing.assert_array_equal(first, DeepSAD(**params).fit(toy.X_train, y, seed=3).decision_function(toy.X_test))


def test_resume_in_the_middle_of_the_sad_stage(toy):
    y = np.zeros(len(toy.X_train), dtype=np.int64)
    y[:8] = 1
    params = {"pretrain_epochs": 1, "epochs": 3, "batch_size": 64}
    full = DeepSAD(**params).fit(toy.X_train, y, seed=1)
    det, states = DeepSAD(**params), {}
    det.fit(toy.X_train, y, seed=1, callbacks=[lambda r: states.setdefault(r["iteration"], det.get_state())])
    resumed = DeepSAD(**params).fit(toy.X_train, y, seed=1, state=states[2])
    np.testing.assert_array_equal(resumed.decision_function(toy.X_test), full.decision_function(toy.X_test))
