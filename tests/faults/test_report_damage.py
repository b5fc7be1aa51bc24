"""The report of a damaged, copied or assembled sweep folder is still right: no trial counted twice,
nothing from another sweep counted, every unreadable artifact a listed problem, never a traceback.

The sweep folder is written by the real trial code (``run_trial`` into the ledger's folders), without
Ray, so each damage is applied to exactly what a sweep leaves behind.
"""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from adray import artifacts
from adray.analysis.collect import collect
from adray.analysis.report import make_report
from adray.data import load
from adray.sweep.ledger import Ledger, write_ledger
from adray.sweep.request import SweepRequest, expand_trials, parse_set
from adray.sweep.trial import run_trial

pytestmark = pytest.mark.fault


@pytest.fixture(autouse=True)
def sleepy_registered(monkeypatch):
    monkeypatch.setenv("ADRAY_DETECTORS", "sleepy=adray.testing.detectors:Sleepy")


def write_sweep(folder, seeds=(1, 2, 3), sets=("epochs=1,2", "seconds_per_epoch=0"), name="s", run=None):
    """A sweep folder as a sweep leaves it: the ledger, then each trial (``run``: indices to run)."""
    request = SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=list(seeds), overrides=parse_set(list(sets)))
    ledger = Ledger.new(name, request.to_dict(), expand_trials(request))
    write_ledger(folder, ledger)
    data = load("synthetic")
    for i in range(len(ledger)) if run is None else run:
        run_trial(ledger.trial(i), data, folder / ledger.dirname(i), lambda m, s: None,
                  context={"index": i, "sweep": name})
    return ledger


def test_copied_and_symlinked_trial_folders_are_counted_once_and_listed(tmp_path):
    sweep = tmp_path / "s"
    ledger = write_sweep(sweep)
    honest = make_report(sweep, plots=False)
    first = sweep / ledger.dirname(0)
    shutil.copytree(first, sweep / "copy-of-a-trial")
    os.symlink(first, sweep / "link-to-a-trial")
    os.symlink(sweep / ledger.dirname(1), sweep / "zz-link")
    result = make_report(sweep, plots=False)
    assert result.counts["ok"] == len(ledger) and result.counts["duplicate"] == 3
    merged, before = pd.read_csv(result.report_dir / "merged.csv"), pd.read_csv(honest.report_dir / "merged.csv")
    pd.testing.assert_frame_equal(merged, before)  # n, mean and std exactly as without the copies
    problems = pd.read_csv(result.report_dir / "problems.csv")
    listed = set(problems.loc[problems.status == "duplicate", "trial_dir"].map(lambda p: os.path.basename(p)))
    assert listed == {"copy-of-a-trial", "link-to-a-trial", "zz-link"}  # the ledger's own folder is the one counted
    assert "duplicate" in (result.report_dir / "summary.md").read_text()


def test_a_trial_from_another_sweep_is_listed_not_counted(tmp_path):
    write_sweep(tmp_path / "s")
    other = write_sweep(tmp_path / "other", seeds=(7,), name="other")
    shutil.copytree(tmp_path / "other" / other.dirname(0), tmp_path / "s" / "stray")
    runs = collect(tmp_path / "s")
    stray = runs[runs.trial_dir.str.endswith("stray")].iloc[0]
    assert stray.status == "foreign" and "not a trial of this sweep's ledger" in stray.error
    result = make_report(tmp_path / "s", plots=False)
    assert result.counts["foreign"] == 1 and result.counts["ok"] == 6
    assert "7" not in pd.read_csv(result.report_dir / "merged.csv")["seeds_expected"].astype(str).str.cat()


def test_a_configuration_with_fewer_ok_seeds_never_wins_the_selection(tmp_path):
    sweep = tmp_path / "s"
    ledger = write_sweep(sweep)
    # make every seed of one configuration fail but one, whose validation AUC is then the best of all
    configs = [ledger.trial(i).config_id for i in range(len(ledger))]
    lucky = configs[0]
    victims = [i for i in range(len(ledger)) if configs[i] == lucky][1:]
    for i in victims:
        path = sweep / ledger.dirname(i) / artifacts.TRIAL
        outcome = json.loads(path.read_text())
        path.write_text(json.dumps({**outcome, "status": "error", "error": "RuntimeError: boom"}))
    keep = [i for i in range(len(ledger)) if configs[i] == lucky][0]
    path = sweep / ledger.dirname(keep) / artifacts.TRIAL
    outcome = json.loads(path.read_text())
    outcome["val"]["auc"] = 1.0
    path.write_text(json.dumps(outcome))
    result = make_report(sweep, plots=False)
    selected = pd.read_csv(result.report_dir / "selected.csv")
    assert list(selected.config_id) != [lucky] and selected.val_auc_n.item() == 3
    assert "only the configurations with the most ok seeds" in (result.report_dir / "summary.md").read_text()


@pytest.mark.parametrize("name", [artifacts.METRICS, artifacts.ROC, artifacts.HISTORY, artifacts.SCORES])
def test_a_truncated_artifact_makes_its_trial_incomplete(tmp_path, name):
    sweep = tmp_path / "s"
    ledger = write_sweep(sweep, seeds=(1, 2), sets=("epochs=1", "seconds_per_epoch=0"))  # one configuration
    path = sweep / ledger.dirname(0) / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    runs = collect(sweep)
    row = runs[runs.ledger_index == 0].iloc[0]
    assert row.status == "incomplete" and f"{name} has" in row.error
    result = make_report(sweep, plots=False)
    assert result.counts["incomplete"] == 1 and result.counts["ok"] == len(ledger) - 1
    assert "†" in result.table


def test_a_symlink_loop_and_unreadable_entries_are_listed_not_a_crash(tmp_path):
    sweep = tmp_path / "s"
    write_sweep(sweep, seeds=(1,))
    os.symlink("loop", sweep / "loop")
    (sweep / "loop-b").symlink_to(sweep / "loop-c")
    (sweep / "loop-c").symlink_to(sweep / "loop-b")
    result = subprocess.run([sys.executable, "-m", "adray.cli", "report", str(sweep)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    problems = pd.read_csv(sweep / "report" / "problems.csv")
    loops = problems[problems.trial_dir.str.contains("loop")]
    assert len(loops) == 3 and loops.error.str.contains("cannot be read").all()


def test_the_cause_of_a_crash_survives_an_empty_error_txt(tmp_path):
    sweep = tmp_path / "s"
    ledger = write_sweep(sweep, seeds=(1, 2), run=[0])
    crashed = sweep / ledger.dirname(1)
    crashed.mkdir()
    (crashed / "error.txt").write_text("")  # what Ray leaves when its write fails
    artifacts.write_json(crashed / artifacts.TRIAL, {"status": "error", "error": "OSError: [Errno 5] I/O error",
                                                     "config": ledger.trial(1).to_dict()})
    runs = collect(sweep)
    assert runs.set_index("ledger_index").loc[1, "error"] == "OSError: [Errno 5] I/O error"


def test_degenerate_results_are_flagged_in_the_table(tmp_path):
    sweep = tmp_path / "s"
    write_sweep(sweep, seeds=(1, 2), sets=("epochs=1", "seconds_per_epoch=0", "constant_scores=true"))
    result = make_report(sweep, plots=False)
    assert "‡" in result.table and "degenerate" in result.table
    problems = pd.read_csv(result.report_dir / "problems.csv")
    assert (problems.status == "ok, flagged").sum() == 2 and problems.error.str.contains("scores are equal").all()
