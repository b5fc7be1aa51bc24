"""The TorchDetector template with a two-stage model shaped like A3 (a target, then an alarm on top)."""

import io

import numpy as np
import pytest
import torch
from torch import nn

from adray.detectors.components import keras_like
from adray.detectors.torch_template import TorchDetector
from adray.errors import AdrayError

STARTED: list[str] = []  # on_stage_start calls, in order (module level: __init__ must stay logic-free)


class TwoStage(TorchDetector):
    """Stage "target": a small AE. Stage "alarm": frozen target, a classifier of data vs N(0.5, 1) noise."""

    state_attrs = ("centre_",)

    def __init__(self, *, target_epochs=2, alarm_epochs=3, batch_size=16, learning_rate=1e-2):
        self.target_epochs = target_epochs
        self.alarm_epochs = alarm_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate

    def stages(self):
        return [("target", self.target_epochs), ("alarm", self.alarm_epochs)]

    def build_networks(self, feature_shape, n_subclasses):
        d = int(np.prod(feature_shape))
        target = nn.Sequential(keras_like.dense(d, 4), nn.ReLU(), nn.Dropout(0.2), keras_like.dense(4, d), nn.Sigmoid())
        alarm = nn.Sequential(keras_like.dense(2 * d, 8), nn.ReLU(), nn.Dropout(0.2), keras_like.dense(8, 1), nn.Sigmoid())
        return {"target": target, "alarm": alarm}

    def make_optimizers(self):
        return {name: keras_like.adam(net.parameters(), self.learning_rate) for name, net in self.networks_.items()}

    def on_stage_start(self, stage):
        STARTED.append(stage)
        if stage == "alarm":
            self.networks_["target"].requires_grad_(False)
            self.centre_ = torch.rand(1, device=self.device_)  # a global-RNG draw: checkpointed via state_attrs

    def train_networks(self, stage):
        return [stage]

    def stage_data(self, stage, X, y, subclass):
        if stage == "alarm":  # a stage-start draw from stage_rng_: redrawn identically on resume
            X = X[np.sort(self.stage_rng_.choice(len(X), size=len(X) // 2, replace=False))]
        return (X,)

    def _features(self, x):
        return torch.cat([x, self.networks_["target"](x)], dim=1)

    def train_step(self, stage, batch):
        x = batch[0].flatten(1)
        if stage == "target":
            loss = keras_like.bce(self.networks_["target"](x), x)
            self.optimize(loss, "target")
            return {"loss": loss}
        assert not self.networks_["target"].training and self.networks_["alarm"].training
        noise = torch.randn(x.shape, device=self.device_) + self.centre_
        p = self.networks_["alarm"](self._features(torch.cat([x, noise])))
        labels = torch.cat([torch.zeros(len(x), 1), torch.ones(len(x), 1)]).to(self.device_)
        loss = keras_like.bce(p, labels)
        self.optimize(loss, "alarm")
        return {"loss": loss, "noise_mean": noise.mean()}

    def score_batch(self, batch_X):
        return self.networks_["alarm"](self._features(batch_X.flatten(1))).squeeze(1)


def test_reports_stage_by_stage_with_extra_metrics(toy):
    reports = []
    TwoStage().fit(toy.X_train, X_val=toy.X_test, y_val=toy.y_test, callbacks=[reports.append])
    assert [(r["stage"], r["epoch"], r["iteration"]) for r in reports] == [
        ("target", 1, 1), ("target", 2, 2), ("alarm", 1, 3), ("alarm", 2, 4), ("alarm", 3, 5)]
    assert "noise_mean" not in reports[0] and isinstance(reports[-1]["noise_mean"], float)
    assert all("val_auc" in r for r in reports)


def test_infer_runs_without_gradients_in_eval_mode_and_restores_the_modes(toy):
    det = TwoStage().fit(toy.X_train)
    det.networks_["alarm"].train()
    seen = det.infer(lambda x: (len(x), torch.is_grad_enabled(), det.networks_["alarm"].training),
                     det.batches(toy.X_test[:40]))
    assert seen == [(16, False, False), (16, False, False), (8, False, False)]
    assert det.networks_["alarm"].training and not det.networks_["target"].training


def test_scores_follow_scoring_data_and_padding_past_the_rows_is_dropped(toy):
    class Padded(TwoStage):
        def scoring_data(self, X):
            yield from self.batches(X)
            yield self.as_tensor(np.array(X[:5]))  # e.g. a filled-up last minibatch: its scores are dropped

    plain = TwoStage().fit(toy.X_train, seed=2).decision_function(toy.X_test)
    np.testing.assert_array_equal(Padded().fit(toy.X_train, seed=2).decision_function(toy.X_test), plain)


def test_frozen_network_does_not_change_in_a_later_stage(toy):
    target_after_stage_one = {}
    det = TwoStage()

    def grab(report):
        if report["iteration"] == 2:
            target_after_stage_one.update(det.get_state()["networks"]["target"])

    det.fit(toy.X_train, callbacks=[grab])
    for key, value in det.networks_["target"].state_dict().items():
        torch.testing.assert_close(value, target_after_stage_one[key], rtol=0, atol=0)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_resume_at_every_epoch_boundary_matches_an_uninterrupted_fit(toy, k):
    full_reports, states = [], {}
    full = TwoStage()
    full.fit(toy.X_train, seed=9, callbacks=[full_reports.append,
                                             lambda r: states.setdefault(r["iteration"], full.get_state())])
    buffer = io.BytesIO()
    torch.save(states[k], buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)

    STARTED.clear()
    reports = []
    resumed = TwoStage().fit(toy.X_train, seed=9, state=state, callbacks=[reports.append])
    assert reports == full_reports[k:]
    # the set-up of every stage already begun is replayed (restoring e.g. requires_grad flags)
    assert STARTED == ["target", "alarm"]
    assert not any(p.requires_grad for p in resumed.networks_["target"].parameters())
    torch.testing.assert_close(resumed.centre_, full.centre_, rtol=0, atol=0)
    np.testing.assert_array_equal(resumed.decision_function(toy.X_test), full.decision_function(toy.X_test))


def test_states_are_snapshots_not_live_references(toy):
    states = {}
    det = TwoStage()
    det.fit(toy.X_train, callbacks=[lambda r: states.setdefault(r["iteration"], det.get_state())])
    first, last = states[3]["networks"]["alarm"], states[5]["networks"]["alarm"]
    assert not torch.equal(first["0.weight"], last["0.weight"])
    assert states[3]["stage"] == "alarm" and states[3]["epoch"] == 1 and states[3]["iteration"] == 3


def test_state_from_a_detector_with_other_stages_is_rejected(toy):
    det = TwoStage()
    state = det.fit(toy.X_train).get_state()
    with pytest.raises(AdrayError, match="stage 'target' .* does not have at that position"):
        TwoStage().fit(toy.X_train, state={**state, "stage": "target"})


def test_seed_and_semi_supervision_are_checked(toy):
    with pytest.raises(AdrayError, match="seed must be a non-negative integer"):
        TwoStage().fit(toy.X_train, seed=-1)

    class Semi(TwoStage):
        supervision = "semi"

    with pytest.raises(AdrayError, match="semi-supervised: pass y"):
        Semi().fit(toy.X_train)
