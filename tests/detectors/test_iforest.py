import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from adray.detectors.iforest import IForest


def test_score_is_minus_sklearn_decision_function_with_the_same_seed(toy_images):
    X = toy_images.X_train
    det = IForest(n_estimators=30).fit(X, seed=11)
    reference = IsolationForest(n_estimators=30, random_state=11).fit(X.reshape(len(X), -1))
    flat = toy_images.X_test.reshape(len(toy_images.X_test), -1)
    np.testing.assert_array_equal(det.decision_function(toy_images.X_test), -reference.decision_function(flat))
    assert det.detector_.n_jobs == 1 and det.detector_.random_state == 11 and det.device_ == "cpu"


def test_one_report_with_zero_loss(toy):
    reports = []
    IForest().fit(toy.X_train, X_val=toy.X_test, y_val=toy.y_test, callbacks=[reports.append])
    assert len(reports) == 1
    assert reports[0]["stage"] == "fit" and reports[0]["loss"] == 0.0 and reports[0]["val_auc"] > 0.9


def test_resume_refits_the_same_forest_from_its_seed_and_holds_no_pickle(toy):
    state = IForest(n_estimators=20).fit(toy.X_train, seed=2).get_state()
    expected = IForest(n_estimators=20).fit(toy.X_train, seed=2).decision_function(toy.X_test)
    assert not any(isinstance(v, bytes) for v in state.values())  # nothing that unpickles into code
    reports = []
    resumed = IForest(n_estimators=20).fit(toy.X_train, seed=2, state=state, callbacks=[reports.append])
    assert reports == []  # the epoch was reported before the checkpoint
    np.testing.assert_array_equal(resumed.decision_function(toy.X_test), expected)


def test_device_cuda_is_ignored(toy):
    assert IForest(n_estimators=5).fit(toy.X_train, device="cuda").device_ == "cpu"
    with pytest.raises(Exception, match="device must be"):
        IForest().fit(toy.X_train, device="tpu")
