import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.gradcon import GradCon, gradient_constraint
from adray.errors import AdrayError
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays


def breast_cancer():
    ds = load("breast_cancer")
    split = make_split(ds, get_spec("breast_cancer").setting("unsupervised"), 110)
    arrays = prepare_arrays(ds, split)
    return arrays["train"], arrays["test"], split.y_test


def test_cosine_term_by_hand():
    g = [torch.tensor([[1.0, 0.0]]), torch.tensor([3.0, 4.0])]
    ref = [torch.tensor([[1.0, 1.0]]), torch.tensor([-3.0, -4.0])]
    # -cos: -1/sqrt(2) for the first kernel, +1 for the opposite second one; mean over kernels
    assert gradient_constraint(g, ref).item() == pytest.approx((-1 / np.sqrt(2) + 1.0) / 2)
    batched = [torch.stack([g[0], -g[0]]), torch.stack([g[1], g[1]])]  # per-sample gradients (b=2)
    np.testing.assert_allclose(gradient_constraint(batched, ref).numpy(),
                               [(-1 / np.sqrt(2) + 1) / 2, (1 / np.sqrt(2) + 1) / 2], rtol=1e-6)


def test_defaults_and_architecture_follow_r2ad2(toy):
    det = GradCon(hidden_dims=(6, 4, 2), epochs=0).fit(toy.X_train)
    assert (det.dropout, det.train_weight, det.score_weight, det.learning_rate) == (0.4, 0.03, 0.12, 1e-3)
    shapes = [tuple(k.shape) for k in det._kernels()]
    assert shapes == [(4, 2), (6, 4), (8, 6)]  # decoder kernels only (biases excluded)
    assert det.grad_count_ == 0 and all((s == 0).all() for s in det.grad_sum_)


def test_history_is_the_running_mean_of_total_loss_gradients(toy):
    det = GradCon(hidden_dims=(4, 2), dropout=0.0, epochs=1, batch_size=len(toy.X_train)).fit(toy.X_train)
    assert det.grad_count_ == 1  # one step: the history is that step's gradient (no cosine term yet)
    torch.manual_seed(0)
    fresh = GradCon(hidden_dims=(4, 2), dropout=0.0, epochs=0).fit(toy.X_train)
    x = torch.from_numpy(toy.X_train)
    mse = ((fresh.networks_["ae"](x) - x) ** 2).mean()
    expected = torch.autograd.grad(mse, fresh._kernels())
    for got, want in zip(det.mean_gradients(), expected, strict=True):
        torch.testing.assert_close(got, want)

    det = GradCon(hidden_dims=(4, 2), epochs=2, batch_size=64).fit(toy.X_train)
    assert det.grad_count_ == 2 * 4


def test_the_cosine_term_changes_training_through_second_order_gradients(toy):
    plain = GradCon(hidden_dims=(4, 2), dropout=0.0, train_weight=0.0, epochs=2, batch_size=32)
    constrained = GradCon(hidden_dims=(4, 2), dropout=0.0, train_weight=0.03, epochs=2, batch_size=32)
    a = plain.fit(toy.X_train, seed=1).networks_["ae"].encoder.dense0.weight
    b = constrained.fit(toy.X_train, seed=1).networks_["ae"].encoder.dense0.weight
    assert not torch.allclose(a, b)  # the cosine term reaches the encoder: gradients of gradients


def test_score_is_mse_plus_weighted_per_sample_cosine_term(toy):
    det = GradCon(**GradCon.smoke_params).fit(toy.X_train, seed=2)
    X = toy.X_test[:5]
    net = det.networks_["ae"].eval()
    expected = []
    for row in torch.from_numpy(X):
        row = row[None]
        mse = ((net(row) - row) ** 2).mean()
        grads = torch.autograd.grad(mse, det._kernels())
        expected.append((mse + 0.12 * gradient_constraint(list(grads), det.mean_gradients())).item())
    scores = det.decision_function(X)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-7)
    plain_mse = ((det.networks_["ae"](torch.from_numpy(X)) - torch.from_numpy(X)) ** 2).mean(1).detach().numpy()
    assert np.abs(scores - plain_mse).max() > 1e-3


def test_same_seed_same_scores(toy_images):
    a = GradCon(**GradCon.smoke_params).fit(toy_images.X_train, seed=4).decision_function(toy_images.X_test)
    b = GradCon(**GradCon.smoke_params).fit(toy_images.X_train, seed=4).decision_function(toy_images.X_test)
    np.testing.assert_array_equal(a, b)


def test_beats_chance_clearly_on_breast_cancer():
    X, X_test, y_test = breast_cancer()
    det = GradCon(epochs=30, batch_size=32).fit(X, seed=110)
    assert auc(y_test, det.decision_function(X_test)) > 0.85


def test_element_cosine_reproduces_r2ad2_as_shipped(toy):
    g, ref = [torch.tensor([[2.0, -1.0], [0.5, 3.0]])], [torch.tensor([[1.0, -1.0], [-4.0, 2.0]])]
    # Keras CosineSimilarity on (-1, 1) reshapes: per weight sign agreement, negated and averaged
    assert gradient_constraint(g, ref, "element").item() == pytest.approx(-(1 + 1 - 1 + 1) / 4)
    det = GradCon(**GradCon.smoke_params, cosine="element").fit(toy.X_train, seed=1)
    assert auc(toy.y_test, det.decision_function(toy.X_test)) > 0.8
    with pytest.raises(AdrayError, match="cosine='cos' must be one of 'layer', 'element'"):
        GradCon(cosine="cos").fit(toy.X_train)
