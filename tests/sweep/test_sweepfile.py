"""Sweep files: parsed into the same request as the command line, every mistake named by its line."""

import subprocess
import sys
from pathlib import Path

import pytest

from adray.cli import build_parser, sweep_request
from adray.errors import AdrayError
from adray.sweep.sweepfile import load_sweep_file

REPO = Path(__file__).resolve().parents[2]
GOOD = """\
description: two baselines on a small set
methods: [ae, iforest]
datasets: [breast_cancer, nsl_kdd:r2ad2]
seeds: [1, 2]
set:
  batch_size: [32, 64]
  learning_rate: loguniform(1e-4, 1e-2)
  iforest.n_estimators: 50
search: optuna
samples: 3
gpus_per_trial: 0.25
"""


def test_a_sweep_file_becomes_the_request_and_flags_override_it(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    fields = load_sweep_file(path)
    assert fields["methods"] == ["ae", "iforest"] and fields["seeds"] == [1, 2] and fields["samples"] == 3
    assert fields["overrides"] == {"batch_size": [32, 64], "iforest.n_estimators": [50],
                                   "learning_rate": {"distribution": "loguniform", "args": [1e-4, 1e-2]}}
    args = build_parser().parse_args(["sweep", "--config", str(path), "--seeds", "7", "--set", "batch_size=16"])
    request = sweep_request(args)
    assert request.seeds == [7] and request.overrides["batch_size"] == [16]  # the command line wins
    assert request.gpus_per_trial == 0.25 and request.search == "optuna"  # the rest comes from the file
    assert request.config_file == str(path.resolve())


@pytest.mark.parametrize("text, line, phrase", [
    ("methods: [ae]\nseed: [1]\n", 2, "unknown key 'seed'"),
    ("methods: [ae]\nseeds: [1, x]\n", 2, "seeds must be a list of whole numbers"),
    ("methods: [ae]\nset:\n  learning_rate: loguniform(0, 1)\n", 3, "loguniform needs low > 0"),
    ("methods: [ae]\nset:\n  batch_size: []\n", 3, "an empty list"),
    ("methods: [ae]\nsearch: bayes\n", 2, "search must be grid, random or optuna"),
    ("methods: [ae\nseeds: [1]\n", 2, "not valid YAML"),
])
def test_every_mistake_names_its_line(tmp_path, text, line, phrase):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(AdrayError, match=rf"bad.yaml, line {line}: .*{phrase}"):
        load_sweep_file(path)


def test_dry_run_lists_the_work_and_the_missing_data_and_starts_nothing(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("search: optuna\nsamples: 3\n", "").replace(
        "  learning_rate: loguniform(1e-4, 1e-2)\n", ""))
    result = subprocess.run([sys.executable, "-m", "adray.cli", "sweep", "--config", str(path), "--dry-run"],
                            capture_output=True, text=True, timeout=120, env={**__import__("os").environ,
                                                                             "ADRAY_DATA": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    assert "skipping nsl_kdd:r2ad2" in result.stderr and "adray download nsl_kdd" in result.stderr
    out = result.stdout
    assert "6 trials" in out  # ae: 2 batch sizes x 2 seeds, iforest: 1 x 2 seeds, on breast_cancer only
    assert "ae on breast_cancer:default: 2 configuration(s) x 2 seed(s) = 4 trials" in out
    assert "work: about 602 trial-epochs" in out  # ae: 150 epochs x 4 trials, iforest: 1 x 2
    assert "Started a local Ray" not in result.stderr
