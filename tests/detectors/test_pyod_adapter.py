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


def test_values_pyod_needs_from_the_data_are_filled_in(toy):
    cls = pyod_detector("DeepSVDD")
    assert cls.required == ("n_features",) and cls().n_features is None
    det = cls(epochs=2).fit(toy.X_train, seed=0)
    assert det.filled_params_ == {"n_features": 8} and det.get_params()["n_features"] is None
    assert det.detector_.n_features == 8 and np.isfinite(det.decision_function(toy.X_test)).all()
    assert cls(epochs=1, n_features=8).fit(toy.X_train).filled_params_ == {}  # a value set by hand is kept


# PyOD classes that cannot score new rows of a feature matrix whatever the arguments, and how they say so
CANNOT_SCORE_NEW_ROWS = {"MatrixProfile": (NotImplementedError, "transductive")}
UNIVARIATE_ONLY = {"MAD"}  # scores one feature


def _small_data():
    """200 training rows x 6 features; 120 test rows (window-based detectors need >= 100), 20 of them shifted."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    X_test = rng.normal(size=(120, 6))
    X_test[:20] += 4.0
    low, span = X.min(axis=0), np.ptp(X, axis=0)
    return ((X - low) / span).astype(np.float32), ((X_test - low) / span).astype(np.float32)


@pytest.mark.parametrize("name", sorted(pyod_adapter.available()))
def test_every_pyod_detector_fits_and_scores_without_hand_set_arguments(name):
    try:
        cls = pyod_detector(name)
    except AdrayError as exc:
        if isinstance(exc.__cause__, ImportError):
            pytest.skip(f"optional package missing: {exc}")
        assert pyod_adapter.available()[name].startswith("pyod.models.pyg_")  # refused: a graph detector
        assert f"PyOD's {name} is a graph detector" in str(exc)
        return
    X, X_test = _small_data()
    if name in UNIVARIATE_ONLY:
        X, X_test = X[:, :1], X_test[:, :1]
    y = np.zeros(len(X), dtype=np.int64)
    y[:10] = 1
    det = cls(**cls.smoke_params)
    unfillable = [p for p in cls.required if p not in pyod_adapter.FROM_DATA]
    if unfillable:  # an object only the user can give (a list of detectors, an encoder): a clear refusal
        with pytest.raises(AdrayError, match=f"needs the argument '{unfillable[0]}'.*set it in Python"):
            det.fit(X, y, seed=0)
        return
    try:
        det.fit(X, y, seed=0)
    except AdrayError as exc:
        if isinstance(exc.__cause__, ImportError):
            pytest.skip(f"optional package missing: {exc}")
        raise
    if name in CANNOT_SCORE_NEW_ROWS:
        error, message = CANNOT_SCORE_NEW_ROWS[name]
        with pytest.raises(error, match=message):
            det.decision_function(X_test)
        return
    scores = det.decision_function(X_test)
    assert scores.shape == (len(X_test),) and scores.dtype == np.float64 and np.isfinite(scores).all()
    assert np.ptp(scores) > 0
