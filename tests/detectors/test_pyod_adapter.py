import io
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from adray.errors import AdrayError, UnknownNameError
from adray.metrics import auc

pytest.importorskip("pyod")

from adray.detectors import pyod_adapter  # noqa: E402
from adray.detectors.pyod_adapter import pyod_detector  # noqa: E402


@pytest.mark.parametrize("name", ["ECOD", "IForest"])
def test_wraps_pyod_and_keeps_its_scores(name, toy):
    import inspect

    cls = pyod_detector(name)
    assert pyod_detector(f"pyod:{name}") is cls  # cached; the prefix is optional
    pyod_cls = cls.pyod_class
    expected = [p for p in inspect.signature(pyod_cls.__init__).parameters if p not in ("self", "random_state")]
    assert cls.param_names() == expected and cls.supervision == "unsupervised"
    reports = []
    det = cls().fit(toy.X_train, seed=3, X_val=toy.X_test, y_val=toy.y_test, callbacks=[reports.append])
    scores = det.decision_function(toy.X_test)
    assert scores.dtype == np.float64 and auc(toy.y_test, scores) > 0.9
    assert reports == [{"stage": "fit", "epoch": 1, "iteration": 1, "loss": 0.0, "val_auc": auc(toy.y_test, scores)}]
    kwargs = {"random_state": 3} if "random_state" in inspect.signature(pyod_cls.__init__).parameters else {}
    direct = pyod_cls(**{**det.get_params(), **kwargs}).fit(toy.X_train)
    np.testing.assert_allclose(scores, direct.decision_function(toy.X_test))


def test_seed_is_the_random_state_and_images_are_flattened(toy_images):
    cls = pyod_detector("IForest")
    assert "random_state" not in cls.param_names() and cls().verbose == 0

    def fit(seed):
        return cls(n_estimators=20).fit(toy_images.X_train, seed=seed).decision_function(toy_images.X_test)

    np.testing.assert_array_equal(fit(1), fit(1))
    assert not np.allclose(fit(1), fit(2))
    assert cls(n_estimators=20).fit(toy_images.X_train).detector_.n_features_in_ == 64


def test_hyperparameters_are_checked_and_cloneable(toy):
    cls = pyod_detector("IForest")
    det = cls(n_estimators=30)
    assert det.get_params()["n_estimators"] == 30 and clone(det).get_params() == det.get_params()
    with pytest.raises(UnknownNameError, match="valid: .*n_estimators"):
        det.set_params(n_trees=3)
    with pytest.raises(TypeError):
        cls(n_trees=3)
    det.fit(toy.X_train)
    again = pickle.loads(pickle.dumps(det))
    assert type(again) is cls
    np.testing.assert_array_equal(again.decision_function(toy.X_test), det.decision_function(toy.X_test))


def test_state_round_trip_restores_the_fitted_model(toy):
    cls = pyod_detector("ECOD")
    det = cls().fit(toy.X_train)
    buffer = io.BytesIO()
    torch.save(det.get_state(), buffer)
    buffer.seek(0)
    reports = []
    resumed = cls().fit(toy.X_train, state=torch.load(buffer, weights_only=True), callbacks=[reports.append])
    assert reports == []
    np.testing.assert_array_equal(resumed.decision_function(toy.X_test), det.decision_function(toy.X_test))


def test_unknown_pyod_name_lists_valid_ones():
    with pytest.raises(UnknownNameError, match=r"PyOD has no detector 'NoSuchDetector'; valid names include: .*ECOD"):
        pyod_detector("NoSuchDetector")
    assert pyod_detector("ecod") is pyod_detector("ECOD")  # case-insensitive fallback
    assert "BaseDetector" not in pyod_adapter.available()


def test_classes_whose_fit_needs_y_are_semi_supervised():
    if "DevNet" not in pyod_adapter.available():
        pytest.skip("this PyOD has no DevNet")
    cls = pyod_detector("DevNet")
    assert cls.supervision == "semi" and cls.uses_gpu == ("device" in cls.param_names())


def test_missing_pyod_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(pyod_adapter, "_INDEX", None)
    monkeypatch.setattr(pyod_adapter.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(AdrayError, match="pip install pyod"):
        pyod_adapter.pyod_detector("SomethingNotCached")
