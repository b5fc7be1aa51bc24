import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.repen import REPEN, lesinn_scores, split_candidates, triplet_loss
from adray.errors import AdrayError
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays


def embedded(name, setting=None, seed=0):
    dataset = load(name)
    split = make_split(dataset, get_spec(name).setting(setting), seed)
    arrays = prepare_arrays(dataset, split)
    return arrays["train"], split.y_train, arrays["test"], split.y_test


def test_triplet_loss_by_hand():
    anchor = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    positive = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    negative = torch.tensor([[3.0, 0.0], [0.0, 4.0]])
    # squared distances: pos 1, 1; neg 9, 16 -> max(0, 10 - 8) = 2, max(0, 10 - 15) = 0
    assert triplet_loss(anchor, positive, negative, margin=10.0).item() == pytest.approx(1.0)
    # the default margin 1000: 1000 - 8 and 1000 - 15
    assert triplet_loss(anchor, positive, negative).item() == pytest.approx((992 + 985) / 2)


def test_lesinn_is_the_mean_nearest_neighbour_distance_over_the_ensemble():
    X = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    refs = torch.tensor([[[0.0, 1.0], [10.0, 0.0]],   # member 1: nearest distances 1 and sqrt(9+9)
                         [[0.0, 0.0], [3.0, 0.0]]])   # member 2: 0 and 4
    expected = torch.tensor([(1 + 0) / 2, (np.sqrt(18) + 4) / 2], dtype=torch.float32)
    torch.testing.assert_close(lesinn_scores(X, refs), expected)


def test_candidates_cut_at_mean_plus_1_7321_std_else_the_top_ten():
    scores = np.r_[np.zeros(99), 10.0]
    inliers, outliers = split_candidates(scores)
    assert outliers.tolist() == [99] and len(inliers) == 99
    flat = np.arange(20, dtype=float)  # uniform: mean + 1.73 std = 9.5 + 10 >= max -> top 10
    inliers, outliers = split_candidates(flat)
    assert outliers.tolist() == list(range(10, 20)) and inliers.tolist() == list(range(10))


def test_triplets_follow_the_candidates(toy):
    X = toy.X_train.copy()
    X[:, 0] = np.arange(len(X)) / len(X)  # row id in column 0 (values stay in [0, 1])
    seen = []

    class Spy(REPEN):
        def train_step(self, stage, batch):
            seen.append([np.rint(b[:, 0].numpy() * len(X)).astype(int) for b in batch])
            return super().train_step(stage, batch)

    det = Spy(epochs=2, steps_per_epoch=4, batch_size=32).fit(X, seed=1)
    inliers, outliers = split_candidates(
        lesinn_scores(torch.from_numpy(X), det.references_.flatten(2)).numpy().astype(np.float64))
    assert det.n_outlier_candidates_ == len(outliers) > 0
    for anchor, positive, negative in seen:
        assert np.isin(anchor, inliers).all() and np.isin(positive, inliers).all()
        assert np.isin(negative, outliers).all() and (anchor != positive).all()
    assert len(seen) == 8


def test_defaults_and_epoch_cap(toy):
    det = REPEN()
    assert (det.embedding_dim, det.margin, det.ensemble_size, det.subsample_size, det.epochs, det.batch_size) == \
        (20, 1000.0, 50, 8, 30, 256)
    fitted = REPEN(epochs=1).fit(toy.X_train)
    assert fitted.references_.shape == (50, 8, 8)
    opt = fitted.optimizers_["main"]
    assert isinstance(opt, torch.optim.Adadelta) and (opt.defaults["lr"], opt.defaults["rho"]) == (1.0, 0.95)
    with pytest.raises(AdrayError, match=r"epochs=31 must be an integer in \[0, 30\]"):
        REPEN(epochs=31).fit(toy.X_train)


def test_beats_chance_on_breast_cancer():
    X, _, X_test, y_test = embedded("breast_cancer")
    reports = []
    det = REPEN(epochs=10).fit(X, seed=0, X_val=X_test, y_val=y_test, callbacks=[reports.append])
    assert len(reports) == 10 and reports[-1]["loss"] < reports[0]["loss"]
    assert auc(y_test, det.decision_function(X_test)) > 0.85
    assert det.transform(X_test).shape == (len(X_test), 20)
