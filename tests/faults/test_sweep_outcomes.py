"""A sweep says how it ended: interrupted (SIGINT, SIGTERM), stalled, storage full; and it resumes from
its own records (the ledger and the trial folders), never from Ray's pickled state.

Each test runs ``sweeps/grid.py`` as a real driver process against one local Ray cluster (started once
for the module), so signals reach the driver as they would from a terminal, ``timeout`` or Slurm.
"""

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from adray.analysis.report import make_report  # noqa: E402
from adray.sweep.ledger import read_ledger  # noqa: E402
from adray.testing.sweeps import finished_seeds  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.fault]
REPO = Path(__file__).resolve().parents[2]
PLUGIN = "sleepy=adray.testing.detectors:Sleepy"


@pytest.fixture(scope="module")
def cluster():
    saved = {k: os.environ.get(k) for k in ("ADRAY_DETECTORS", "TUNE_GLOBAL_CHECKPOINT_S")}
    os.environ.update(ADRAY_DETECTORS=PLUGIN, TUNE_GLOBAL_CHECKPOINT_S="1")  # inherited by every worker
    local = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    local.wait_for_nodes()
    yield local
    local.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def grid(cluster, storage, *args, wait=True, timeout=300):
    command = [sys.executable, str(REPO / "sweeps" / "grid.py"), *args, "--storage", str(storage),
               "--address", cluster.address, "--verbose", "0"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def sleepy_args(name, seeds, seconds="1.0", *extra):
    return ["--method", "sleepy", "--dataset", "synthetic", "--seeds", *map(str, seeds), "--name", name,
            "--set", "epochs=3", "--set", f"seconds_per_epoch={seconds}", "--checkpoint-every", "1", *extra]


def wait_for(condition, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _planted(marker: Path) -> bytes:
    class Planted:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    return pickle.dumps(Planted())


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_interrupts_the_sweep_which_says_so_and_resumes_from_its_own_records(cluster, tmp_path, sig, code):
    name, sweep, n = f"sig{sig}", tmp_path / f"sig{sig}", 12
    driver = grid(cluster, tmp_path, *sleepy_args(name, range(1, n + 1)), wait=False)
    assert wait_for(lambda: len(finished_seeds(sweep)) >= 2)
    if sig == signal.SIGINT:  # a second writer while the first runs
        second = grid(cluster, tmp_path, *sleepy_args(name, range(1, n + 1)), "--resume")
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"in use by another run (pid {driver.pid} on host" in second.stderr
    driver.send_signal(sig)
    out, err = driver.communicate(timeout=120)
    assert driver.returncode == code, err[-3000:]
    text = out + err
    assert "interrupted after" in text and f"stopped by {signal.Signals(sig).name}" in text
    assert "not started" in text and "--resume" in text
    assert "Traceback" not in text and "Stack trace" not in text and "*** " not in text

    before = finished_seeds(sweep)
    assert 2 <= len(before) < n
    ledger = read_ledger(sweep)
    assert len(ledger) == n and ledger.outcome == "interrupted"
    assert ledger.runs[-1]["counts"]["ok"] == len(before)
    report = make_report(sweep, plots=False)  # the partial report lists every ledger trial
    assert report.counts["ok"] == len(before)
    assert sum(report.counts[s] for s in ("error", "incomplete", "not started")) == n - len(before)
    assert "†" in report.table  # the cell says in the table that seeds are missing
    merged = (sweep / "report" / "merged.csv").read_text()
    assert f",{n},{len(before)}," in merged  # n_expected from the ledger, not from the folders that exist

    if sig == signal.SIGTERM:  # what follows does not depend on the signal that stopped the sweep
        return
    # Ray's own records are damaged or hostile: resume must neither need nor load them
    marker = tmp_path / "planted-code-ran"
    for state in sweep.glob("experiment_state-*.json"):
        state.write_text(state.read_text()[:50])
    (sweep / "tuner.pkl").write_bytes(_planted(marker))
    for folder in sweep.glob("sleepy_*"):
        (folder / "params.pkl").write_bytes(_planted(marker))
        if (folder / "checkpoint_000000").is_dir():
            (folder / "checkpoint_000000" / "state.pkl").write_bytes(_planted(marker))

    # the resume restates the sweep and adds two seeds: those run too
    resumed = grid(cluster, tmp_path, *sleepy_args(name, range(1, n + 3)), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not marker.exists(), "a pickle from the results folder was loaded"
    after = finished_seeds(sweep)
    assert sorted(after) == list(range(1, n + 3))
    assert all(after[seed] == end for seed, end in before.items())  # finished trials were not run again
    assert read_ledger(sweep).outcome == "complete" and len(read_ledger(sweep)) == n + 2


def test_a_sweep_whose_trials_can_never_start_ends_with_a_message(cluster, tmp_path):
    result = grid(cluster, tmp_path, "--method", "sleepy", "--dataset", "synthetic", "--seeds", "1", "--name", "stuck",
                  "--gpus-per-trial", "1", "--autoscale", "--pending-timeout", "3")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "stalled" in result.stdout and "no trial could start for 3 s" in result.stdout
    assert read_ledger(tmp_path / "stuck").outcome == "stalled"


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    if not _mount_tmpfs(disk, "24m"):
        pytest.skip("mounting a small tmpfs needs root and CAP_SYS_ADMIN")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_full_disk_ends_the_sweep_with_its_results_safe_and_resume_completes_it(cluster, small_disk):
    sweep = small_disk / "full"
    driver = grid(cluster, small_disk, *sleepy_args("full", range(1, 7), "0.5"), wait=False)
    assert wait_for(lambda: len(finished_seeds(sweep)) >= 2)
    filler = small_disk / "filler"
    with open(filler, "wb") as fh:  # take every free byte
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    out, err = driver.communicate(timeout=180)
    assert driver.returncode == 1, (out + err)[-3000:]
    assert f"storage full at {sweep}: " in out and "finished results are safe; free space and run" in out
    assert "Traceback" not in out + err
    before = finished_seeds(sweep)
    assert len(before) >= 2
    filler.unlink()
    resumed = grid(cluster, small_disk, "--name", "full", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = finished_seeds(sweep)
    assert sorted(after) == list(range(1, 7)) and all(after[s] == t for s, t in before.items())


def test_too_little_free_space_is_refused_before_anything_runs(cluster, tmp_path):
    disk = tmp_path / "tiny"
    if not _mount_tmpfs(disk, "3m"):
        pytest.skip("mounting a small tmpfs needs root and CAP_SYS_ADMIN")
    try:
        result = grid(cluster, disk, *sleepy_args("tiny", range(1, 7)))
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    assert result.returncode == 2
    assert "storage full at" in result.stderr and "6 trial(s) need about" in result.stderr
    assert "Traceback" not in result.stderr
