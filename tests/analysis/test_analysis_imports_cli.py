"""adray.analysis works without Ray and torch; `adray report` prints the table or one clean message."""

from __future__ import annotations

import os
import subprocess
import sys

from adray.testing.sweeps import make_fake_sweep


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_the_analysis_loads_neither_ray_nor_torch():
    code = ("import sys; import adray.analysis, adray.analysis.report, adray.analysis.plots, adray.testing.sweeps; "
            "from adray.analysis import make_report; import adray.cli; "
            "print(sorted(m for m in ('ray', 'torch') if m in sys.modules))")
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _adray(*args, cwd=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "adray.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=cwd)


def test_cli_report_prints_the_table(tmp_path):
    fake = make_fake_sweep(tmp_path / "sweep", datasets=("d1", "d2", "d3"), n_configs=1, seeds=(1, 2),
                           artifact_datasets=1, epochs=3, n_scores=100)
    result = _adray("report", str(fake.path), "--reference", "iforest", "--format", "latex", "--no-std")
    assert result.returncode == 0, result.stderr
    assert r"\begin{tabular}" in result.stdout and r"\scriptscriptstyle" not in result.stdout
    assert f"report written to {fake.path / 'report'}" in result.stderr
    assert (fake.path / "report" / "main.tex").read_text() == result.stdout
    result = _adray("report", str(fake.path), "--metric", "ap", "--format", "csv")
    assert result.returncode == 0 and result.stdout.startswith("metric,group,method,")


def test_cli_report_on_an_empty_folder_is_one_message(tmp_path):
    result = _adray("report", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("adray: error: ") and "no trials found" in result.stderr


def test_cli_report_unknown_reference_exit_2(tmp_path):
    fake = make_fake_sweep(tmp_path / "sweep", datasets=("d1", "d2"), n_configs=1, seeds=(1,), artifact_datasets=0,
                           history=False)
    result = _adray("report", str(fake.path), "--reference", "nope")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "methods present: ae, deepsvdd, iforest" in result.stderr


def test_a_report_with_plots_leaves_the_callers_matplotlib_backend_alone(tmp_path):
    make_fake_sweep(tmp_path / "s", methods=("ae", "iforest"), datasets=("d1",), n_configs=1, seeds=(1, 2))
    code = ("import matplotlib; matplotlib.use('svg'); import adray.analysis.report as r, sys; "
            "assert 'matplotlib.pyplot' not in sys.modules; "
            f"r.make_report({str(tmp_path / 's')!r}); print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)")
    result = _python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["svg", "False"]
