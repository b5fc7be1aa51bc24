"""Fault injection on a local Ray cluster of several simulated nodes.

After each fault: every trial that should finish has finished exactly once, its artifacts parse, the
report's counts match, and nothing from a killed attempt is mistaken for a result.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from adray import artifacts  # noqa: E402
from adray.analysis.collect import collect  # noqa: E402
from adray.analysis.report import make_report  # noqa: E402
from adray.sweep.request import SweepRequest, parse_set  # noqa: E402
from adray.tune.runner import run_sweep  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.fault]
REPO = Path(__file__).resolve().parents[2]
PLUGIN = "sleepy=adray.testing.detectors:Sleepy"


def start_cluster(monkeypatch, *worker_cpus, **env) -> Cluster:
    """Head (1 CPU) + one node per entry of ``worker_cpus``; ``env`` reaches every worker process."""
    for key, value in {"ADRAY_DETECTORS": PLUGIN, "TUNE_GLOBAL_CHECKPOINT_S": "1", **env}.items():
        monkeypatch.setenv(key, value)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=cpus) for cpus in worker_cpus]
    cluster.wait_for_nodes()
    cluster.worker_nodes_ = nodes
    return cluster


def stop(cluster: Cluster) -> None:
    ray.shutdown()
    cluster.shutdown()


def outcomes(sweep: Path) -> list[dict]:
    """Every trial folder's outcome; a folder without trial.json counts as None."""
    found = []
    for folder in sorted(p for p in sweep.iterdir() if p.is_dir() and p.name != "report"):
        found.append({**(artifacts.read_json(folder / artifacts.TRIAL) or {"status": None}), "dir": folder})
    return found


def assert_complete(sweep: Path, expected_ok: int, expected_error: int = 0) -> list[dict]:
    """Each trial ran to one outcome, artifacts parse, and the report counts agree."""
    found = outcomes(sweep)
    assert len(found) == expected_ok + expected_error, [o["dir"].name for o in found]
    assert all(o["status"] in ("ok", "error") for o in found), "a trial has no outcome"
    for o in (o for o in found if o["status"] == "ok"):
        metric = pd.read_csv(o["dir"] / artifacts.METRICS)
        assert list(metric.split) == ["val", "test"] and metric.auc.notna().all()
        scores = pd.read_parquet(o["dir"] / artifacts.SCORES)
        assert len(scores) == o["n_val"] + o["n_test"]
        history = pd.read_csv(o["dir"] / artifacts.HISTORY)
        assert list(history.epoch) == list(range(1, len(history) + 1)), "an epoch is missing or repeated"
    trials = {(o["config"]["config_id"], o["config"]["seed"]) for o in found}
    assert len(trials) == len(found), "a trial ran twice into two folders"
    result = make_report(sweep, plots=False)
    assert result.counts.get("ok", 0) == expected_ok and result.counts.get("error", 0) == expected_error
    return found


def sleepy(seeds, storage, name, *extra, **kw) -> SweepRequest:
    return SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=list(seeds),
                        overrides=parse_set(["epochs=4", *extra]), storage=str(storage), name=name, verbose=0,
                        checkpoint_every=1, max_failures=3, **kw)


def test_killed_worker_process_is_retried_from_its_checkpoint(monkeypatch, tmp_path):
    cluster = start_cluster(monkeypatch, 2, 2)
    log, marker = tmp_path / "epochs.log", tmp_path / "crashed"
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        sweep = run_sweep(sleepy(range(1, 7), tmp_path, "worker", "seconds_per_epoch=0.4", "crash_at_epoch=3",
                                 f"crash_marker={marker}", f"log_path={log}")).folder
    finally:
        stop(cluster)
    found = assert_complete(sweep, expected_ok=6)
    assert marker.exists() and sum(o["attempt"] for o in found) == 1
    assert len({o["node_id"] for o in found}) >= 2  # the trials spread over the nodes
    lines = log.read_text().splitlines()
    for seed in range(1, 7):  # epochs before the crash's checkpoint are never redone
        assert sum(f"seed={seed} epoch=1 " in line for line in lines) == 1
    (crashed,) = (o["config"]["seed"] for o in found if o["attempt"] == 1)
    epochs = [line.split()[2] for line in lines if f" seed={crashed} " in line]
    assert epochs == ["epoch=1", "epoch=2", "epoch=3", "epoch=3", "epoch=4"]  # the retry began at epoch 3


def _parent_pid(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # the worker is gone
        return None
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _mid_training_on(node, log: Path) -> bool:
    """A worker of ``node`` (a child of its raylet) has begun epoch 2 or 3 of 4 and not epoch 4: its epoch-1
    checkpoint is written and it is still training."""
    raylet = node.all_processes["raylet"][0].process.pid
    epochs: dict[tuple[str, str], int] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        if len(line.split()) < 4:  # still being written
            continue
        pid, seed, epoch = line.split()[:3]
        epochs[pid, seed] = max(epochs.get((pid, seed), 0), int(epoch.removeprefix("epoch=")))
    return any(2 <= last < 4 and _parent_pid(int(pid)) == raylet for (pid, _), last in epochs.items())


def test_removed_node_mid_sweep_loses_no_trial(monkeypatch, tmp_path):
    cluster = start_cluster(monkeypatch, 2, 2)
    doomed = cluster.worker_nodes_[1]
    log = tmp_path / "epochs.log"
    ray.init(address=cluster.address, log_to_driver=False)
    removed, finished = threading.Event(), threading.Event()

    def remove_when_a_trial_there_is_mid_training():
        while not finished.is_set() and not _mid_training_on(doomed, log):
            time.sleep(0.05)
        if not finished.is_set():
            cluster.remove_node(doomed, allow_graceful=False)
            removed.set()

    remover = threading.Thread(target=remove_when_a_trial_there_is_mid_training, daemon=True)
    remover.start()
    try:
        sweep = run_sweep(sleepy(range(1, 7), tmp_path, "node", "seconds_per_epoch=0.6", f"log_path={log}")).folder
    finally:
        finished.set()
        remover.join(5)
        stop(cluster)
    assert removed.is_set(), "no trial on the doomed node reached epoch 2 of 4 while the sweep ran"
    found = assert_complete(sweep, expected_ok=6)
    assert any(o["attempt"] == 1 for o in found), "no trial was running on the removed node"
    assert doomed.node_id not in {o["node_id"] for o in found}  # every result came from a node that stayed


def test_diverging_raising_and_nan_scoring_detectors_are_errors_not_results(monkeypatch, tmp_path):
    cluster = start_cluster(monkeypatch, 2)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        request = SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=[1],
                               overrides={"seconds_per_epoch": [0], "epochs": [3], "fail_at_epoch": [0, 2],
                                          "nan_loss_at_epoch": [0, 2], "nan_scores": [False, True]},
                               storage=str(tmp_path), name="bad", verbose=0)
        sweep = run_sweep(request).folder
    finally:
        stop(cluster)
    found = assert_complete(sweep, expected_ok=1, expected_error=7)
    for o in found:  # the first fault to strike decides the message: NaN scores already at epoch 1's val AUC
        params = o["config"]["params"]
        if params["nan_scores"]:
            assert "non-finite scores" in o["error"]
        elif params["fail_at_epoch"]:
            assert "failing on purpose" in o["error"]
        elif params["nan_loss_at_epoch"]:
            assert "diverged" in o["error"]
        if o["status"] == "error":
            assert not (o["dir"] / artifacts.METRICS).exists()
    runs = collect(sweep)
    assert (runs.status == "error").sum() == 7 and runs.loc[runs.status == "ok", "test_auc"].notna().all()


def test_interrupted_artifact_write_is_not_a_result_and_the_retry_completes(monkeypatch, tmp_path):
    marker = tmp_path / "killed-while-writing"
    # first, without Ray: a trial killed between scores.parquet and trial.json leaves no result
    env = {**os.environ, "ADRAY_FAILPOINT": f"after-{artifacts.SCORES}:{marker}"}
    trial_dir = tmp_path / "alone" / "trial"
    trial_dir.mkdir(parents=True)
    (trial_dir / "params.json").write_text('{"trial": {"method": "iforest", "dataset": "synthetic", "seed": 1, '
                                           '"params": {"n_estimators": 10}, "setting": {"name": "default"}}}')  # as Tune writes it
    code = ("from adray.data import load, get_spec; from adray.sweep.trial import TrialConfig, run_trial; "
            f"run_trial(TrialConfig('iforest', 'synthetic', get_spec('synthetic').setting(), 1, {{'n_estimators': 10}}), "
            f"load('synthetic'), {str(tmp_path / 'alone' / 'trial')!r}, lambda m, s: None)")
    dead = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)
    assert dead.returncode == -signal.SIGKILL and marker.exists()
    assert (tmp_path / "alone" / "trial" / artifacts.SCORES).exists()
    runs = collect(tmp_path / "alone")
    assert list(runs.status) == ["incomplete"]  # partial files, no trial.json: never counted as a result

    # then in a sweep on the cluster: the killed trial is retried and completes
    marker.unlink()
    cluster = start_cluster(monkeypatch, 2, ADRAY_FAILPOINT=f"after-{artifacts.SCORES}:{marker}")
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        sweep = run_sweep(sleepy(range(1, 4), tmp_path, "write", "seconds_per_epoch=0.1")).folder
    finally:
        stop(cluster)
    found = assert_complete(sweep, expected_ok=3)
    assert marker.exists() and sum(o["attempt"] for o in found) == 1


def _grid(*args, storage):
    env = {**os.environ, "ADRAY_DETECTORS": PLUGIN, "TUNE_GLOBAL_CHECKPOINT_S": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    return [sys.executable, str(REPO / "sweeps" / "grid.py"), *args, "--storage", str(storage)], env


def test_killed_driver_resumes_on_the_cluster_without_rerunning_finished_trials(monkeypatch, tmp_path):
    cluster = start_cluster(monkeypatch, 2, 2)
    log = tmp_path / "epochs.log"
    args = ["--method", "sleepy", "--dataset", "synthetic", "--seeds", *map(str, range(1, 17)), "--name", "killed",
            "--set", "epochs=3", "--set", "seconds_per_epoch=0.5", "--set", f"log_path={log}",
            "--address", cluster.address, "--checkpoint-every", "1", "--verbose", "0", "--no-report"]
    try:
        command, env = _grid(*args, storage=tmp_path)
        driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sweep = tmp_path / "killed"
        deadline = time.time() + 120
        while time.time() < deadline and sum(o["status"] == "ok" for o in (outcomes(sweep) if sweep.exists() else [])) < 4:
            time.sleep(0.2)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        before = {o["config"]["seed"]: o["end_time"] for o in outcomes(sweep) if o["status"] == "ok"}
        assert 4 <= len(before) < 16, "the kill should land mid-sweep"
        recorded = set(before)  # resume trusts the trial folders (and the ledger), not Tune's state
        resumed = subprocess.run(_grid(*args, "--resume", storage=tmp_path)[0], env=env, capture_output=True,
                                 text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
    finally:
        stop(cluster)
    found = assert_complete(sweep, expected_ok=16)
    after = {o["config"]["seed"]: o["end_time"] for o in found}
    lines = log.read_text().splitlines()
    for seed in recorded:  # finished before the kill: untouched by the resume
        assert after[seed] == before[seed]
        assert sum(f"seed={seed} epoch=1 " in line for line in lines) == 1
