"""Shared A3/ARGUE helpers: activation taps, alarm networks, counter-examples."""

from collections import OrderedDict

import pytest
import torch
from torch import nn

from adray.detectors.components import keras_like, taps


def test_only_separate_activation_layers_are_tapped():
    assert taps.is_tap("act") and taps.is_tap("act0") and taps.is_tap("act12")
    assert not any(taps.is_tap(n) for n in ("code_act", "output_act", "activation", "act_1", "dense0"))


def test_forward_taps_walks_nested_sequentials_in_order():
    inner = nn.Sequential(OrderedDict([("dense0", keras_like.dense(3, 2)), ("act0", nn.ReLU())]))
    net = nn.Sequential(OrderedDict([
        ("dense0", keras_like.dense(4, 3)), ("act0", nn.LeakyReLU(0.01)), ("inner", inner),
        ("code", keras_like.dense(2, 5)), ("code_act", nn.ReLU()),
    ]))
    x = torch.randn(7, 4)
    out, tapped = taps.forward_taps(net, x)
    assert torch.equal(out, net(x))
    assert [t.shape for t in tapped] == [(7, 3), (7, 2)]
    assert torch.equal(tapped[0], nn.functional.leaky_relu(net.dense0(x), 0.01))
    out, flat = taps.tap_vector(net, x)
    assert flat.shape == (7, 5) and taps.tap_size(net, (4,)) == 5
    assert taps.tap_vector(nn.Sequential(keras_like.dense(4, 2)), x)[1].shape == (7, 0)


def test_tap_size_restores_the_training_mode():
    net = nn.Sequential(OrderedDict([("dense0", keras_like.dense(4, 3)), ("act0", nn.ReLU())])).train()
    assert taps.tap_size(net, (4,)) == 3 and net.training


def test_a3_alarm_has_one_dropout_before_the_output():
    alarm = taps.alarm_network(175)
    names = [n for n, _ in alarm.named_children()]
    assert names == ["dense0", "act0", "dense1", "act1", "dense2", "act2", "dense3", "act3", "dropout", "output",
                     "output_act"]
    assert [alarm.get_submodule(f"dense{i}").out_features for i in range(4)] == [1000, 500, 200, 75]
    assert alarm.dense0.in_features == 175 and alarm.dropout.p == 0.1 and alarm.output.out_features == 1


def test_argue_alarm_and_gate_have_dropout_after_every_hidden_layer():
    alarm = taps.alarm_network(770, dropout=0.1, dropout_each=True)
    assert sum(isinstance(m, nn.Dropout) for m in alarm.modules()) == 4
    assert isinstance(alarm.dropout3, nn.Dropout) and not hasattr(alarm, "dropout")
    gate = taps.alarm_network(385, dropout_each=True, n_outputs=6, output="softmax").eval()
    g = gate(torch.rand(5, 385))
    assert g.shape == (5, 6)
    torch.testing.assert_close(g.sum(1), torch.ones(5))
    with pytest.raises(ValueError, match="output must be"):
        taps.alarm_network(3, output="relu")


def test_counter_examples_follow_the_seeds_distributions():
    like = torch.zeros(20000, 4)
    torch.manual_seed(0)
    normal = taps.counter_examples(like, "normal")
    assert normal.shape == like.shape
    assert abs(normal.mean().item() - 0.5) < 0.02 and abs(normal.std().item() - 1.0) < 0.02
    assert normal.min() < 0 and normal.max() > 1  # unclipped
    uniform = taps.counter_examples(like, "uniform")
    assert uniform.min() >= 0 and uniform.max() < 1 and abs(uniform.mean().item() - 0.5) < 0.01
    torch.manual_seed(0)
    assert torch.equal(taps.counter_examples(like, "normal"), normal)  # the global RNG: seeded
    with pytest.raises(ValueError, match="noise kind"):
        taps.counter_examples(like, "laplace")


def test_image_layout_and_channel_moves():
    assert taps.image_layout((28, 28)) == (1, 28, 28)
    assert taps.image_layout((32, 32, 3)) == (3, 32, 32)
    assert taps.image_layout((121,)) is None and taps.image_layout((10, 20, 30)) is None
    x = torch.arange(2 * 4 * 4 * 3, dtype=torch.float32).reshape(2, 4, 4, 3)
    cf = taps.to_channels_first(x, (3, 4, 4))
    assert cf.shape == (2, 3, 4, 4) and torch.equal(cf[1, 2], x[1, :, :, 2])
    assert torch.equal(taps.to_channels_last(cf, (4, 4, 3)), x)
