"""The ledger (sweep.json) without Ray: what a sweep records, how a resume may widen it, how it is read."""

import json

import pytest

from adray.errors import AdrayError
from adray.sweep.ledger import LEDGER_FILE, Ledger, read_ledger, write_ledger
from adray.sweep.request import SweepRequest, expand_trials, parse_set


@pytest.fixture(autouse=True)
def sleepy_registered(monkeypatch):
    monkeypatch.setenv("ADRAY_DETECTORS", "sleepy=adray.testing.detectors:Sleepy")


def _request(seeds=(1, 2), **overrides) -> SweepRequest:
    sets = [f"{k}={v}" for k, v in {"epochs": "2,3", **overrides}.items()]
    return SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=list(seeds), overrides=parse_set(sets))


def test_the_ledger_records_the_request_and_every_trial_and_survives_a_round_trip(tmp_path):
    request = _request()
    trials = expand_trials(request)
    ledger = Ledger.new("s1", request.to_dict(), trials)
    assert len(ledger) == 4 and len(ledger.configs) == 2  # 2 configurations x 2 seeds
    assert [ledger.key(i) for i in range(4)] == [t.trial_key for t in trials]
    write_ledger(tmp_path, ledger)
    raw = json.loads((tmp_path / LEDGER_FILE).read_text())
    assert raw["request"]["methods"] == ["sleepy"] and raw["request"]["seeds"] == [1, 2]
    assert raw["adray_version"] and sorted(seed for _, seed in raw["trials"]) == [1, 1, 2, 2]
    again = read_ledger(tmp_path)
    assert again.keys() == ledger.keys()
    assert again.trial(3).to_dict() == trials[3].to_dict()
    assert len({again.dirname(i) for i in range(4)}) == 4  # every trial has its own folder name


def test_adding_trials_keeps_indices_and_never_adds_one_twice():
    ledger = Ledger.new("s1", {}, expand_trials(_request()))
    before = ledger.keys()
    added = ledger.add(expand_trials(_request(seeds=(1, 2, 3))))
    assert added == [4, 5] and ledger.keys()[:4] == before  # only seed 3's two configurations are new
    assert ledger.add(expand_trials(_request(seeds=(1, 2, 3)))) == []


@pytest.mark.parametrize("change, expected", [
    (dict(methods=["sleepy", "iforest"]), "methods: the sweep has ['sleepy']"),
    (dict(datasets=["breast_cancer"]), "datasets: the sweep has ['synthetic']"),
    (dict(seeds=[1]), "leaves out [2]"),
    (dict(overrides={"epochs": [2]}), "--set epochs: this command leaves out [3]"),
    (dict(overrides={"epochs": [2, 3], "seconds_per_epoch": [0]}), "a new axis"),
    (dict(overrides={}), "--set epochs: the sweep has [2, 3], this command leaves it out"),
])
def test_a_resume_may_only_add_seeds_and_values(change, expected):
    ledger = Ledger.new("s1", _request().to_dict(), [])
    refused = ledger.refused_changes({**_request().to_dict(), **change})
    assert any(expected in line for line in refused), refused
    widened = {**_request().to_dict(), "seeds": [1, 2, 5], "overrides": {"epochs": [2, 3, 4]}}
    assert ledger.refused_changes(widened) == []


def test_a_damaged_ledger_is_an_error_that_says_what_to_do(tmp_path):
    (tmp_path / LEDGER_FILE).write_text('{"format": 1, "name": "x", "req')
    with pytest.raises(AdrayError, match="sweep.json is damaged.*restore it from a copy"):
        read_ledger(tmp_path)
    assert read_ledger(tmp_path / "nothing-here") is None


def test_a_method_prefixed_key_sets_that_method_only(monkeypatch):
    request = SweepRequest(methods=["sleepy", "iforest"], datasets=["synthetic"], seeds=[1],
                           overrides=parse_set(["epochs=2", "sleepy.epochs=5", "n_estimators=10"]))
    params = {t.method: t.params for t in expand_trials(request)}
    assert params["sleepy"]["epochs"] == 5 and params["iforest"]["n_estimators"] == 10
    assert "epochs" not in params["iforest"]
    from adray.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="METHOD.KEY"):
        expand_trials(SweepRequest(methods=["sleepy"], overrides=parse_set(["iforest.n_estimators=3"])))
