"""Sweeps on a real local Ray: artifacts, errors, fractional GPUs, successive tuners and the console.

Retries, several nodes, interruptions and resume are in ``tests/faults``."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from adray import artifacts  # noqa: E402
from adray.analysis.collect import collect  # noqa: E402
from adray.analysis.select import select_configs  # noqa: E402
from adray.errors import AdrayError, UnknownNameError  # noqa: E402
from adray.sweep.request import SweepRequest, expand_trials, parse_set  # noqa: E402
from adray.tune.runner import run_sweep  # noqa: E402

pytestmark = pytest.mark.ray
REPO = Path(__file__).resolve().parents[2]
PLUGIN = "sleepy=adray.testing.detectors:Sleepy"


@pytest.fixture
def plugin_env(monkeypatch):
    # set before ray.init: Ray's workers inherit the driver's environment
    monkeypatch.setenv("ADRAY_DETECTORS", PLUGIN)
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "1")


@pytest.fixture
def local_ray(plugin_env):
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _outcomes(sweep: Path) -> list[dict]:
    out = []
    for folder in sorted(p for p in sweep.iterdir() if p.is_dir()):
        outcome = artifacts.read_json(folder / artifacts.TRIAL)
        if outcome is not None:
            out.append({**outcome, "dir": folder})
    return out


def _max_overlap(outcomes) -> int:
    events = sorted([(o["start_time"], 1) for o in outcomes] + [(o["end_time"], -1) for o in outcomes],
                    key=lambda e: (e[0], e[1]))
    best = running = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def test_two_methods_two_seeds_write_every_artifact(local_ray, tmp_path):
    request = SweepRequest(methods=["ae", "iforest"], datasets=["breast_cancer"], seeds=[110, 210],
                           overrides=parse_set(["batch_size=64", "n_estimators=50"]), smoke=True,
                           storage=str(tmp_path), name="two", verbose=0, checkpoint_every=1)
    sweep = run_sweep(request).folder
    outcomes = _outcomes(sweep)
    assert sorted((o["config"]["method"], o["config"]["seed"]) for o in outcomes) == [
        ("ae", 110), ("ae", 210), ("iforest", 110), ("iforest", 210)]
    for o in outcomes:
        assert o["status"] == "ok", o.get("error")
        folder = o["dir"]
        for name in (artifacts.METRICS, artifacts.ROC, artifacts.SCORES, artifacts.HISTORY, artifacts.CONFIG,
                     "progress.csv", "result.json"):
            assert (folder / name).stat().st_size > 0, f"{folder.name}/{name}"
        config = json.loads((folder / artifacts.CONFIG).read_text())
        assert config["method"] == o["config"]["method"] and config["trial_key"] == o["config"]["trial_key"]
        assert json.loads((folder / "params.json").read_text()) == {"i": config["index"]}  # Tune's copy: tiny
        assert len(pd.read_parquet(folder / artifacts.SCORES)) == o["n_val"] + o["n_test"]
        assert list(folder.glob("events.out.tfevents.*")), "TensorBoard logs missing"
    iforest = [o for o in outcomes if o["config"]["method"] == "iforest"]
    assert all(o["test"]["auc"] > 0.8 for o in iforest)
    runs = collect(sweep)
    assert len(runs) == 4 and set(runs.status) == {"ok"} and set(runs.method) == {"ae", "iforest"}
    assert set(select_configs(runs).method) == {"ae", "iforest"}

    # the analysis reads the real sweep folder end to end
    from adray.analysis.report import make_report

    result = make_report(sweep, reference="iforest")
    merged = pd.read_csv(result.report_dir / "merged.csv")
    row = merged[(merged.method == "iforest") & (merged.split == "test") & (merged.metric == "auc")]
    assert row["mean"].item() == pytest.approx(sum(o["test"]["auc"] for o in iforest) / 2)
    assert row["n"].item() == 2
    assert "| iforest |" in result.table and "| ae |" in result.table
    for png in ("roc", "history", "spread"):
        (path,) = (result.report_dir / "plots").glob(f"{png}_*.png")
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 1000


def test_failing_detectors_are_recorded_and_the_sweep_goes_on(local_ray, tmp_path):
    request = SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=[1],
                           overrides=parse_set(["seconds_per_epoch=0", "fail_at_epoch=0,2", "nan_scores=false,true"]),
                           storage=str(tmp_path), name="errors", verbose=0)
    outcomes = _outcomes(run_sweep(request).folder)
    by_params = {(o["config"]["params"]["fail_at_epoch"], o["config"]["params"]["nan_scores"]): o for o in outcomes}
    assert len(by_params) == 4
    assert by_params[(0, False)]["status"] == "ok"
    assert "failing on purpose" in by_params[(2, False)]["error"]
    assert "non-finite" in by_params[(0, True)]["error"]


def test_fractional_gpus_pack_four_trials_on_one_gpu(plugin_env, tmp_path):
    ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)  # a logical GPU
    try:
        request = SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=[1, 2, 3, 4],
                               overrides=parse_set(["epochs=2", "seconds_per_epoch=2"]), gpus_per_trial=0.25,
                               cpus_per_trial=0.25, storage=str(tmp_path), name="gpu", verbose=0)
        outcomes = _outcomes(run_sweep(request).folder)
    finally:
        ray.shutdown()
    assert len(outcomes) == 4 and all(o["status"] == "ok" for o in outcomes)
    assert _max_overlap(outcomes) == 4
    assert all(o["device"] == "cpu" for o in outcomes)  # no CUDA here: the trial falls back, never fails


def _grid(*args, storage):
    env = {**os.environ, "ADRAY_DETECTORS": PLUGIN, "TUNE_GLOBAL_CHECKPOINT_S": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    return [sys.executable, str(REPO / "sweeps" / "grid.py"), *args, "--storage", str(storage)], env


def test_bad_requests_fail_before_anything_runs():
    with pytest.raises(UnknownNameError, match="unknown detector 'nope'.*ae"):
        expand_trials(SweepRequest(methods=["nope"]))
    with pytest.raises(UnknownNameError, match="--set epochz.*ae: .*epochs"):
        expand_trials(SweepRequest(methods=["ae"], overrides=parse_set(["epochz=3"])))
    with pytest.raises(AdrayError, match=r"AutoEncoder: epochs=-5 must be an integer >= 0"):
        expand_trials(SweepRequest(methods=["ae"], overrides=parse_set(["epochs=-5"])))
    with pytest.raises(AdrayError, match=r"learning_rate='fast' must be a number"):
        expand_trials(SweepRequest(methods=["ae"], overrides=parse_set(["learning_rate=fast"])))
    with pytest.raises(AdrayError, match="p_contamination"):
        expand_trials(SweepRequest(methods=["ae"], overrides=parse_set(["p_contamination=1.5"])))
    with pytest.raises(AdrayError, match="not available.*nsl_kdd"):
        expand_trials(SweepRequest(methods=["ae"], datasets=["nsl_kdd"]))


def test_gpus_on_a_cpu_only_cluster_are_refused_with_a_clear_message(tmp_path):
    command, env = _grid("--method", "iforest", "--gpus-per-trial", "0.25", "--name", "nogpu", storage=tmp_path)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "asks for GPUs, but the Ray cluster has none" in result.stderr and "--gpus-per-trial 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "nogpu").glob("*/trial.json"))


def test_a_sweep_larger_than_one_tuner_runs_as_successive_tuners_in_one_folder(local_ray, tmp_path):
    request = SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=[1, 2, 3],
                           overrides=parse_set(["epochs=2", "seconds_per_epoch=0"]), storage=str(tmp_path),
                           name="chunks", verbose=0, tuner_size=2, checkpoint_every=1)
    result = run_sweep(request)
    assert result.outcome == "complete" and result.counts["ok"] == 3
    outcomes = _outcomes(result.folder)
    assert sorted(o["config"]["seed"] for o in outcomes) == [1, 2, 3]
    assert not list(result.folder.glob("experiment_state-*.json"))  # each Tuner's state is dropped when it ends
    for o in outcomes:  # a trial keeps its newest checkpoints only (here: both, two epochs)
        assert len(list(o["dir"].glob("checkpoint_*/state.pt"))) <= 2


def test_the_console_names_configurations_and_the_winners_and_points_at_the_results(tmp_path):
    command, env = _grid("--method", "sleepy", "--dataset", "synthetic", "--seeds", "1", "--set", "epochs=1,2",
                         "--set", "seconds_per_epoch=0", "--name", "console", storage=tmp_path)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Result logdir" not in out + result.stderr and f"Results: {tmp_path / 'console'}" in out
    rows = [line for line in out.splitlines() if "sleepy synthetic:default s1 #" in line]
    assert any("epochs=1" in r for r in rows) and any("epochs=2" in r for r in rows)  # rows tell configurations apart
    assert "Ray dashboard:" in out
    winners = out[out.index("chosen configurations"):]
    assert re.search(r"sleepy on synthetic:default: #[0-9a-f]{6} \{.*\"epochs\": [12].*\} \(by validation\)", winners)


def test_a_sweep_file_is_copied_into_the_sweep_folder(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text("methods: [sleepy]\ndatasets: [synthetic]\nseeds: [1]\nset:\n  epochs: [1]\n"
                      "  seconds_per_epoch: [0]\nname: from-file\n")
    command, env = _grid("--config", str(config), "--no-report", storage=tmp_path)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "from-file" / "sweep.yaml").read_text() == config.read_text()
    ledger = json.loads((tmp_path / "from-file" / "sweep.json").read_text())
    assert ledger["request"]["config_file"] == str(config.resolve()) and len(ledger["trials"]) == 1
