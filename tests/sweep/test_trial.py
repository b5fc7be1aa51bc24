"""The trial runner without Ray: artifacts, errors recorded, resume from a checkpoint payload."""

import json

import numpy as np
import pandas as pd
import pytest

from adray import artifacts
from adray.data import get_spec, load
from adray.sweep.trial import TrialConfig, minmax_scale, run_trial


@pytest.fixture(autouse=True)
def sleepy_registered(monkeypatch):
    monkeypatch.setenv("ADRAY_DETECTORS", "sleepy=adray.testing.detectors:Sleepy")


def _config(method="iforest", params=None, dataset="synthetic", checkpoint_every=1):
    return TrialConfig(method=method, dataset=dataset, setting=get_spec(dataset).setting(), seed=110,
                       params=params or {"n_estimators": 50}, checkpoint_every=checkpoint_every)


def test_a_trial_writes_every_artifact_and_they_parse(tmp_path):
    reports = []
    outcome = run_trial(_config(), load("synthetic"), tmp_path, lambda m, s: reports.append((m, s)))
    assert outcome["status"] == "ok" and outcome["error"] is None
    assert outcome["test"]["auc"] > 0.95  # shifted and scattered anomalies are easy for a forest
    on_disk = json.loads((tmp_path / artifacts.TRIAL).read_text())
    assert on_disk["status"] == "ok" and on_disk["config"]["config_id"] == artifacts.config_id("iforest", {"n_estimators": 50})
    metric = pd.read_csv(tmp_path / artifacts.METRICS)
    assert list(metric.split) == ["val", "test"]
    assert metric.set_index("split").loc["test", "auc"] == pytest.approx(outcome["test"]["auc"])
    roc = pd.read_csv(tmp_path / artifacts.ROC)
    assert set(roc.split) == {"val", "test"} and roc.fpr.between(0, 1).all()
    scores = pd.read_parquet(tmp_path / artifacts.SCORES)
    test = scores[scores.split == "test"]
    assert len(test) == outcome["n_test"] and set(test["class"]) <= {"n0", "n1", "n2", "a0", "a1"}
    assert (test.label == test["class"].str.startswith("a")).all()
    history = pd.read_csv(tmp_path / artifacts.HISTORY)
    assert list(history.epoch) == [1] and "val_auc" in history
    assert len(reports) == 1 and reports[0][1] is not None  # checkpoint_every=1: the epoch carries a state


def test_a_raising_detector_ends_its_trial_with_the_error_recorded(tmp_path):
    outcome = run_trial(_config("sleepy", {"epochs": 3, "seconds_per_epoch": 0, "fail_at_epoch": 2}),
                        load("synthetic"), tmp_path, lambda m, s: None)
    assert outcome["status"] == "error" and "failing on purpose at epoch 2" in outcome["error"]
    on_disk = json.loads((tmp_path / artifacts.TRIAL).read_text())
    assert on_disk["status"] == "error" and "RuntimeError" in on_disk["error"] and on_disk["epochs"] == 1
    assert not (tmp_path / artifacts.METRICS).exists()  # no result that could be mistaken for one


def test_non_finite_scores_are_an_error_not_a_result(tmp_path):
    outcome = run_trial(_config("sleepy", {"epochs": 1, "seconds_per_epoch": 0, "nan_scores": True}),
                        load("synthetic"), tmp_path, lambda m, s: None)
    assert outcome["status"] == "error" and "non-finite" in outcome["error"]


def test_resume_continues_after_the_checkpointed_epoch(tmp_path):
    log = tmp_path / "epochs.log"
    params = {"epochs": 4, "seconds_per_epoch": 0, "log_path": str(log)}
    saved = []
    run_trial(_config("sleepy", params), load("synthetic"), tmp_path / "a", lambda m, s: saved.append(s))
    log.unlink()
    resumed = run_trial(_config("sleepy", params), load("synthetic"), tmp_path / "b", lambda m, s: None,
                        resume=saved[1])  # the checkpoint taken after epoch 2
    assert [line.split()[2] for line in log.read_text().splitlines()] == ["epoch=3", "epoch=4"]
    history = pd.read_csv(tmp_path / "b" / artifacts.HISTORY)
    assert list(history.epoch) == [1, 2, 3, 4]  # the epochs before the checkpoint are kept, not redone
    assert resumed["attempt"] == 0 and resumed["status"] == "ok"


def test_minmax_is_fitted_on_the_training_rows_only():
    X = np.array([[0.0], [10.0], [5.0], [100.0]], dtype=np.float32)
    train, test = minmax_scale(X, np.array([0, 1]), np.array([0, 1, 2]), np.array([3]))
    np.testing.assert_allclose(train.ravel(), [0, 1, 0.5])
    np.testing.assert_allclose(test.ravel(), [10.0])  # a test row may fall outside [0, 1]


def test_images_are_not_rescaled(tmp_path):
    ds = load("digits")
    assert ds.meta.extra["scaling"] == "none"
    outcome = run_trial(_config("iforest", dataset="digits"), ds, tmp_path, lambda m, s: None)
    assert outcome["status"] == "ok"


def test_the_cause_of_an_error_is_written_before_files_that_may_not_fit(tmp_path, monkeypatch):
    def disk_full(path, frame):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(artifacts, "write_frame", disk_full)  # the history file no longer fits
    with pytest.raises(OSError):
        run_trial(_config("sleepy", {"epochs": 3, "seconds_per_epoch": 0, "fail_at_epoch": 2}),
                  load("synthetic"), tmp_path, lambda m, s: None)
    on_disk = json.loads((tmp_path / artifacts.TRIAL).read_text())
    assert on_disk["status"] == "error" and "failing on purpose at epoch 2" in on_disk["error"]


def test_degenerate_results_are_flagged_not_reported_as_normal(tmp_path):
    tied = run_trial(_config("sleepy", {"epochs": 1, "seconds_per_epoch": 0, "constant_scores": True}),
                     load("synthetic"), tmp_path / "tied", lambda m, s: None)
    assert tied["status"] == "ok" and tied["test"]["auc"] == 0.5
    assert any("test: all" in f and "scores are equal" in f for f in tied["flags"])
    normal = run_trial(_config("sleepy", {"epochs": 1, "seconds_per_epoch": 0}), load("synthetic"),
                       tmp_path / "normal", lambda m, s: None)
    assert normal["flags"] == []
    one_class = get_spec("synthetic").setting().with_(all_anomalies_in_test=True, p_contamination=0.0,
                                                     n_train_anomalies=0)  # validation: normal rows only
    config = TrialConfig("sleepy", "synthetic", one_class, 110, {"epochs": 1, "seconds_per_epoch": 0})
    assert run_trial(config, load("synthetic"), tmp_path / "amsl", lambda m, s: None)["flags"] == []


def test_trial_json_records_each_artifact_size_and_a_cut_file_is_detected(tmp_path):
    outcome = run_trial(_config(), load("synthetic"), tmp_path, lambda m, s: None)
    on_disk = json.loads((tmp_path / artifacts.TRIAL).read_text())
    assert set(on_disk["files"]) == {artifacts.METRICS, artifacts.ROC, artifacts.SCORES, artifacts.HISTORY}
    assert artifacts.damaged_files(tmp_path, on_disk) == [] and outcome["status"] == "ok"
    data = (tmp_path / artifacts.SCORES).read_bytes()
    (tmp_path / artifacts.SCORES).write_bytes(data[: len(data) // 2])
    assert artifacts.damaged_files(tmp_path, on_disk) == [f"{artifacts.SCORES} has {len(data) // 2} bytes, "
                                                          f"{len(data)} were written"]


def test_an_unsupervised_detector_is_not_given_known_anomalies_as_normal_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRAY_DETECTORS", "sleepy=adray.testing.detectors:Sleepy,"
                                          "semi=adray.testing.detectors:SleepySemi")
    setting = get_spec("synthetic").setting().with_(n_train_anomalies=20, p_contamination=0.05)
    params = {"epochs": 1, "seconds_per_epoch": 0}
    unsup = run_trial(TrialConfig("sleepy", "synthetic", setting, 110, params), load("synthetic"), tmp_path / "u",
                      lambda m, s: None)
    semi = run_trial(TrialConfig("semi", "synthetic", setting, 110, params), load("synthetic"), tmp_path / "s",
                     lambda m, s: None)
    assert semi["train_rows"] == {"supervision": "semi", "given": semi["n_train"], "known_anomalies_given": 20,
                                  "known_anomalies_left_out": 0, "polluted_given_as_normal": semi["n_polluted"]}
    assert unsup["train_rows"]["known_anomalies_left_out"] == 20 and unsup["n_train_anomalies"] == 0
    assert unsup["n_train"] == semi["n_train"] - 20 and unsup["n_polluted"] == semi["n_polluted"] > 0
    on_disk = json.loads((tmp_path / "u" / artifacts.TRIAL).read_text())
    assert on_disk["train_rows"]["supervision"] == "unsupervised"
