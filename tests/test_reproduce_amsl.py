"""``sweeps/reproduce_amsl.py``: refusals without a GPU or the DSADS files, and the whole flow on a CPU.

The real DSADS files are not needed: the tests write a small tree in DSADS' format (19 activities,
aXX/pY/sZZ.txt, 125 rows of 45 comma-separated values). The end-to-end test runs the script as a
user would (``--cpu --smoke``: a local Ray, two seeds, the tiny smoke network) and checks that the
printed table is the sweep's own test metrics beside the paper's Table 3.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from adray import artifacts
from adray.reproduce import PAPER_TABLE3, comparison, comparison_text

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "sweeps" / "reproduce_amsl.py"
ANOMALOUS = ("a05", "a06", "a12", "a18", "a19")


def dsads_tree(data_dir: Path, subjects=("p1", "p2"), segments=("s01", "s02")) -> int:
    """Files in DSADS' layout under data_dir/dsads/; the anomalous activities move faster."""
    rng = np.random.default_rng(0)
    t = np.arange(125)[:, None] / 25.0
    count = 0
    for a in range(1, 20):
        activity = f"a{a:02d}"
        speed = 3.0 if activity in ANOMALOUS else 0.5
        for subject in subjects:
            for segment in segments:
                phase = rng.uniform(0, 2 * np.pi, 45)
                values = np.sin(2 * np.pi * speed * t + phase) + 0.1 * rng.standard_normal((125, 45))
                path = data_dir / "dsads" / activity / subject / f"{segment}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(",".join(f"{v:.4f}" for v in row) for row in values) + "\n")
                count += 1
    return count


def reproduce(*args, data_dir: Path, storage: Path, timeout=900):
    env = {**os.environ, "ADRAY_DATA": str(data_dir), "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--storage", str(storage)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=REPO)


def refused(result, *phrases) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout[-800:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reproduce_amsl: error: "), result.stderr
    for phrase in phrases:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"
    return lines[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_without_cuda_the_paper_run_is_refused_and_says_how_to_check_on_a_cpu(isolated_data_dir, tmp_path):
    dsads_tree(isolated_data_dir)  # enough files for --smoke, which without --cpu still trains on a GPU
    message = refused(reproduce("--smoke", data_dir=isolated_data_dir, storage=tmp_path / "results"),
                      "needs a CUDA GPU", "torch sees no CUDA device" if torch.version.cuda else "CPU-only build",
                      "--cpu --smoke", "CPU-hours per seed")
    assert "DSADS" not in message  # the files are there: only the GPU is missing
    assert not (tmp_path / "results").exists()  # nothing started, nothing written


def test_without_the_dsads_files_the_run_is_refused_with_where_to_get_them(isolated_data_dir, tmp_path):
    folder = isolated_data_dir / "dsads"
    message = refused(reproduce("--cpu", data_dir=isolated_data_dir, storage=tmp_path / "results"),
                      "the DSADS files", f"{folder}/", "found none", "adray download dsads --trust-first-download",
                      "archive.ics.uci.edu")
    assert "CUDA" not in message  # --cpu: the GPU is not what is missing
    assert not (tmp_path / "results").exists()
    if not torch.cuda.is_available():  # both missing: one message naming both
        refused(reproduce(data_dir=isolated_data_dir, storage=tmp_path / "results"), "CUDA GPU", "; and ",
                "the DSADS files")


def test_the_paper_run_needs_every_dsads_file_but_a_smoke_run_does_not(isolated_data_dir, tmp_path):
    count = dsads_tree(isolated_data_dir)
    refused(reproduce("--cpu", "--dry-run", data_dir=isolated_data_dir, storage=tmp_path / "results"),
            "all 9,120 DSADS files", f"found {count}", "adray download dsads")
    ready = reproduce("--cpu", "--smoke", "--dry-run", data_dir=isolated_data_dir, storage=tmp_path / "results")
    assert ready.returncode == 0, ready.stderr[-2000:]
    assert "adray sweep --method amsl --dataset dsads:amsl --seeds 110 210 310 410 510" in ready.stdout
    assert "--set epochs=100 --set batch_size=16 --set learning_rate=0.001" in ready.stdout
    assert "dry run" in ready.stdout and "nothing was started" in ready.stdout
    assert not (tmp_path / "results").exists()


def test_a_gpu_share_outside_0_to_1_is_refused(isolated_data_dir, tmp_path):
    for share in ("0", "1.5"):
        refused(reproduce("--gpus-per-trial", share, data_dir=isolated_data_dir, storage=tmp_path / "results"),
                "--gpus-per-trial must be above 0 and at most 1", f"got {float(share):g}", "--cpu")


def test_comparison_is_the_report_row_beside_the_paper(tmp_path):
    path = tmp_path / "metrics.csv"
    pd.DataFrame([{"group": "g", "method": "amsl", "unit": "dsads", "n": 5,
                   "precision_macro": 0.95, "precision_macro std": 0.01, "recall_macro": 0.90,
                   "recall_macro std": 0.02, "f1_macro": 0.92, "f1_macro std": 0.015, "accuracy": 0.93,
                   "accuracy std": float("nan")}]).to_csv(path, index=False)
    table = comparison(path)
    assert table["metric"].tolist() == ["mPre", "mRec", "mF1", "Acc"]
    assert table["paper"].tolist() == [0.9407, 0.9298, 0.9352, 0.9332]
    np.testing.assert_allclose(table["difference"], [0.95 - 0.9407, 0.90 - 0.9298, 0.92 - 0.9352, 0.93 - 0.9332])
    text = comparison_text(table, "test budget")
    assert "| mPre | 0.9407 | 0.9500 ± 0.0100 | +0.0093 |" in text
    assert "| Acc | 0.9332 | 0.9300 ± - | -0.0032 |" in text  # a missing std is shown as such, not as 0


@pytest.mark.ray
def test_cpu_smoke_runs_the_whole_flow_and_prints_the_sweeps_metrics_beside_the_paper(isolated_data_dir, tmp_path):
    dsads_tree(isolated_data_dir)
    storage = tmp_path / "results"
    result = reproduce("--cpu", "--smoke", "--seeds", "110", "210", "--name", "smoke", "--verbose", "0",
                       data_dir=isolated_data_dir, storage=storage)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    sweep = storage / "smoke"
    outcomes = [artifacts.read_json(p / artifacts.TRIAL) for p in sweep.iterdir() if (p / artifacts.TRIAL).exists()]
    assert sorted(o["config"]["seed"] for o in outcomes) == [110, 210]
    assert all(o["status"] == "ok" for o in outcomes), [o.get("error") for o in outcomes]
    config = json.loads(next(sweep.glob("*/" + artifacts.CONFIG)).read_text())
    assert config["dataset"] == "dsads" and config["params"]["epochs"] == 2  # smoke budget over the paper's 100

    table = pd.read_csv(sweep / "report" / "paper_table3.csv")
    assert table["metric"].tolist() == ["mPre", "mRec", "mF1", "Acc"] and set(table["seeds"]) == {2}
    for row in table.to_dict("records"):
        per_seed = [o["test"][row["name"]] for o in outcomes]
        assert row["paper"] == PAPER_TABLE3[row["name"]]
        assert row["adray_mean"] == pytest.approx(np.mean(per_seed))
        assert row["adray_std"] == pytest.approx(np.std(per_seed, ddof=1))
        assert row["difference"] == pytest.approx(row["adray_mean"] - row["paper"])
        assert f"| {row['metric']} | {row['paper']:.4f} | {row['adray_mean']:.4f} ± " in result.stdout
    assert "smoke budget (not the paper's)" in result.stdout
    assert (sweep / "report" / "paper_table3.md").read_text() in result.stdout
