"""``adray bench`` and the text tables it and the CLI print (the benchmarks' timings are never checked here)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

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
