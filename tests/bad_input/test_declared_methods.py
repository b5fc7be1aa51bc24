"""What a method declares reaches the command line: a plug-in's own grid and dataset, hyperparameter values
its table refuses, and a setting without the known anomalies it needs; each refusal is one line, exit 2,
before Ray starts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adray.sweep.request import SweepRequest, expand_trials

REPO = Path(__file__).resolve().parents[2]
PLUGINS = ("declared=adray.testing.detectors:Declared,needs=adray.testing.detectors:NeedsAnomalies,"
           "sleepy=adray.testing.detectors:Sleepy")


def command(*args, storage):
    env = {**os.environ, "ADRAY_DETECTORS": PLUGINS, "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, str(REPO / "sweeps" / "grid.py"), *args, "--storage", str(storage)],
                          capture_output=True, text=True, env=env, timeout=180)


def refused(result, *phrases):
    assert result.returncode == 2, (result.returncode, result.stdout[-800:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "Started a local Ray" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines  # one line
    for phrase in phrases:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"


def test_a_plug_in_runs_its_own_grid_on_its_own_dataset(monkeypatch, tmp_path):
    monkeypatch.setenv("ADRAY_DETECTORS", PLUGINS)
    trials = expand_trials(SweepRequest(methods=["declared"], seeds=[1, 2]))
    assert {(t.dataset, t.setting.name) for t in trials} == {("digits", "r2ad2")}
    assert sorted({t.params["epochs"] for t in trials}) == [1, 2] and len(trials) == 4
    result = subprocess.run([sys.executable, "-m", "adray.cli", "sweep", "--method", "declared", "--seeds", "1",
                             "--dry-run", "--storage", str(tmp_path)], capture_output=True, text=True, timeout=180,
                            env={**os.environ, "ADRAY_DETECTORS": PLUGINS})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "declared on digits:r2ad2: 2 configuration(s) x 1 seed(s) = 2 trials" in result.stdout
    # a plug-in that declares nothing: one configuration (its defaults) on the synthetic set
    (plain,) = expand_trials(SweepRequest(methods=["sleepy"], seeds=[1]))
    assert (plain.dataset, plain.params) == ("synthetic", {})


@pytest.mark.parametrize("value, phrase", [
    ("hidden_dims=abc", "AutoEncoder: hidden_dims='abc' must be None or a non-empty sequence of positive integers"),
    ("hidden_dims=[64,-3]", "AutoEncoder: hidden_dims=[64, -3] must be None or a non-empty sequence of positive"),
    ("dropout=1.0", "AutoEncoder: dropout=1.0 must be a number in [0, 1)"),
])
def test_a_value_the_table_refuses_stops_the_sweep_before_ray(tmp_path, value, phrase):
    refused(command("--method", "ae", "--dataset", "synthetic", "--set", value, storage=tmp_path), phrase)
    assert not (tmp_path).exists() or not list(tmp_path.rglob("sweep.json"))


@pytest.mark.parametrize("method, dataset, phrases", [
    ("devnet", "breast_cancer:unsupervised",
     ["devnet cannot train without known anomalies", "breast_cancer:unsupervised has none",
      "--dataset breast_cancer:default"]),
    ("needs", "gaussian_shift", ["needs cannot train without known anomalies", "gaussian_shift:default has none",
                                 "no setting of gaussian_shift has any", "--set n_train_anomalies=20"]),
])
def test_a_method_that_needs_known_anomalies_is_refused_on_a_setting_without_any(tmp_path, method, dataset, phrases):
    refused(command("--method", method, "--dataset", dataset, storage=tmp_path), *phrases)


def test_the_same_method_runs_where_the_setting_has_known_anomalies(monkeypatch):
    monkeypatch.setenv("ADRAY_DETECTORS", PLUGINS)
    assert expand_trials(SweepRequest(methods=["devnet", "needs"], datasets=["breast_cancer"], seeds=[1]))
    assert expand_trials(SweepRequest(methods=["needs"], datasets=["gaussian_shift"], seeds=[1],
                                      overrides={"n_train_anomalies": [20]}))
