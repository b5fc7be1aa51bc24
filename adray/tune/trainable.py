"""The one function trainable every method runs in: Ray glue around :func:`adray.tune.trial.run_trial`.

It takes the dataset from the object store (zero-copy), resumes from ``tune.get_checkpoint()`` after a
retry or restore, reports every epoch with ``tune.report`` (a checkpoint every ``checkpoint_every``
epochs) and finishes with one last report holding the val/test metrics and the trial's status.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import ray
from ray import tune

from adray import artifacts
from adray.tune.store import get_dataset
from adray.tune.trial import TrialConfig, run_trial

STATE_FILE = "state.pkl"


def trial_dirname(trial_config: dict, trial_id: str) -> str:
    """A trial's folder name: readable, unique, and computable both by the driver and inside the trial."""
    t = trial_config.get("trial", trial_config)
    cid = artifacts.config_id(t["method"], t["params"])[:6]
    setting = t["setting"].get("name") or "setting"
    name = f"{t['method']}_{t['dataset']}_{setting}_{cid}_seed{t['seed']}_{trial_id}"
    return name.replace(":", "-").replace("/", "-")  # pyod:ECOD, odds:x -> safe on every filesystem


def trial_directory(config: dict, sweep_dir: str | None) -> Path:
    """Where this trial's artifacts go: its folder in a local (or mounted) sweep directory, written in
    place and atomically; for cloud storage the working directory, which Tune uploads (sync_artifacts)."""
    if sweep_dir is None:
        return Path(os.getcwd())
    folder = Path(sweep_dir) / trial_dirname(config, tune.get_context().get_trial_id())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def resource_share() -> tuple[float, float]:
    """(CPU, GPU) given to this trial."""
    resources = tune.get_context().get_trial_resources()
    bundles = getattr(resources, "bundles", None) or [resources]
    bundle = bundles[0] if isinstance(bundles[0], dict) else {}
    return float(bundle.get("CPU", 1.0)), float(bundle.get("GPU", 0.0))


def _load_checkpoint() -> dict | None:
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder, open(Path(folder) / STATE_FILE, "rb") as fh:
        return pickle.load(fh)


def _report(metrics: dict, payload: dict | None) -> None:
    if payload is None:
        tune.report(metrics)
        return
    with tempfile.TemporaryDirectory() as folder:
        with open(Path(folder) / STATE_FILE, "wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


def adray_trial(config: dict, datasets: dict, sweep_dir: str | None = None) -> None:
    """Tune entry point. ``datasets`` maps dataset name -> [ObjectRef] (put once per sweep);
    ``sweep_dir`` is the sweep's local folder (None for cloud storage)."""
    trial = TrialConfig.from_dict(config)
    dataset = get_dataset(datasets[trial.dataset][0])
    resume = _load_checkpoint()
    cpus, gpus = resource_share()
    context = {"node_id": ray.get_runtime_context().get_node_id(), "trial_id": tune.get_context().get_trial_id()}
    outcome = run_trial(trial, dataset, trial_directory(config, sweep_dir), _report, resume=resume,
                        gpu_fraction=gpus, attempt=int(resume is not None), cpu_threads=max(1, int(cpus)),
                        context=context)
    final = {"status": outcome["status"], "epochs": outcome.get("epochs", 0)}
    for split in ("val", "test"):
        for key in ("auc", "ap", "f1_macro"):
            value = outcome.get(split, {}).get(key)
            if value is not None:
                final[f"{split}_{key}"] = value
    tune.report(final)

