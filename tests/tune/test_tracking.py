"""--mlflow: each trial an MLflow run in a real local MLflow store, with what a researcher looks for there."""

import pytest

ray = pytest.importorskip("ray")
mlflow = pytest.importorskip("mlflow", reason="needs mlflow-skinny (pip install -e '.[test]')")

from adray.sweep.request import SweepRequest, parse_set  # noqa: E402
from adray.tune.runner import run_sweep  # noqa: E402
from adray.tune.tracking import tracking_uri  # noqa: E402

pytestmark = pytest.mark.ray


def test_every_trial_is_an_mlflow_run_with_params_metrics_and_artifacts(monkeypatch, tmp_path):
    monkeypatch.setenv("ADRAY_DETECTORS", "sleepy=adray.testing.detectors:Sleepy")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        request = SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=[1, 2],
                               overrides=parse_set(["epochs=3", "seconds_per_epoch=0", "fail_at_epoch=0,2"]),
                               storage=str(tmp_path), name="tracked", verbose=0, mlflow=str(tmp_path / "mlruns"))
        result = run_sweep(request)
    finally:
        ray.shutdown()
    assert result.counts["ok"] == 2 and result.counts["error"] == 2
    client = mlflow.tracking.MlflowClient(tracking_uri=tracking_uri(str(tmp_path / "mlruns")))
    experiment = client.get_experiment_by_name("tracked")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    for run in runs:
        params = run.data.params
        assert params["method"] == "sleepy" and params["dataset"] == "synthetic" and params["seed"] in ("1", "2")
        assert params["param.epochs"] == "3" and params["setting.name"] == "default"
        failing = params["param.fail_at_epoch"] == "2"
        assert run.info.status == ("FAILED" if failing else "FINISHED")
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.step for m in history] == ([1] if failing else [1, 2, 3])  # one point per epoch
        if not failing:
            assert 0.5 < run.data.metrics["final_test_auc"] <= 1.0
            files = {f.path for f in client.list_artifacts(run.info.run_id)}
            assert {"trial.json", "metric.csv", "scores.parquet", "history.csv"} <= files
