"""Bad sweep commands: refused with one message before Ray starts, nothing written where it should not be."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adray.sweep.ledger import LEDGER_FILE, Ledger, write_ledger
from adray.sweep.request import SweepRequest, expand_trials, parse_set

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "sleepy=adray.testing.detectors:Sleepy"


def grid(*args, storage):
    env = {**os.environ, "ADRAY_DETECTORS": PLUGIN, "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, str(REPO / "sweeps" / "grid.py"), *args, "--storage", str(storage)],
                          capture_output=True, text=True, env=env, timeout=180)


def refused(result, *phrases):
    assert result.returncode == 2, (result.returncode, result.stdout[-800:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Started a local Ray" not in result.stderr  # refused before Ray starts
    message = result.stderr.strip()
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "with space", "new\nline", ".."])
def test_a_sweep_name_that_is_not_one_plain_folder_is_refused(tmp_path, name):
    storage = tmp_path / "deep" / "results"
    refused(grid("--method", "iforest", "--name", name, storage=storage), "is not allowed", "letters, digits")
    assert not (tmp_path / "escaped").exists() and not list(tmp_path.rglob("sweep.json"))


def test_negative_max_failures_is_refused(tmp_path):
    refused(grid("--method", "iforest", "--max-failures", "-1", storage=tmp_path), "--max-failures must be 0 or more")


def _started_sweep(storage: Path) -> Path:
    """A sweep folder as an interrupted run leaves it: its ledger and no trials yet."""
    request = SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=[1, 2],
                           overrides=parse_set(["epochs=2", "seconds_per_epoch=0"]))
    ledger = Ledger.new("kept", request.to_dict(), expand_trials(request))
    ledger.start_run(resumed=False)
    return write_ledger(storage / "kept", ledger).parent


SWEEP = ["--method", "sleepy", "--dataset", "synthetic", "--seeds", "1", "2", "--set", "epochs=2",
         "--set", "seconds_per_epoch=0"]


def _changed(old: str, new: list[str]) -> list[str]:
    at = SWEEP.index(old)
    return SWEEP[:at] + new + SWEEP[at + 1:]


@pytest.mark.parametrize("args, phrase", [
    (_changed("synthetic", ["breast_cancer"]), "datasets: the sweep has ['synthetic'], this command ['breast_cancer']"),
    (_changed("sleepy", ["sleepy", "--method", "iforest"]),
     "methods: the sweep has ['sleepy'], this command ['sleepy', 'iforest']"),
    ([a for a in SWEEP if a != "2"], "seeds: this command leaves out [2]"),
])
def test_a_resume_that_asks_for_a_different_sweep_is_refused_with_the_difference(tmp_path, monkeypatch, args,
                                                                                  phrase):
    monkeypatch.setenv("ADRAY_DETECTORS", PLUGIN)
    _started_sweep(tmp_path)
    refused(grid(*args, "--name", "kept", "--resume", storage=tmp_path), "asks for a different sweep", phrase)
    assert sorted(p.name for p in (tmp_path / "kept").iterdir() if not p.name.startswith(".")) == [LEDGER_FILE]


def test_resume_refusals_nothing_to_resume_and_a_damaged_ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRAY_DETECTORS", PLUGIN)
    refused(grid("--name", "nothing", "--resume", storage=tmp_path), "nothing to resume")
    refused(grid("--resume", storage=tmp_path / "empty"), "no unfinished sweep")
    refused(grid("--resume", "--seeds", "3", storage=tmp_path), "must also repeat --method")
    folder = _started_sweep(tmp_path)
    (folder / LEDGER_FILE).write_text("{not json")
    refused(grid("--name", "kept", "--resume", storage=tmp_path), "sweep.json is damaged")
