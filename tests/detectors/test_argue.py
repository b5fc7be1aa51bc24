"""ARGUE / A4RGUE (adray/detectors/argue/README.md): tap sizes, gate labels, losses by hand, training step, digits, resume."""

import math

import numpy as np
import pytest
import torch

from adray.data import get_spec, load, make_split
from adray.detectors.argue import ARGUE
from adray.detectors.argue.loss import (
    alarm_loss,
    cce,
    combine,
    critic_loss,
    equalised_experts,
    expert_loss,
    gate_labels,
    gate_loss,
)
from adray.detectors.argue.network import ClusteringAAE, critic, default_hidden_dims
from adray.detectors.components import taps
from adray.errors import AdrayError
from adray.metrics import auc
from adray.sweep.trial import prepare_arrays

KDD_DIMS = (150, 100, 70, 40, 25, 10)  # ARGUE's published do_kdd widths
# digits budget: ~1-2 CPU seconds (the seeds' 500 epochs at lr 1e-4 are for the full data sets)
DIGITS_PARAMS = {"expert_epochs": 10, "alarm_epochs": 12, "learning_rate": 2e-3,
                 "batch_size": 64, "alarm_dims": (128, 64)}


@pytest.fixture(scope="module")
def digits():
    ds = load("digits")
    split = make_split(ds, get_spec("digits").setting(), seed=0)  # normal 0-4 (5 experts), 20 known anomalies
    return prepare_arrays(ds, split), split


def two_groups(toy):
    n = len(toy.X_train)
    subclass = (toy.X_train.reshape(n, -1)[:, 0] > 0.5).astype(np.int64)
    return {"y": np.zeros(n, dtype=np.int64), "subclass": subclass}


def test_kdd_taps_skip_the_code_activation():
    X = np.random.default_rng(0).random((8, 121), dtype=np.float32)
    det = ARGUE(hidden_dims=KDD_DIMS, expert_epochs=0, alarm_epochs=0).fit(X, y=np.zeros(8), subclass=np.arange(8) % 3)
    assert (det.n_enc_taps_, det.n_dec_taps_) == (385, 385)
    assert det.networks_["alarm"].dense0.in_features == 770 and det.networks_["gate"].dense0.in_features == 385
    assert det.networks_["gate"].output.out_features == 3 + 1  # experts + the anomaly expert
    mae = det.networks_["mae"]
    assert mae.n_experts == 3 and "code_act" in dict(mae.encoder.named_children())
    assert all(isinstance(m, torch.nn.Dropout) and m.p == 0.1 for n, m in mae.encoder.named_children()
               if n.startswith("dropout"))
    d0, d1 = mae.decoders[0].dense0.weight, mae.decoders[1].dense0.weight
    assert not torch.equal(d0, d1)  # clone_model: fresh weights per decoder
    assert det.optimizers_["gate"].defaults["lr"] == 0.5 * det.optimizers_["alarm"].defaults["lr"] == 0.5e-4
    assert ARGUE().stages() == [("experts", 500), ("alarm", 500)]


def test_default_hidden_dims_resemble_the_published_dim_target():
    assert default_hidden_dims(121) == (152, 97, 62, 39, 25, 16)  # KDD: (150, 100, 70, 40, 25, 10)
    assert default_hidden_dims(64) == (80, 50, 32, 20, 13, 8)
    assert default_hidden_dims(1) == (2,) * 6


def test_28x28_conv_taps():
    X = np.random.default_rng(0).random((6, 28, 28), dtype=np.float32)
    det = ARGUE(expert_epochs=1, alarm_epochs=1, alarm_dims=(8,), batch_size=6).fit(
        X, y=np.zeros(6), subclass=np.array([0, 0, 0, 1, 1, 1]))
    assert det.architecture_ == "conv" and (det.n_enc_taps_, det.n_dec_taps_) == (3656, 3776)
    assert det.networks_["alarm"].dense0.in_features == 7432
    assert det.decision_function(X).shape == (6,)
    enc = det.networks_["mae"].encoder
    assert [t.shape[1] for t in taps.forward_taps(enc, torch.zeros(1, 1, 28, 28))[1]] == [3136, 392, 128]


def test_gate_labels():
    y = np.array([0, 0, 1, 0, 1])
    subclass = np.array([2, 0, -1, 1, -1])
    assert gate_labels(y, subclass, 3).tolist() == [2, 0, 3, 1, 3]
    # a polluted row (y = 0) keeps its random normal class; a labelled anomaly wins over any partition
    assert gate_labels(np.array([0, 1]), np.array([1, 1]), 2).tolist() == [1, 2]
    assert gate_labels(None, np.array([0, -1]), 2).tolist() == [0, 2]
    with pytest.raises(ValueError, match="< n_experts"):
        gate_labels(None, np.array([5]), 2)


def test_detector_builds_gate_labels_from_subclass(toy):
    kwargs = two_groups(toy)
    kwargs["y"][:4] = 1
    kwargs["subclass"][:4] = -1
    det = ARGUE(**{**ARGUE.smoke_params, "alarm_epochs": 1}).fit(toy.X_train, **kwargs)
    np.testing.assert_array_equal(det.gate_labels_, np.where(kwargs["y"] == 1, 2, kwargs["subclass"]))


def test_losses_on_hand_computed_values():
    gate = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])
    alarms = torch.tensor([[0.2, 0.4], [0.0, 1.0]])
    torch.testing.assert_close(combine(gate, alarms), torch.tensor([0.5 * 0.2 + 0.25 * 0.4 + 0.25, 0.1 + 0.8]))
    assert cce(gate, torch.tensor([0, 2])).item() == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2, rel=1e-6)
    assert cce(torch.tensor([[1.0, 0.0]]), torch.tensor([1])).item() == pytest.approx(-math.log(1e-7), rel=1e-4)
    s_real, s_noise = torch.tensor([0.3, 0.6]), torch.tensor([0.9])
    assert alarm_loss(s_real, torch.tensor([0.0, 1.0]), s_noise).item() == \
        pytest.approx(-(math.log(0.7) + math.log(0.6)) / 2 - math.log(0.9), rel=1e-6)
    # noise rows target the last (anomaly expert) column
    assert gate_loss(gate, torch.tensor([1, 0]), gate).item() == pytest.approx(
        -(math.log(0.25) + math.log(0.1)) / 2 - (math.log(0.25) + math.log(0.8)) / 2, rel=1e-6)
    assert critic_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.5])).item() == pytest.approx(-2.0 + 0.5)
    x = [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0]])]
    r = [torch.tensor([[0.5, 0.5]]), torch.tensor([[0.2]])]
    assert expert_loss(r, x).item() == pytest.approx(-math.log(0.5) - math.log(0.8), rel=1e-6)


def test_expert_sets_are_equalised_by_oversampling():
    partition = np.array([0, 0, 0, 0, 1, -1, 1, 0, 3])
    index = equalised_experts(partition, 4, np.random.default_rng(0))
    assert index.shape == (5, 4)
    assert sorted(index[:, 0]) == [0, 1, 2, 3, 7]  # the largest set stays as it is
    assert index[:2, 1].tolist() == [4, 6] and set(index[:, 1]) == {4, 6}  # all rows, then repeats
    assert (index[:, 2] == -1).all() and (index[:, 3] == 8).all()


def test_alarm_stage_updates_alarm_then_gate_and_keeps_the_experts_frozen(toy):
    kwargs = two_groups(toy)
    det = ARGUE(**ARGUE.smoke_params)
    snap = {}

    def grab(report):
        if report["stage"] == "experts" and report["epoch"] == det.expert_epochs:
            snap.update({k: {n: t.clone() for n, t in det.networks_[k].state_dict().items()}
                         for k in ("mae", "alarm", "gate")})

    reports = []
    det.fit(toy.X_train, **kwargs, callbacks=[grab, reports.append])
    for name, value in det.networks_["mae"].state_dict().items():
        assert torch.equal(value, snap["mae"][name])
    for net in ("alarm", "gate"):
        assert not torch.equal(det.networks_[net].dense0.weight, snap[net]["dense0.weight"])
    alarm_reports = [r for r in reports if r["stage"] == "alarm"]
    assert all(r["loss"] == pytest.approx(r["alarm_loss"] + r["gate_loss"], rel=1e-5) for r in alarm_reports)
    gates = det.gates(toy.X_test)
    assert gates.shape == (len(toy.X_test), 3)
    np.testing.assert_allclose(gates.sum(1), 1.0, rtol=1e-5)


def test_noise_goes_to_the_anomaly_expert(toy):
    det = ARGUE(**{**ARGUE.smoke_params, "alarm_epochs": 30}).fit(toy.X_train, **two_groups(toy))
    noise = np.random.default_rng(0).normal(0.5, 1.0, size=(200, 8)).astype(np.float32)
    assert det.gates(noise)[:, -1].mean() > det.gates(toy.X_train)[:, -1].mean() + 0.3


def test_unsupervised_with_no_known_anomalies(toy):
    given = {**ARGUE.smoke_params, "partitions": "given"}
    det = ARGUE(**given).fit(toy.X_train, y=np.zeros(len(toy.X_train)), seed=3)  # subclass None: 1 expert
    assert det.n_experts_ == 1 and det.fit_info()["partitions"] == "given"
    assert auc(toy.y_test, det.decision_function(toy.X_test)) > 0.8
    auto = ARGUE(**{**ARGUE.smoke_params, "n_clusters": 2, "cluster_epochs": 1}).fit(
        toy.X_train, y=np.zeros(len(toy.X_train)), seed=3)  # one normal class: "auto" learns partitions
    assert auto.fit_info() == {"partitions": "clusters", "experts": 2, "architecture": auto.architecture_}


def test_clustering_aae_shapes_and_capped_learning_rate(toy):
    aae = ClusteringAAE(64, (32, 16, 2), n_clusters=5)
    code, cluster = aae.eval().encode(torch.rand(4, 64))
    assert code.shape == (4, 2) and cluster.shape == (4, 5)
    torch.testing.assert_close(cluster.sum(1), torch.ones(4))
    assert aae.decoder.dense0.in_features == 2 + 5 and isinstance(aae.trunk.act0, torch.nn.LeakyReLU)
    assert aae.trunk.bn0.momentum == 0.01 and aae.trunk.bn0.eps == 1e-3
    assert [m.out_features for m in critic(2).modules() if isinstance(m, torch.nn.Linear)] == [40, 30, 20, 10, 5, 1]
    conv = ClusteringAAE(784, (32, 2), n_clusters=3, conv_channels=1).eval()
    assert conv(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    det = ARGUE(**{**ARGUE.smoke_params, "partitions": "clusters", "n_clusters": 3, "cluster_epochs": 0})
    det.fit(toy.X_train, y=np.zeros(len(toy.X_train)))
    assert {k: o.defaults["lr"] for k, o in det.optimizers_.items() if k in ("recon", "aae_encoder")} == \
        {"recon": 1e-5, "aae_encoder": 1e-5}
    assert det.networks_["gate"].output.out_features == 4 and det.stages()[0] == ("clusters", 0)


def test_a4rgue_partitions_come_from_the_cluster_head(toy):
    params = {**ARGUE.smoke_params, "partitions": "clusters", "n_clusters": 3, "alarm_epochs": 1}
    reports = []
    det = ARGUE(**params).fit(toy.X_train, y=np.zeros(len(toy.X_train)), callbacks=[reports.append])
    assert [r["stage"] for r in reports] == ["clusters"] * 2 + ["experts"] * 5 + ["alarm"]
    assert {"critic_code_loss", "critic_cluster_loss", "encoder_loss"} <= set(reports[0])
    with torch.no_grad():
        _, cluster = det.networks_["aae"].eval().encode(torch.from_numpy(toy.X_train))
    expected = cluster.argmax(1).numpy()
    np.testing.assert_array_equal(det.gate_labels_, expected)
    np.testing.assert_array_equal(det.expert_rows_, np.bincount(expected, minlength=3))


def test_critic_and_encoder_steps_clip_the_global_gradient_norm_to_001(toy):
    det = ARGUE(**{**ARGUE.smoke_params, "partitions": "clusters", "cluster_epochs": 0, "expert_epochs": 0,
                   "alarm_epochs": 0}).fit(toy.X_train, y=np.zeros(len(toy.X_train)))
    for net, opt in (("critic_code", "critic_code"), ("aae", "aae_encoder")):
        det.networks_[net].requires_grad_(True)  # frozen after the clusters stage
        params = [p for group in det.optimizers_[opt].param_groups for p in group["params"]]
        x = torch.from_numpy(toy.X_train[:16])
        out = det.networks_[net](x if net == "aae" else torch.randn(16, 2))
        det._clipped_step(1000.0 * out.square().mean(), opt)
        norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None]))
        assert norm <= 0.01 + 1e-6


@pytest.mark.parametrize("partitions", ["given", "clusters"])
def test_beats_a_trivial_score_on_digits(digits, partitions):
    arrays, split = digits
    params = {**DIGITS_PARAMS, "partitions": partitions, "n_clusters": 3, "cluster_epochs": 3}
    if partitions == "clusters":
        params["alarm_epochs"] = 20
    det = ARGUE(**params).fit(arrays["train"], y=split.y_train, subclass=split.subclass_train, seed=0)
    assert det.n_experts_ == (5 if partitions == "given" else 3)
    # over 25 seeds the AUC is 0.72-0.93 (median ~0.86); the distance to the normal mean scores 0.53
    assert auc(split.y_test, det.decision_function(arrays["test"])) > 0.7


@pytest.mark.parametrize(("partitions", "stop_stage"), [
    ("given", "experts"), ("given", "alarm"), ("clusters", "clusters"), ("clusters", "experts"),
])
def test_same_seed_same_scores_and_resume_across_stages(toy, partitions, stop_stage):
    params = {**ARGUE.smoke_params, "partitions": partitions, "alarm_epochs": 3}
    kwargs = two_groups(toy)
    full = ARGUE(**params).fit(toy.X_train, **kwargs, seed=1).decision_function(toy.X_test)
    states = {}
    det = ARGUE(**params)

    def grab(report):
        if report["stage"] == stop_stage and report["epoch"] == 1:
            states["s"] = det.get_state()

    again = det.fit(toy.X_train, **kwargs, seed=1, callbacks=[grab]).decision_function(toy.X_test)
    np.testing.assert_array_equal(again, full)
    resumed = ARGUE(**params).fit(toy.X_train, **kwargs, seed=1, state=states["s"]).decision_function(toy.X_test)
    np.testing.assert_array_equal(resumed, full)


def test_bad_hyperparameters_are_rejected(toy):
    kwargs = two_groups(toy)
    with pytest.raises(AdrayError, match="partitions='kmeans' must be one of 'auto', 'given', 'clusters'"):
        ARGUE(partitions="kmeans").fit(toy.X_train, **kwargs)
    with pytest.raises(AdrayError, match="n_clusters=0 must be an integer >= 1"):
        ARGUE(partitions="clusters", n_clusters=0).fit(toy.X_train, **kwargs)
    with pytest.raises(AdrayError, match="conv MAE needs"):
        ARGUE(architecture="conv").fit(toy.X_train, **kwargs)
    with pytest.raises(AdrayError, match="sub-class"):
        ARGUE(expert_epochs=1, partitions="given").fit(toy.X_train, y=kwargs["y"], subclass=np.full(len(toy.X_train), -1))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_conv_mae_and_conv_aae_train_on_the_gpu():
    # the toys take the dense networks; test_contract.py checks fit, scores and resume on the GPU for every method
    X = np.random.default_rng(0).random((32, 28, 28), dtype=np.float32)
    conv = ARGUE(expert_epochs=1, alarm_epochs=1, cluster_epochs=1, alarm_dims=(8,), batch_size=16,
                 partitions="clusters", n_clusters=2).fit(X, y=np.zeros(32), device="cuda")
    assert conv.architecture_ == "conv" and conv.decision_function(X).shape == (32,)
