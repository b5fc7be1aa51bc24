"""One trial, without Ray: split, scale, fit with per-epoch reports, evaluate, write the artifacts.

The Ray trainable (:mod:`adray.tune.trainable`) only supplies the dataset, a ``report`` function
and the checkpoint to resume from; everything else happens here, so a trial can be run and tested in
a plain process. A detector that raises or scores non-finite values ends the trial with
``status="error"`` and its message in ``trial.json``: the sweep goes on.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adray import __version__, artifacts, metrics
from adray.data.dataset import Dataset
from adray.data.settings import Setting, Split, make_split

# report(metrics, state) -> None: called every epoch; ``state`` is not None when a checkpoint is due
Reporter = Callable[[dict, "dict | None"], None]

THRESHOLD_PERCENTILE = 98.0  # AMSL's rule (adray/data/PROTOCOL.md): >= 98th percentile of training scores


@dataclass
class TrialConfig:
    """What one trial runs: the one description of a trial from the sweep to the trial to the analysis.

    ``params`` are the detector's hyperparameters. Three identities are derived from it, once, here:
    ``config_id`` (method + hyperparameters: one configuration across seeds and datasets),
    ``setting_key`` (dataset + every setting field) and ``trial_key`` (both plus the seed: one trial
    of one sweep; the ledger and the report never count a trial_key twice).
    """

    method: str
    dataset: str
    setting: Setting
    seed: int
    params: dict = field(default_factory=dict)
    checkpoint_every: int = 5

    @classmethod
    def from_dict(cls, raw: dict) -> TrialConfig:
        return cls(
            method=raw["method"], dataset=raw["dataset"], setting=Setting.from_dict(raw["setting"]),
            seed=int(raw["seed"]), params=dict(raw.get("params") or {}),
            checkpoint_every=int(raw.get("checkpoint_every", 5)),
        )

    @property
    def config_id(self) -> str:
        return artifacts.config_id(self.method, self.params)

    @property
    def setting_key(self) -> str:
        return artifacts.setting_key(self.dataset, self.setting.to_dict())

    @property
    def trial_key(self) -> str:
        return artifacts.trial_key(self.config_id, self.setting_key, self.seed)

    def to_dict(self) -> dict:
        return {
            "method": self.method, "dataset": self.dataset, "setting": self.setting.to_dict(),
            "seed": self.seed, "params": self.params, "checkpoint_every": self.checkpoint_every,
            "config_id": self.config_id, "setting_key": self.setting_key, "trial_key": self.trial_key,
        }


def minmax_scale(X: np.ndarray, fit_rows: np.ndarray, *rows: np.ndarray) -> list[np.ndarray]:
    """Scale each feature to [0, 1] with min/max of ``fit_rows``; returns scaled copies of ``rows``."""
    flat = X.reshape(len(X), -1)
    fitted = flat[fit_rows]
    low, span = fitted.min(axis=0), np.ptp(fitted, axis=0)
    span[span == 0] = 1.0
    shape = X.shape[1:]
    return [((flat[r] - low) / span).astype(np.float32).reshape(len(r), *shape) for r in rows]


def prepare_arrays(dataset: Dataset, split: Split) -> dict[str, np.ndarray]:
    """The split's features, MinMax-scaled on the training rows unless the data is pre-scaled (images)."""
    X = dataset.X
    if dataset.meta.extra.get("scaling", "minmax") == "none":
        return {"train": X[split.train], "val": X[split.val], "test": X[split.test]}
    train, val, test = minmax_scale(X, np.unique(split.train), split.train, split.val, split.test)
    return {"train": train, "val": val, "test": test}


def training_rows(y_train: np.ndarray, supervision: str) -> np.ndarray:
    """Which training rows a detector is given (a boolean mask over the split's training rows).

    A semi-supervised detector gets every row with its label (1 = known anomaly). An unsupervised one
    ignores labels, so the known anomalies are left out: given to it they would be learned as normal
    data. Polluted rows (anomalies the setting relabelled as normal) stay, since a polluted setting
    means exactly that the training data holds unlabelled anomalies.
    """
    if supervision == "semi":
        return np.ones(len(y_train), dtype=bool)
    return np.asarray(y_train) == 0


def device_for(gpu_fraction: float) -> str:
    """CUDA when the trial was given a GPU share and torch sees one, else CPU (never grab an unassigned GPU)."""
    if gpu_fraction <= 0:
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    if gpu_fraction < 1:
        # Ray does not isolate GPU memory: cap this process at its share so packed trials cannot starve each other
        torch.cuda.set_per_process_memory_fraction(min(1.0, gpu_fraction), 0)
    return "cuda"


def data_version(dataset: Dataset) -> dict:
    """What identifies the data a trial ran on, so a report refuses to compare sweeps whose data differ
    (a loader fixed in between, another raw file): loader and storage versions, rows, feature shape and
    class counts. Not a hash of the rows, which would cost up to half a second per trial on MNIST."""
    meta = dataset.meta
    return {"name": meta.name, "loader_version": meta.loader_version, "format_version": meta.format_version,
            "rows": len(dataset), "shape": list(meta.shape), "classes": dataset.class_counts()}


def _finite_or_none(value):
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


def run_trial(
    config: TrialConfig,
    dataset: Dataset,
    trial_dir: Path,
    report: Reporter,
    resume: dict | None = None,
    gpu_fraction: float = 0.0,
    attempt: int = 0,
    cpu_threads: int | None = None,
    context: dict | None = None,
) -> dict:
    """Run one trial end to end and return its outcome (the content of ``trial.json``).

    ``resume`` is a checkpoint payload written earlier by this function (``{"state", "history"}``):
    the detector continues from it and the history keeps the epochs already reported.
    ``cpu_threads`` caps torch's intra-op threads at the trial's CPU share (trials packed on a node
    must not each spawn one thread per core); ``context`` is recorded in ``trial.json`` (e.g. node id)
    and its ``index`` and ``sweep`` (the trial's place in a ledger) in ``config.json`` too, which is
    written first, so even a trial killed at once can be told apart from any other.
    """
    from adray.detectors import build  # imported here: torch loads only in trials that need it

    trial_dir = Path(trial_dir)
    placed = {k: v for k, v in (context or {}).items() if k in ("index", "sweep")}
    artifacts.write_json(trial_dir / artifacts.CONFIG, {**config.to_dict(), **placed})
    started = time.time()
    outcome: dict = {
        "status": artifacts.STATUS_ERROR, "error": None, "val": {}, "test": {}, "host": socket.gethostname(),
        "pid": os.getpid(), "attempt": attempt, "adray_version": __version__,
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "start_time": started, "config": config.to_dict(), "data": data_version(dataset), **(context or {}),
    }
    history: list[dict] = list((resume or {}).get("history", []))
    frames: dict = {}
    try:
        split = make_split(dataset, config.setting, config.seed)
        arrays = prepare_arrays(dataset, split)
        detector = build(config.method, **config.params)
        given = training_rows(split.y_train, detector.supervision)
        arrays["train"], y_train = arrays["train"][given], split.y_train[given]
        subclass_train = split.subclass_train[given] if split.subclass_train is not None else None
        outcome.update(n_train=int(given.sum()), n_val=len(split.val), n_test=len(split.test),
                       n_train_anomalies=int(y_train.sum()), n_polluted=split.n_polluted,
                       train_rows={"supervision": detector.supervision, "given": int(given.sum()),
                                   "known_anomalies_given": int(y_train.sum()),
                                   "known_anomalies_left_out": int(split.y_train.sum() - y_train.sum()),
                                   "polluted_given_as_normal": int(split.n_polluted)})
        if cpu_threads and getattr(detector, "uses_gpu", False):
            import torch

            torch.set_num_threads(cpu_threads)
        device = device_for(gpu_fraction) if getattr(detector, "uses_gpu", False) else "cpu"
        outcome["device"] = device

        def on_epoch(epoch_metrics: dict) -> None:
            row = {k: v for k, v in epoch_metrics.items()
                   if isinstance(v, int | float | str) and not isinstance(v, bool)}
            history.append(row)
            due = len(history) % max(1, config.checkpoint_every) == 0
            state = {"state": detector.get_state(), "history": list(history)} if due else None
            report(row, state)

        fit_start = time.perf_counter()
        detector.fit(
            arrays["train"], y_train, subclass=subclass_train, X_val=arrays["val"],
            y_val=split.y_val, seed=config.seed, device=device, callbacks=[on_epoch],
            state=(resume or {}).get("state"),
        )
        outcome["fit_seconds"] = time.perf_counter() - fit_start
        outcome["fit_info"] = detector.fit_info()
        outcome["paper_metrics"] = list(detector.paper_metrics)
        score_start = time.perf_counter()
        scores = {name: np.asarray(detector.decision_function(arrays[name]), dtype=np.float64)
                  for name in ("train", "val", "test")}
        outcome["score_seconds"] = time.perf_counter() - score_start
        bad = [name for name, s in scores.items() if not np.isfinite(s).all()]
        if bad:
            raise FloatingPointError(f"{config.method} produced non-finite scores on the {', '.join(bad)} rows")
        threshold = metrics.percentile_threshold(scores["train"][y_train == 0], THRESHOLD_PERCENTILE)
        labels = {"val": split.y_val, "test": split.y_test}
        rows = {"val": split.val, "test": split.test}
        for name in ("val", "test"):
            outcome[name] = metrics.evaluate(labels[name], scores[name], threshold)
        outcome["flags"] = degenerate(labels, scores)
        frames = _frames(dataset, rows, labels, scores, outcome)
        outcome["status"] = artifacts.STATUS_OK
    except Exception as exc:  # the detector's failure is this trial's result, not the sweep's
        outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcome["traceback"] = traceback.format_exc(limit=20)
    outcome["epochs"] = len(history)
    outcome["end_time"] = time.time()
    outcome["total_seconds"] = outcome["end_time"] - started
    outcome["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    history_frame = pd.DataFrame(history) if history else None
    if outcome["status"] == artifacts.STATUS_ERROR:
        # the cause first: a small file that fits where a large one may not (a nearly full disk)
        artifacts.write_json(trial_dir / artifacts.TRIAL, outcome)
    artifacts.write_trial(trial_dir, outcome, history=history_frame, **frames)
    return outcome


def degenerate(labels: dict[str, np.ndarray], scores: dict[str, np.ndarray]) -> list[str]:
    """Why an evaluated split's metrics are not what they seem: every score tied (a constant scorer's
    AUC of exactly 0.5 says nothing about the method) or one class only (AUC undefined)."""
    flags = []
    for split in ("val", "test"):
        y, s = labels[split], scores[split]
        if len(s) and np.ptp(s) == 0:
            flags.append(f"{split}: all {len(s)} scores are equal (AUC 0.5 carries no ranking)")
        if len(np.unique(y)) < 2 and not (split == "val" and len(y) and y.max() == 0):
            flags.append(f"{split}: one class only ({'anomalies' if len(y) and y.max() else 'normal'}); "
                         "AUC undefined")
    return flags


def _frames(dataset, rows, labels, scores, outcome) -> dict:
    """metric.csv, roc.csv and scores.parquet contents for the evaluated splits."""
    codes, names = dataset.label_codes
    names = np.asarray(names, dtype=object)
    metric_rows, roc_parts, score_parts = [], [], []
    for split_name in ("val", "test"):
        metric_rows.append({"split": split_name, **{k: _finite_or_none(v) for k, v in outcome[split_name].items()}})
        if labels[split_name].min(initial=0) != labels[split_name].max(initial=0):
            fpr, tpr, thr = metrics.roc(labels[split_name], scores[split_name])
            roc_parts.append(pd.DataFrame({"split": split_name, "fpr": fpr, "tpr": tpr, "threshold": thr}))
        score_parts.append(pd.DataFrame({
            "split": split_name, "row": rows[split_name], "label": labels[split_name].astype(np.int8),
            "class": names[codes[rows[split_name]]], "score": scores[split_name],
        }))
    return {
        "metrics": pd.DataFrame(metric_rows),
        "roc": pd.concat(roc_parts, ignore_index=True) if roc_parts else None,
        "scores": pd.concat(score_parts, ignore_index=True),
    }
