"""Selection on validation (never test) and seed merging on hand numbers."""

from __future__ import annotations

import math

import pytest

from adray import artifacts
from adray.analysis.collect import collect
from adray.analysis.merge import cell_values, merge_seeds
from adray.analysis.select import select_configs

GOOD_VAL = {"lr": 0.1}  # best on validation, worse on test
GOOD_TEST = {"lr": 0.01}  # worse on validation, best on test


def _val_vs_test(sweep):
    for seed, v, t in ((110, 0.90, 0.70), (210, 0.92, 0.72)):
        sweep.add(method="ae", seed=seed, params=GOOD_VAL, val=v, test=t)
    for seed, v, t in ((110, 0.80, 0.95), (210, 0.82, 0.97)):
        sweep.add(method="ae", seed=seed, params=GOOD_TEST, val=v, test=t)
    return collect(sweep.path)


def test_the_best_validation_configuration_is_chosen_not_the_best_test_one(sweep):
    selected = select_configs(_val_vs_test(sweep), "auc")
    assert len(selected) == 1
    row = selected.iloc[0]
    assert row["config_id"] == artifacts.config_id("ae", GOOD_VAL)
    assert row["val_auc_mean"] == pytest.approx(0.91) and row["val_auc_n"] == 2
    assert row["selected_by"] == "validation" and row["n_configs"] == 2


def test_merged_test_numbers_are_those_of_the_chosen_configuration(sweep):
    runs = _val_vs_test(sweep)
    cell = cell_values(merge_seeds(runs, select_configs(runs)), "auc").iloc[0]
    assert cell["mean"] == pytest.approx(0.71) and cell["n"] == 2  # not 0.96 (the best test config)


def test_ties_prefer_more_seeds_then_config_id(sweep):
    sweep.add(method="ae", seed=110, params={"lr": 1}, val=0.8)
    sweep.add(method="ae", seed=110, params={"lr": 2}, val=0.8)
    sweep.add(method="ae", seed=210, params={"lr": 2}, val=0.8)
    sweep.add(method="ae", seed=110, params={"lr": 3}, val=0.8)
    sweep.add(method="ae", seed=210, params={"lr": 3}, val=0.8)
    chosen = select_configs(collect(sweep.path)).iloc[0]["config_id"]
    tied = sorted([artifacts.config_id("ae", {"lr": 2}), artifacts.config_id("ae", {"lr": 3})])
    assert chosen == tied[0]


def test_failed_seeds_do_not_vote_and_a_lone_configuration_is_used_without_validation(sweep):
    sweep.add(method="ae", seed=110, params={"lr": 1}, val=0.6)
    sweep.add(method="ae", seed=210, params={"lr": 2}, status="error")  # would never win: it has no values
    sweep.add(method="if", seed=110, params={"n": 1}, val=None, test=0.7)  # NaN validation metric
    selected = select_configs(collect(sweep.path)).set_index("method")
    assert selected.loc["ae", "config_id"] == artifacts.config_id("ae", {"lr": 1})
    assert selected.loc["if", "selected_by"] == "only configuration"
    assert "no ok seed" in selected.loc["if", "note"]


def test_seed_merge_mean_std_n_on_hand_numbers(sweep):
    for seed, value in ((110, 0.8), (210, 0.9), (310, 0.7)):
        sweep.add(method="ae", seed=seed, test=value, val=0.5, ap=(0.4, value - 0.2))
    sweep.add(method="ae", seed=410, status="error", error="ValueError: boom")
    sweep.add(method="ae", seed=510, status="incomplete")
    sweep.add(method="if", seed=110, test=0.6, val=0.5)  # if: one seed only
    sweep.add(method="if", seed=610, status="crash")  # a seed no other method ran is still expected
    runs = collect(sweep.path)
    merged = merge_seeds(runs, select_configs(runs))
    ae = cell_values(merged, "auc").set_index("method").loc["ae"]
    assert ae["mean"] == pytest.approx(0.8) and ae["std"] == pytest.approx(0.1) and ae["n"] == 3
    ap = cell_values(merged, "ap").set_index("method").loc["ae"]
    assert ap["mean"] == pytest.approx(0.6) and ap["std"] == pytest.approx(0.1)
    assert ae["seeds_expected"] == "110,210,310,410,510,610" and ae["seeds_ok"] == "110,210,310"
    assert ae["seeds_missing"] == "410 (error: ValueError: boom), 510 (incomplete), 610 (absent)"
    assert ae["n_expected"] == 6 and ae["n_ok"] == 3
    lone = cell_values(merged, "auc").set_index("method").loc["if"]
    assert lone["mean"] == pytest.approx(0.6) and lone["n"] == 1 and math.isnan(lone["std"])  # ddof=1: undefined
    assert "610 (error: ray.exceptions.WorkerCrashedError" in lone["seeds_missing"]
    val = merged[(merged["split"] == "val") & (merged["metric"] == "auc") & (merged["method"] == "ae")].iloc[0]
    assert val["mean"] == pytest.approx(0.5)
