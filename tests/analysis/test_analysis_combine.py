"""`adray report A B ...`: sweeps run at different times are reported as one when they ran the same
experiment, and refused, with the difference named, when their settings or data differ."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from real_sweep import DETECTORS, edit_trial_json, write_real_sweep

from adray.analysis.collect import collect
from adray.analysis.report import make_report
from adray.data import load
from adray.errors import AdrayError
from adray.sweep.ledger import read_ledger


@pytest.fixture(autouse=True)
def detectors(monkeypatch):
    monkeypatch.setenv("ADRAY_DETECTORS", DETECTORS)


def _adray(*args):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "adray.cli", *args], capture_output=True, text=True, env=env,
                          timeout=180)


def _trial_dirs(folder):
    ledger = read_ledger(folder)
    return [folder / ledger.dirname(i) for i in range(len(ledger))]


def test_trials_record_the_version_of_their_data(tmp_path):
    write_real_sweep(tmp_path / "s", seeds=(1,), sets=("epochs=1", "seconds_per_epoch=0"))
    data = load("synthetic")
    versions = collect(tmp_path / "s")["data_version"].map(json.loads)
    assert len(versions) == 1
    assert versions[0] == {"name": "synthetic", "loader_version": data.meta.loader_version,
                           "format_version": data.meta.format_version, "rows": len(data),
                           "shape": list(data.meta.shape), "classes": data.class_counts()}


def test_a_baseline_run_later_is_reported_with_the_method(tmp_path):
    method = tmp_path / "method"
    baseline = tmp_path / "baseline"
    write_real_sweep(method, methods=("sleepy",), name="method")
    write_real_sweep(baseline, methods=("baseline",), sets=("epochs=1", "seconds_per_epoch=0"), name="baseline")
    alone = {name: pd.read_csv(make_report(folder, plots=False).report_dir / "merged.csv")
             for name, folder in (("sleepy", method), ("baseline", baseline))}
    result = _adray("report", str(method), str(baseline), "--out", str(tmp_path / "both"), "--reference", "sleepy")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| sleepy", "| baseline"))]
    assert len(rows) == 2 and all(" ± " in row for row in rows)
    merged = pd.read_csv(tmp_path / "both" / "merged.csv")
    for name, own in alone.items():  # each method's numbers are exactly those of its own report
        mine = merged[merged.method == name].drop(columns="unit", errors="ignore").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, own.drop(columns="unit", errors="ignore"), check_dtype=False)
    assert (merged.n_ok == 3).all()  # both sweeps ran seeds 1-3: nothing marked missing
    page = (tmp_path / "both" / "index.html").read_text(encoding="utf-8")
    assert f"Report of {method} + {baseline}" in page
    summary = (tmp_path / "both" / "summary.md").read_text()
    assert "reference: sleepy" in summary and "methods: baseline, sleepy" in summary


def test_a_setting_that_differs_is_refused_with_the_difference(tmp_path):
    write_real_sweep(tmp_path / "a", name="a")
    write_real_sweep(tmp_path / "b", methods=("baseline",), sets=("epochs=1", "seconds_per_epoch=0", "p_test=0.3"),
                     name="b")
    p_test = collect(tmp_path / "a")["setting_json"].map(lambda s: json.loads(s)["p_test"]).unique()
    assert list(p_test) != [0.3]
    with pytest.raises(AdrayError, match=rf"p_test {p_test[0]} vs 0.3") as caught:
        make_report([tmp_path / "a", tmp_path / "b"], out=tmp_path / "out")
    assert "dataset synthetic" in str(caught.value) and str(tmp_path / "b") in str(caught.value)
    assert not (tmp_path / "out").exists()  # refused before anything is written
    result = _adray("report", str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("adray: error: cannot merge these sweeps") and "p_test" in result.stderr


def test_sweeps_on_different_data_are_refused(tmp_path):
    write_real_sweep(tmp_path / "a", name="a")
    write_real_sweep(tmp_path / "b", methods=("baseline",), name="b")
    for trial in _trial_dirs(tmp_path / "b"):  # as if the dataset's loader had changed in between
        edit_trial_json(trial, lambda o: o["data"].update(loader_version=o["data"]["loader_version"] + 1))
    version = load("synthetic").meta.loader_version
    with pytest.raises(AdrayError, match=rf"dataset synthetic: loader_version {version} vs {version + 1}"):
        make_report([tmp_path / "a", tmp_path / "b"], out=tmp_path / "out")


def test_trials_from_before_data_versions_are_merged_with_a_warning(tmp_path):
    write_real_sweep(tmp_path / "a", name="a")
    write_real_sweep(tmp_path / "b", methods=("baseline",), name="b")
    old = _trial_dirs(tmp_path / "a")
    for trial in old:
        edit_trial_json(trial, lambda o: o.pop("data"))
    result = make_report([tmp_path / "a", tmp_path / "b"], out=tmp_path / "out", plots=False)
    assert result.methods == ["baseline", "sleepy"]
    assert any(w.startswith(f"{len(old)} trial(s) do not record their data version") for w in result.warnings)


def test_a_trial_in_two_folders_is_counted_once(tmp_path):
    write_real_sweep(tmp_path / "a", name="a")
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    honest = make_report(tmp_path / "a", plots=False)
    both = make_report([tmp_path / "a", tmp_path / "copy"], out=tmp_path / "out", plots=False)
    assert both.counts["ok"] == honest.counts["ok"] == 6 and both.counts["duplicate"] == 6
    pd.testing.assert_frame_equal(pd.read_csv(both.report_dir / "merged.csv"),
                                  pd.read_csv(honest.report_dir / "merged.csv"))
    problems = pd.read_csv(both.report_dir / "problems.csv")
    assert (problems.status == "duplicate").sum() == 6
    assert problems.trial_dir.str.startswith(str(tmp_path / "copy")).all()  # the first folder's copies count
    assert any("in more than one of the folders" in w for w in both.warnings)


def test_the_same_folder_twice_is_refused(tmp_path):
    write_real_sweep(tmp_path / "a", seeds=(1,), sets=("epochs=1", "seconds_per_epoch=0"))
    with pytest.raises(AdrayError, match="given twice"):
        make_report([tmp_path / "a", tmp_path / "x" / ".." / "a"])
