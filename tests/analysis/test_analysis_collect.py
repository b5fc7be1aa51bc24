"""collect: one row per trial, failures kept as rows with a message, never an exception."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from adray import artifacts
from adray.analysis.collect import METRICS, collect, find_trials
from adray.errors import AdrayError
from adray.testing.sweeps import make_fake_sweep


def test_one_row_per_trial_with_the_documented_columns(sweep):
    sweep.add(method="ae", dataset="d1", seed=110, params={"lr": 0.01, "hidden": [64, 16]}, val=0.9, test=0.8)
    sweep.add(method="iforest", dataset="d1", seed=110, params={"n_estimators": 100}, val=0.7, test=0.6)
    (sweep.path / "report").mkdir()  # a previous report is not a trial
    (sweep.path / "report" / "params.json").write_text("{}")
    runs = collect(sweep.path, save_to=sweep.path / "report")
    assert len(runs) == 2
    for col in ("method", "dataset", "setting_name", "normal", "anomalous", "anomalous_train", "p_contamination",
                "n_train_anomalies", "params", "config_id", "seed", "status", "error", "host", "device",
                "fit_seconds", "score_seconds", "total_seconds", "trial_dir"):
        assert col in runs.columns, col
    for split in ("val", "test"):
        for metric in METRICS:
            assert f"{split}_{metric}" in runs.columns
    ae = runs[runs["method"] == "ae"].iloc[0]
    assert ae["val_auc"] == pytest.approx(0.9) and ae["test_auc"] == pytest.approx(0.8)
    assert ae["param_lr"] == 0.01 and json.loads(ae["param_hidden"]) == [64, 16]
    assert json.loads(ae["params"]) == {"hidden": [64, 16], "lr": 0.01}
    assert ae["config_id"] == artifacts.config_id("ae", {"lr": 0.01, "hidden": [64, 16]})
    assert ae["anomalous"] == "1,2" and ae["normal"] == "0" and ae["status"] == "ok"
    assert pd.isna(runs[runs["method"] == "iforest"].iloc[0]["param_lr"])
    saved = pd.read_parquet(sweep.path / "report" / "runs.parquet")
    assert len(saved) == 2 and set(saved["method"]) == {"ae", "iforest"}


def test_failures_become_rows_with_their_message(sweep):
    ok = sweep.add(seed=110)
    error = sweep.add(seed=210, status="error", error="RuntimeError: CUDA out of memory")
    crash = sweep.add(seed=310, status="crash")
    killed = sweep.add(seed=410, status="incomplete")
    truncated = sweep.add(seed=510, status="truncated")
    broken = sweep.path / "trainable_broken"
    broken.mkdir()
    (broken / "params.json").write_text('{"method": "ae", "datas')  # cut short, no result.json either
    rows = collect(sweep.path).set_index("trial_dir")
    assert rows.loc[str(ok), "status"] == "ok" and pd.isna(rows.loc[str(ok), "error"])
    assert rows.loc[str(error), "status"] == "error"
    assert rows.loc[str(error), "error"] == "RuntimeError: CUDA out of memory"
    assert rows.loc[str(crash), "status"] == "error"
    assert rows.loc[str(crash), "error"].startswith("ray.exceptions.WorkerCrashedError")  # last line of error.txt
    assert rows.loc[str(killed), "status"] == "incomplete" and "no trial.json" in rows.loc[str(killed), "error"]
    assert rows.loc[str(truncated), "status"] == "incomplete"
    assert "unreadable" in rows.loc[str(truncated), "error"]
    assert rows.loc[str(broken), "status"] == "incomplete" and "params.json unreadable" in rows.loc[str(broken), "error"]
    # Ray's initial params.json has no config_id: it is computed from method + params
    assert rows.loc[str(killed), "config_id"] == artifacts.config_id("ae", {"lr": 0.001})


def test_unreadable_params_json_falls_back_to_trial_json_then_rays_result_json(sweep):
    finished = sweep.add(seed=110)
    killed = sweep.add(seed=210, status="incomplete")
    for trial in (finished, killed):
        (trial / "params.json").write_text("{")
    rows = collect(sweep.path).set_index("seed")
    assert rows.loc[110, "method"] == "ae" and rows.loc[110, "status"] == "ok"  # trial.json keeps the config
    assert rows.loc[110, "config_id"] == artifacts.config_id("ae", {"lr": 0.001}) and pd.isna(rows.loc[110, "error"])
    assert rows.loc[210, "method"] == "ae" and rows.loc[210, "dataset"] == "d1"  # from result.json
    assert "params.json unreadable" in rows.loc[210, "error"]


@pytest.mark.parametrize("layout", ["tune", "flat"])
def test_both_params_layouts_give_the_same_row(sweep, layout):
    trial = sweep.add(seed=110, params={"lr": 0.5}, layout=layout)
    raw = json.loads((trial / "params.json").read_text())
    assert ("trial" in raw) == (layout == "tune")
    row = collect(sweep.path).iloc[0]
    assert row["method"] == "ae" and row["seed"] == 110 and row["param_lr"] == 0.5
    assert row["config_id"] == artifacts.config_id("ae", {"lr": 0.5}) and row["setting_name"] == "d1-default"


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(AdrayError, match="no such folder"):
        collect(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdrayError, match="no trials found.*not a sweep folder"):
        collect(tmp_path / "empty")


def test_a_parent_folder_points_to_the_sweep_inside(sweep):
    sweep.add()
    with pytest.raises(AdrayError, match="Did you mean .*sweep"):
        collect(sweep.path.parent)


def test_find_trials_ignores_report_and_non_trial_folders(sweep):
    sweep.add()
    (sweep.path / "report").mkdir()
    (sweep.path / "checkpoint_000001").mkdir()
    assert [p.name for p in find_trials(sweep.path)] == ["trainable_00001_ae_d1_110"]


def test_collect_is_fast(tmp_path):
    fake = make_fake_sweep(tmp_path / "s", methods=("a", "b"), datasets=("d1", "d2", "d3", "d4", "d5"), n_configs=2,
                           seeds=(1, 2, 3, 4, 5), settings=((0.0, 0), (0.01, 0)), artifact_datasets=0, history=False)
    start = time.perf_counter()
    runs = collect(fake.path)
    assert len(runs) == fake.n_trials == 200
    assert time.perf_counter() - start < 2.0  # 10,000 trials take about 1.5 s (adray bench report)
