"""``adray bench`` and the text tables it and the CLI print (the benchmarks' timings are never checked here)."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import adray
from adray import bench
from adray.cli import main
from adray.tables import format_table

PACKAGE = Path(bench.__file__).parent
REPO = Path(adray.__file__).resolve().parents[1]


def test_text_table_lines_up_every_column_under_its_header():
    rows = [{"method": "ae", "auc": 0.93}, {"method": "deepsvdd", "note": "long note here"}]
    header, rule, ae, svdd = format_table(rows, ["method", "auc", "note"]).splitlines()
    assert header.split() == ["method", "auc", "note"] and rule.split() == ["-" * 8, "-" * 4, "-" * 14]
    assert ae.index("0.93") == header.index("auc") == rule.index(" ") + 2
    assert ae == ae.rstrip() and ae.split() == ["ae", "0.93"]  # the missing note is an empty cell
    assert svdd.index("long note here") == header.index("note")
    assert format_table([["a", 1]], ["x", "y"]) == format_table([{"x": "a", "y": 1}], ["x", "y"])


def test_markdown_table_is_a_pipe_table():
    text = format_table([["digits", "0.930"], ["**mean**", "**0.930**"]], ["dataset", "ae"], markdown=True)
    assert text == "| dataset | ae |\n|---|---|\n| digits | 0.930 |\n| **mean** | **0.930** |"


def test_bench_lists_every_benchmark_module_once(capsys):
    assert main(["bench"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    listed = [line.split()[0] for line in lines]
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "common"}
    assert sorted(bench.resolve(name) for name in listed) == sorted(modules)
    assert listed[0] == "all"
    assert all(len(line.split()) > 2 for line in lines)  # each with its one-line description


@pytest.mark.parametrize("name", ["all", *bench.NAMES[1:]])
def test_each_benchmark_parses_its_arguments(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", name, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: adray bench {name}")


def test_unknown_benchmark_is_one_message_listing_the_valid_names(capsys):
    assert main(["bench", "overhaed"]) == 2
    err = capsys.readouterr().err
    assert "no benchmark 'overhaed'" in err and "overhead" in err and "Traceback" not in err


def test_benchmark_runs_as_a_module_and_writes_its_csv(tmp_path):
    out = tmp_path / "detectors.csv"
    done = subprocess.run([sys.executable, "-m", "adray.bench.detectors", "--method", "iforest", "--dataset",
                           "breast_cancer", "--device", "cpu", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ})
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert [(r["method"], r["dataset"], r["device"]) for r in rows] == [("iforest", "breast_cancer", "cpu")]
    assert 0.5 < float(rows[0]["test_auc"]) <= 1.0  # a real fit on real data, not a placeholder row
    assert "test_auc" in done.stdout and f"wrote {out}" in done.stdout


def test_default_results_folder_is_the_checkouts():
    from adray.bench.common import results_dir

    assert (REPO / "pyproject.toml").exists()  # the tests run from a source checkout
    assert results_dir() == REPO / "results" / "bench"


def test_baselines_bench_compares_on_the_same_splits_caches_and_takes_named_configurations(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "odds"
    data.mkdir()
    for name in ("alpha", "beta"):  # ADBench's .npz: X and y, 10 % anomalies shifted away
        y = (np.arange(200) % 10 == 0).astype(np.int64)
        X = rng.normal(size=(200, 5)) + 4.0 * y[:, None]
        np.savez(data / f"{name}.npz", X=X, y=y)
    out = tmp_path / "b.csv"
    command = ["bench", "baselines", "--data-dir", str(data), "--seeds", "1", "2", "--methods", "iforest",
               "pyod:IForest", "deepsvdd", "--set", "deepsvdd.epochs=2", "--out", str(out)]

    def rows():
        with open(out, newline="") as fh:
            return list(csv.DictReader(fh))

    assert main(command) == 0
    first = rows()
    assert len(first) == 2 * 3 * 2 and {r["method"] for r in first} == {"iforest", "pyod:IForest", "deepsvdd"}
    assert {json.loads(r["config"])["epochs"] for r in first if r["method"] == "deepsvdd"} == {2}
    by_key = {(r["dataset"], r["seed"], r["method"]): r for r in first}
    sizes = ("n_train", "n_test", "test_anomalies")
    for (dataset, seed, _), row in by_key.items():  # every method saw the same split
        assert [row[k] for k in sizes] == [by_key[(dataset, seed, "iforest")][k] for k in sizes]
    with open(out.with_name("b_summary.csv"), newline="") as fh:
        pair = next(r for r in csv.DictReader(fh) if r["metric"] == "auc" and r["adray"] == "iforest")
    assert (pair["pyod"], float(pair["diff"]), int(pair["ties"])) == ("pyod:IForest", 0.0, 2)  # both wrap sklearn's
    assert "| **mean** |" in capsys.readouterr().out

    assert main(command) == 0  # cached: nothing is fitted again
    assert rows() == first and " seed 1: AUC" not in capsys.readouterr().out
    assert main([*command[:-2], "--set", "deepsvdd.epochs=3", "--out", str(out)]) == 0
    again = rows()
    assert len(again) == len(first) and {json.loads(r["config"])["epochs"] for r in again
                                         if r["method"] == "deepsvdd"} == {3}
    assert [r for r in again if r["method"] != "deepsvdd"] == [r for r in first if r["method"] != "deepsvdd"]
    assert main([*command, "--set", "deepsvdd.n_branches=0"]) == 2
    assert "n_branches=0 must be an integer >= 1" in capsys.readouterr().err
