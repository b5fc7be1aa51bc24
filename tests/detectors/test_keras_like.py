"""The Keras defaults of the seeds' code, stated once in adray.detectors.components.keras_like."""

import math

import pytest
import torch
from torch import nn

from adray.detectors.components import keras_like


def test_glorot_uniform_bounds_and_zero_bias_for_dense_and_conv():
    torch.manual_seed(0)
    for layer, fan_in, fan_out in [
        (nn.Linear(100, 50), 100, 50),
        (nn.Conv2d(3, 8, kernel_size=3), 3 * 9, 8 * 9),  # Keras counts the receptive field in both fans
        (nn.ConvTranspose2d(8, 4, kernel_size=3), 4 * 9, 8 * 9),
    ]:
        keras_like.glorot_(layer)
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = layer.weight.detach()
        assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound
        assert abs(w.std().item() - bound / math.sqrt(3)) < 0.1 * bound  # uniform(-b, b) has std b/sqrt(3)
        assert torch.count_nonzero(layer.bias) == 0


def test_keras_init_reaches_nested_layers_and_lstm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.Conv1d(2, 2, 3)), nn.LSTM(5, 6))
    keras_like.keras_init(model)
    assert torch.count_nonzero(model[0].bias) == 0 and torch.count_nonzero(model[1][0].bias) == 0
    lstm = model[2]
    forget = lstm.bias_ih_l0.detach()[6:12]
    assert torch.all(forget == 1.0) and torch.count_nonzero(lstm.bias_ih_l0) == 6
    assert torch.count_nonzero(lstm.bias_hh_l0) == 0
    w_hh = lstm.weight_hh_l0.detach()  # (4h, h): orthonormal columns
    torch.testing.assert_close(w_hh.T @ w_hh, torch.eye(6), atol=1e-5, rtol=0)
    assert lstm.weight_ih_l0.abs().max() <= math.sqrt(6.0 / (5 + 24))


def test_bce_clips_predictions_like_keras():
    pred = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)  # float64: 1 - 1e-7 is exact enough
    target = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    # a prediction of exactly 0 or 1 costs -log(1e-7), not infinity (PyTorch's own BCE would give 100)
    expected = (2 * -math.log(1e-7) + math.log(2.0)) / 3
    assert keras_like.bce(pred, target).item() == pytest.approx(expected, rel=1e-5)
    assert keras_like.bce(pred, target, reduction="none").shape == (3,)
    soft = torch.tensor([[0.2, 0.9]])
    target = torch.tensor([[0.25, 1.0]])  # reconstruction targets in [0, 1]
    by_hand = -(0.25 * math.log(0.2) + 0.75 * math.log(0.8) + math.log(0.9)) / 2
    assert keras_like.bce(soft, target).item() == pytest.approx(by_hand, rel=1e-6)


def test_adam_and_batch_norm_use_keras_constants():
    opt = keras_like.adam(nn.Linear(2, 2).parameters(), lr=0.01)
    assert opt.defaults["eps"] == 1e-7 and opt.defaults["betas"] == (0.9, 0.999) and opt.defaults["lr"] == 0.01
    bn = keras_like.batch_norm(5)
    assert isinstance(bn, nn.BatchNorm1d) and bn.momentum == 0.01 and bn.eps == 1e-3
    assert isinstance(keras_like.batch_norm(3, dims=2), nn.BatchNorm2d)


def test_dense_block_names_layers_for_activation_taps():
    block = keras_like.dense_block(10, (6, 4), dropout=0.1)
    assert [name for name, _ in block.named_children()] == [
        "dense0", "act0", "dropout0", "dense1", "act1", "dropout1"]
    assert block(torch.zeros(3, 10)).shape == (3, 4)
    assert [n for n, _ in keras_like.dense_block(10, (6,), activation=nn.Tanh).named_children()] == ["dense0", "act0"]
    assert torch.count_nonzero(block.dense0.bias) == 0
