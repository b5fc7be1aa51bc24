import pytest

from adray import detectors
from adray.detectors.ae import AutoEncoder
from adray.detectors.iforest import IForest
from adray.errors import AdrayError, UnknownNameError


def test_names_get_and_build():
    assert detectors.names() == ["ae", "iforest"]
    assert detectors.get("ae") is AutoEncoder and detectors.get("iforest") is IForest
    det = detectors.build("ae", epochs=3, hidden_dims=(4, 2))
    assert isinstance(det, AutoEncoder) and det.epochs == 3 and det.hidden_dims == (4, 2)


def test_unknown_method_lists_the_valid_names():
    with pytest.raises(UnknownNameError, match=r"unknown detector 'svm'; valid: ae, iforest"):
        detectors.get("svm")
    with pytest.raises(UnknownNameError, match="pyod: adapter is not implemented"):
        detectors.build("pyod:LOF")


def test_unknown_hyperparameter_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"'ae' has no hyperparameter 'epoch'; valid: hidden_dims, dropout"):
        detectors.build("ae", epoch=3)
    assert issubclass(UnknownNameError, AdrayError)


def test_every_detector_follows_the_constructor_rule():
    for name in detectors.names():
        cls = detectors.get(name)
        assert cls.supervision in ("unsupervised", "semi") and isinstance(cls.uses_gpu, bool)
        assert set(cls.smoke_params) <= set(cls.param_names())
        det = cls()  # every hyperparameter has a default; __init__ stores them unchanged
        assert vars(det) == det.get_params()
