import pytest

from adray import detectors
from adray.detectors.ae import AutoEncoder
from adray.detectors.iforest import IForest
from adray.errors import AdrayError, UnknownNameError


def test_names_get_and_build(monkeypatch):
    monkeypatch.delenv(detectors.PLUGIN_ENV, raising=False)
    assert detectors.names() == sorted(detectors.REGISTRY)  # without plug-ins: exactly the registry
    assert detectors.get("ae") is AutoEncoder and detectors.get("iforest") is IForest
    det = detectors.build("ae", epochs=3, hidden_dims=(4, 2))
    assert isinstance(det, AutoEncoder) and det.epochs == 3 and det.hidden_dims == (4, 2)


def test_unknown_method_lists_the_valid_names():
    with pytest.raises(UnknownNameError, match=r"unknown detector 'svm'; valid: a3, ae, .*iforest.*, or pyod:<Name>"):
        detectors.get("svm")
    pytest.importorskip("pyod")
    assert detectors.build("pyod:LOF").__class__.__name__.endswith("LOF")  # any PyOD detector by name
    with pytest.raises(UnknownNameError, match="PyOD"):
        detectors.build("pyod:NoSuchDetector")


def test_unknown_hyperparameter_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"'ae' has no hyperparameter 'epoch'; valid: architecture, hidden_dims, dropout"):
        detectors.build("ae", epoch=3)
    assert issubclass(UnknownNameError, AdrayError)


def test_every_detector_follows_the_constructor_rule():
    for name in detectors.names():
        cls = detectors.get(name)
        assert cls.supervision in ("unsupervised", "semi") and isinstance(cls.uses_gpu, bool)
        assert set(cls.smoke_params) <= set(cls.param_names())
        det = cls()  # every hyperparameter has a default; __init__ stores them unchanged
        assert vars(det) == det.get_params()
