"""Everything about a method is declared on its class: the registry, the sweep, `adray methods` and the
README read those declarations, and fit and the sweep refuse a hyperparameter value with one message."""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from adray import detectors
from adray.data.catalog import get_spec
from adray.detectors.components.constraints import ParamError, check_params, constraints_of
from adray.errors import AdrayError
from adray.sweep import listing
from adray.sweep.request import SweepRequest, expand_trials, has_known_anomalies, parse_set, split_dataset_arg

README = Path(__file__).resolve().parents[2] / "README.md"
BUILT_IN = list(detectors.REGISTRY)


@pytest.fixture(autouse=True)
def no_plugins(monkeypatch):
    monkeypatch.delenv(detectors.PLUGIN_ENV, raising=False)


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_detector_declares_everything_a_sweep_needs_and_its_declarations_agree(name):
    cls = detectors.get(name)
    params = cls.param_names()
    assert listing.summary_of(cls) == cls.summary and "\n" not in cls.summary and cls.summary
    assert cls.supervision in ("unsupervised", "semi")
    assert set(cls.param_constraints) == set(params), "one constraint entry per hyperparameter"
    check_params(cls, cls().get_params())  # the class defaults, the smoke values and the grid are all valid
    check_params(cls, cls.smoke_params)
    assert set(cls.default_grid) <= set(params)
    for key, values in cls.default_grid.items():
        assert isinstance(values, list) and values
        for value in values:
            check_params(cls, {key: value})
    dataset, setting = split_dataset_arg(cls.default_dataset)
    spec = get_spec(dataset)
    assert spec.embedded, "the default dataset needs no download"
    default_setting = spec.setting(setting)
    if cls.requires_known_anomalies:  # a method that needs known anomalies is semi-supervised and runs by default
        assert cls.supervision == "semi" and has_known_anomalies(default_setting)


def test_the_registry_lists_exactly_the_declared_detectors():
    assert detectors.names() == sorted(BUILT_IN)
    for name in BUILT_IN:
        assert issubclass(detectors.get(name), detectors.BaseDetector)


def test_the_readme_methods_table_is_the_declarations():
    text = README.read_text()
    start = text.index("| name | method | supervision | default dataset (setting) |")
    table = text[start:text.index("\n\n", start)]
    assert table == listing.markdown_table(), "regenerate it with: adray methods --markdown"
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z0-9]+)` \| .*? \| ([^|]+) \| [^|]+ \|$", table,
                                                        re.MULTILINE)}
    assert set(rows) == set(BUILT_IN)  # exactly the registry's methods, each with its declared supervision
    for name, supervision in rows.items():
        cls = detectors.get(name)
        assert supervision.split(" ")[0] == cls.supervision
        assert ("needs known anomalies" in supervision) == cls.requires_known_anomalies


@pytest.mark.parametrize("name, key, value, expected", [
    ("ae", "hidden_dims", "abc", "AutoEncoder: hidden_dims='abc' must be None or a non-empty sequence of positive "
                                 "integers"),
    ("ae", "hidden_dims", [64, -3], "AutoEncoder: hidden_dims=[64, -3] must be None or a non-empty sequence"),
    ("ae", "dropout", 1.0, "AutoEncoder: dropout=1.0 must be a number in [0, 1)"),
    ("ae", "architecture", "cnn", "AutoEncoder: architecture='cnn' must be one of 'mlp', 'dense'"),
    ("deepsvdd", "hidden_dims", [0], "DeepSVDD: hidden_dims=[0] must be None or a non-empty sequence"),
    ("dagmm", "comp_hiddens", None, "DAGMM: comp_hiddens=None must be a non-empty sequence of positive integers"),
    ("repen", "epochs", 31, "REPEN: epochs=31 must be an integer in [0, 30]"),
    ("gandi", "g_arch", 4, "GANDI: g_arch=4 must be one of 1, 2, 3"),
    ("r2ad2", "grad_types", ["kernel", "weights"], "R2AD2: grad_types=['kernel', 'weights'] must be one of"),
    ("iforest", "n_estimators", 2.5, "IForest: n_estimators=2.5 must be an integer >= 1"),
])
def test_fit_and_the_sweep_refuse_a_value_with_the_same_message(name, key, value, expected, toy):
    request = SweepRequest(methods=[name], datasets=["synthetic"], seeds=[1], overrides={key: [value]})
    with pytest.raises(ParamError) as from_sweep:
        expand_trials(request)  # before Ray: expansion is all a sweep does before it starts Ray
    det = detectors.build(name, **{**detectors.get(name).smoke_params, key: value})
    with pytest.raises(ParamError) as from_fit:
        det.fit(toy.X_train, np.zeros(len(toy.X_train), dtype=np.int64))
    assert str(from_sweep.value) == str(from_fit.value)
    assert str(from_fit.value).startswith(expected)
    assert isinstance(from_fit.value, AdrayError) and not hasattr(det, "networks_")  # refused before training


def test_fit_refuses_before_touching_the_data():
    with pytest.raises(ParamError, match=r"dropout=-0.1 must be a number in \[0, 1\)"):
        detectors.build("ae", dropout=-0.1).fit(np.zeros((4, 3)))


@pytest.mark.parametrize("value, message", [
    ("uniform(0,1)", "AutoEncoder: dropout=1 must be a number in [0, 1)"),
    ("choice(0.1,2)", "AutoEncoder: dropout=2 must be a number in [0, 1)"),
])
def test_a_distribution_is_held_to_the_same_table(value, message):
    request = SweepRequest(methods=["ae"], datasets=["synthetic"], overrides=parse_set([f"dropout={value}"]),
                           search="random")
    with pytest.raises(AdrayError) as refused:
        expand_trials(request)
    assert "can sample a value the detector refuses" in str(refused.value) and message in str(refused.value)


def test_a_whole_number_cannot_take_a_uniform_distribution_and_a_range_inside_the_table_passes():
    with pytest.raises(AdrayError, match="n_estimators is a whole number"):
        expand_trials(SweepRequest(methods=["iforest"], datasets=["synthetic"], search="random",
                                   overrides=parse_set(["n_estimators=uniform(10,100)"])))
    ok = SweepRequest(methods=["ae"], datasets=["synthetic"], search="random",
                      overrides=parse_set(["dropout=uniform(0,0.5)", "epochs=randint(1,5)"]))
    assert expand_trials(ok) == []  # a searched sweep has no trials up front; nothing refused


def test_a_plug_in_without_a_table_is_held_to_the_types_of_its_defaults():
    from adray.testing.detectors import Scripted

    table = constraints_of(Scripted)
    assert "quality" in table and "lucky_seed" in table
    check_params(Scripted, {"quality": 0.5, "lucky_seed": -1})
    with pytest.raises(ParamError, match=r"Scripted: lucky_seed=1.5 must be an integer"):
        check_params(Scripted, {"lucky_seed": 1.5})
    with pytest.raises(ParamError, match=r"Scripted: quality='high' must be a number"):
        check_params(Scripted, {"quality": "high"})


def test_methods_lists_supervision_summary_default_dataset_and_grid_size():
    text = listing.methods_text()
    assert "devnet: DevNet (KDD 2019)" in text
    assert "supervision: semi (needs known anomalies); GPU: yes; default dataset: breast_cancer" in text
    assert "default grid (2 configurations)" in text and "default grid (4 configurations)" in text  # iforest, dagmm
    assert text.splitlines()[-1].startswith("Any PyOD detector runs as pyod:<Name>, e.g. pyod:ECOD")
    assert "module docstring" not in text


def test_pyod_wrappers_declare_one_configuration_and_a_dataset_by_their_supervision():
    pytest.importorskip("pyod")
    ecod = detectors.get("pyod:ECOD")
    assert ecod.default_grid == {} and listing.grid_size(ecod) == 1
    assert ecod.default_dataset == "breast_cancer:unsupervised" and not ecod.requires_known_anomalies
    (trial,) = expand_trials(SweepRequest(methods=["pyod:ECOD"], seeds=[1]))
    assert (trial.dataset, trial.setting.name, trial.params) == ("breast_cancer", "unsupervised", {})
    assert inspect.getdoc(ecod)
