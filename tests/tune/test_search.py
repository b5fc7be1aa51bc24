"""Seed-aware search and early stopping: the unit is a configuration, judged on the mean over its seeds."""

import itertools
import json
import math
from types import SimpleNamespace

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("optuna")

from ray.tune.schedulers import TrialScheduler  # noqa: E402

from adray.analysis.report import make_report  # noqa: E402
from adray.data import get_spec  # noqa: E402
from adray.sweep.ledger import Ledger  # noqa: E402
from adray.sweep.request import SearchCell, SweepRequest, parse_set, search_cells  # noqa: E402
from adray.sweep.space import Distribution  # noqa: E402
from adray.sweep.trial import TrialConfig  # noqa: E402
from adray.tune.runner import run_sweep  # noqa: E402
from adray.tune.search import SeedAwareASHA, SeedAwareSearch  # noqa: E402

PLUGIN = "scripted=adray.testing.detectors:Scripted"
SEEDS = (1, 2, 3)
# validation curves per seed (flat over epochs): A is best on the mean but worst on seed 3; B is lucky on seed 1
CURVES = {"A": (0.80, 0.80, 0.62), "B": (0.95, 0.55, 0.55), "C": (0.70, 0.70, 0.70), "D": (0.60, 0.60, 0.60)}


def _ledger() -> tuple[Ledger, dict[str, list[int]]]:
    setting = get_spec("synthetic").setting()
    ledger, indices = Ledger(name="asha", request={}), {}
    for name in CURVES:
        trials = [TrialConfig("scripted", "synthetic", setting, s, {"name": name}) for s in SEEDS]
        indices[name] = ledger.add(trials)
    return ledger, indices


def _judge(order: list[str], per_seed: bool = False) -> dict[str, str]:
    """Feed epoch 1 of every seed, configuration by configuration in ``order``; returns each one's fate."""
    ledger, indices = _ledger()
    scheduler = SeedAwareASHA(ledger, sweep_dir=None, grace_period=1, reduction_factor=3)
    fate = {}
    for name in order:
        decisions = []
        for seed_index, index in enumerate(indices[name]):
            trial = SimpleNamespace(config={"i": index})
            decisions.append(scheduler.on_trial_result(None, trial, {"epoch": 1,
                                                                     "val_auc": CURVES[name][seed_index]}))
        fate[name] = "stopped" if TrialScheduler.STOP in decisions else "continues"
    return fate


def test_a_configuration_best_on_the_mean_survives_every_order_and_a_lucky_one_does_not():
    for order in itertools.permutations(CURVES):
        fate = _judge(list(order))
        assert fate["A"] == "continues", order  # worst single seed (0.62), best mean (0.74)
        if order.index("B") > min(order.index("A"), order.index("C")):
            # judged after a configuration better on the mean, B is stopped: its best single seed (0.95) does
            # not save a mean of 0.68 (asynchronous halving judges each arrival against those already there)
            assert fate["B"] == "stopped", order
    # what judging single seeds would do instead: keep B's lucky seed, drop A's weak one
    ranked = sorted((v, f"{n}{i}") for n, values in CURVES.items() for i, v in enumerate(values))
    cutoff = ranked[int(len(ranked) * (1 - 1 / 3))][0]
    assert CURVES["B"][0] >= cutoff > CURVES["A"][2]


def test_a_stopped_configuration_stops_all_its_seeds_together():
    ledger, indices = _ledger()
    scheduler = SeedAwareASHA(ledger, sweep_dir=None, grace_period=1, reduction_factor=3)
    for name in ("A", "B"):
        for seed_index, index in enumerate(indices[name]):
            scheduler.on_trial_result(None, SimpleNamespace(config={"i": index}),
                                      {"epoch": 1, "val_auc": CURVES[name][seed_index]})
    for index in indices["B"]:  # every seed of B gets STOP at its next report, ahead or behind
        assert scheduler.on_trial_result(None, SimpleNamespace(config={"i": index}),
                                         {"epoch": 2, "val_auc": 0.99}) == TrialScheduler.STOP
    assert scheduler.on_trial_result(None, SimpleNamespace(config={"i": indices["A"][0]}),
                                     {"epoch": 2, "val_auc": 0.1}) == TrialScheduler.CONTINUE


class _Recorder:
    """Stands in for Tune's OptunaSearch: records what the seed-aware searcher tells it."""

    def __init__(self):
        self.told, self.count = [], 0

    def suggest(self, sample_id):
        self.count += 1
        return {"quality": 0.5 + 0.01 * self.count}

    def on_trial_complete(self, sample_id, result=None, error=False):
        self.told.append((sample_id, result, error))

    def add_evaluated_point(self, params, value):
        self.told.append(("known", params, value))


def test_the_searcher_is_told_the_mean_validation_metric_over_seeds_once_all_have_ended(monkeypatch):
    setting = get_spec("synthetic").setting()
    cell = SearchCell("scripted", "synthetic", setting, {}, {"quality": Distribution("uniform", (0.5, 0.9))}, SEEDS)
    monkeypatch.setattr(SeedAwareSearch, "_optuna", staticmethod(lambda cell, kind, seed, samples: _Recorder()))
    ledger = Ledger(name="s", request={})
    search = SeedAwareSearch([cell], ledger, samples=2, kind="optuna", seed=0, max_inflight=1, on_new=lambda i: None)
    configs = [search.suggest(f"t{k}") for k in range(3)]
    assert [c["t"]["seed"] for c in configs] == list(SEEDS) and search.suggest("t3") is None  # one in flight
    recorder = search.inner[0]
    for k, value in enumerate((0.9, 0.7)):
        search.on_trial_complete(f"t{k}", {"val_auc": value, "test_auc": 0.0})
        assert recorder.told == []  # a single seed's value is never told
    search.on_trial_complete("t2", {"val_auc": 0.5, "test_auc": 1.0})
    (sample_id, result, error), = recorder.told
    assert result == {"val_auc": pytest.approx(0.7)} and not error  # the mean of the validation values only
    assert len(ledger) == 3 and {ledger.trial(i).seed for i in range(3)} == set(SEEDS)
    more = [search.suggest(f"u{k}") for k in range(3)]
    assert all(c is not None for c in more) and search.suggest("u3") is None
    for k in range(3):
        search.on_trial_complete(f"u{k}", {"val_auc": math.nan} if k == 0 else None, error=k > 0)
    assert recorder.told[-1][2] is True  # no seed with a value: the configuration failed
    assert search.suggest("v") == "FINISHED"


def test_searched_sweep_with_seed_aware_asha_on_real_ray(monkeypatch, tmp_path):
    monkeypatch.setenv("ADRAY_DETECTORS", PLUGIN)
    request = SweepRequest(methods=["scripted"], datasets=["synthetic"], seeds=list(SEEDS), storage=str(tmp_path),
                           name="searched", verbose=0, search="optuna", samples=4, search_seed=7, scheduler="asha",
                           overrides=parse_set(["epochs=9", "quality=uniform(0.5,0.9)", "lift=0.05"]))
    assert len(search_cells(request)) == 1
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = run_sweep(request)
    finally:
        ray.shutdown()
    assert result.outcome == "complete", result.summary()
    ledger = json.loads((tmp_path / "searched" / "sweep.json").read_text())
    assert len(ledger["configs"]) == 4 and len(ledger["trials"]) == 12  # 4 sampled configurations x 3 seeds
    counts = result.counts
    assert counts["ok"] + counts["stopped"] == 12 and counts["error"] == 0
    report = make_report(tmp_path / "searched")
    assert report.counts["stopped"] == counts["stopped"]
    for name in ("search", "params"):  # best-so-far and score-per-hyperparameter plots of a searched sweep
        (png,) = (tmp_path / "searched" / "report" / "plots").glob(f"{name}_*.png")
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000
    qualities = {c["config_id"]: c["params"]["quality"] for c in ledger["configs"]}
    import pandas as pd

    runs = pd.read_parquet(tmp_path / "searched" / "report" / "runs.parquet")
    stopped = set(runs.loc[runs.status == "stopped", "config_id"])
    assert max(qualities, key=qualities.get) not in stopped  # the best configuration always runs to the end
    chosen = pd.read_csv(tmp_path / "searched" / "report" / "selected.csv").config_id.item()
    assert chosen not in stopped
