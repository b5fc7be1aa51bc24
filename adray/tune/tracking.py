"""Experiment tracking in MLflow (``--mlflow URI``): each trial becomes an MLflow run, through Ray Tune's
MLflow integration (``MLflowLoggerCallback``, driven by the sweep's driver).

Tune's configuration of a trial is only its ledger index, so the runs' parameters come from the ledger
instead: method, dataset, seed, setting fields and hyperparameters. Per-epoch metrics arrive as Tune
results; at the end of a trial its final validation and test metrics (from ``trial.json``) and its
artifact files are logged, and the run is marked FINISHED (ok) or FAILED. One MLflow experiment per
sweep, named after it. A plain folder as URI is a local MLflow store (``mlflow ui --backend-store-uri
<folder>`` shows it).
"""

from __future__ import annotations

import json
from pathlib import Path

from ray.air.integrations.mlflow import MLflowLoggerCallback

from adray import artifacts
from adray.sweep.ledger import Ledger

ARTIFACTS = (artifacts.CONFIG, artifacts.TRIAL, artifacts.METRICS, artifacts.ROC, artifacts.SCORES,
             artifacts.HISTORY)


def tracking_uri(text: str) -> str:
    """A folder becomes a ``file:`` URI of its absolute path; URIs (http://, databricks, sqlite:) stay.

    MLflow 3 keeps its folder store in maintenance mode and refuses it unless ``MLFLOW_ALLOW_FILE_STORE``
    is set; a folder is what needs no server and no database, so adray opts in for folders.
    """
    if "://" in text or text.startswith(("databricks", "sqlite:")):
        return text
    import os

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return Path(text).resolve().as_uri()


def _params(trial_config: dict) -> dict:
    setting = {f"setting.{k}": json.dumps(v) if isinstance(v, list) else v
               for k, v in trial_config["setting"].items()}
    params = {f"param.{k}": json.dumps(v) if isinstance(v, list | dict) else v
              for k, v in trial_config["params"].items()}
    return {"method": trial_config["method"], "dataset": trial_config["dataset"], "seed": trial_config["seed"],
            "config_id": trial_config["config_id"], **setting, **params}


class SweepMLflowCallback(MLflowLoggerCallback):
    def __init__(self, uri: str, ledger: Ledger, sweep_dir: Path | None):
        super().__init__(tracking_uri=tracking_uri(uri), experiment_name=ledger.name, save_artifact=False,
                         tags={"adray.sweep": ledger.name})
        self.ledger, self.sweep_dir = ledger, sweep_dir

    def log_trial_start(self, trial) -> None:
        index = int(trial.config["i"])
        if trial not in self._trial_runs:
            config = self.ledger.trial(index).to_dict()
            tags = {**self.tags, "trial_name": str(trial), "adray.trial_key": config["trial_key"],
                    "adray.ledger_index": str(index)}
            run = self.mlflow_util.start_run(tags=tags, run_name=str(trial))
            self._trial_runs[trial] = run.info.run_id
            self.mlflow_util.log_params(run_id=run.info.run_id, params_to_log=_params(config))

    def log_trial_end(self, trial, failed: bool = False) -> None:
        run_id = self._trial_runs[trial]
        folder = self.sweep_dir / self.ledger.dirname(int(trial.config["i"])) if self.sweep_dir else None
        outcome = artifacts.read_json(folder / artifacts.TRIAL) if folder is not None else None
        if outcome is not None:
            final = {f"final_{split}_{k}": v for split in ("val", "test")
                     for k, v in (outcome.get(split) or {}).items() if isinstance(v, int | float)}
            self.mlflow_util.log_metrics(run_id=run_id, metrics_to_log=final, step=int(outcome.get("epochs") or 0))
            failed = failed or outcome.get("status") != artifacts.STATUS_OK
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=self.tracking_uri)
            for name in ARTIFACTS:
                if (folder / name).is_file():
                    client.log_artifact(run_id, str(folder / name))
        self.mlflow_util.end_run(run_id=run_id, status="FAILED" if failed or outcome is None else "FINISHED")
