"""Synthetic sweep folders in exactly the trial-directory format of :mod:`adray.artifacts`.

Why: the analysis must be tested (and benchmarked at 10,000 trials) without Ray, torch or hours of
training, on inputs whose answers are known. :func:`write_fake_trial` writes one trial directory the
way the orchestrator does (the same ``adray.artifacts`` helpers, ``trial.json`` last), including the
failure modes a real sweep has: a detector error (``trial.json`` with status "error"), a dead
worker (Ray's initial ``params.json`` + ``error.txt``, no ``trial.json``), a killed trial (only
``params.json``) and a ``trial.json`` cut short. :func:`make_fake_sweep` writes a whole sweep:
methods x datasets x configurations x seeds x settings with a plausible quality model (method,
dataset and configuration effects, seed noise, validation noise independent of test noise so the
best-on-validation configuration is not always the best on test).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from adray import artifacts, metrics

RAY_FILES = ("tuner.pkl", ".validate_storage_marker", "experiment_state-2025-05-01_12-00-00.json",
             "basic-variant-state-2025-05-01_12-00-00.json")
ERRORS = ("RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
          "ValueError: Input contains NaN, infinity or a value too large for dtype('float32').",
          "FloatingPointError: loss became NaN at epoch 3")
CRASH = ("Failure # 1 (occurred at 2025-05-01_12-30-00)\n"
         "ray::ImplicitFunc.train() (pid=4242, ip=10.0.0.7, actor_id=ab12)\n"
         "  File \"/usr/lib/python3.11/site-packages/ray/tune/trainable/function_trainable.py\", line 331, "
         "in _trainable_func\n"
         "    output = fn()\n"
         "ray.exceptions.WorkerCrashedError: The worker died unexpectedly while executing this task.\n")


def fake_setting(dataset: str, p_contamination: float = 0.0, n_train_anomalies: int | None = 0,
                 name: str | None = None, normal=("0",), anomalous=("1", "2")) -> dict:
    """A ``Setting.to_dict()`` look-alike (built here so the analysis never imports adray.data)."""
    return {"name": name if name is not None else f"{dataset}-default", "normal": list(normal),
            "anomalous": list(anomalous), "anomalous_train": list(anomalous),
            "p_contamination": p_contamination, "n_train_anomalies": n_train_anomalies, "p_test": 0.2,
            "p_val": 0.05, "split_seed": 42, "experts": "class", "all_anomalies_in_test": False}


def metric_dict(auc: float | None, ap: float | None = None) -> dict:
    """A trial.json metric dict with every key; threshold metrics derived loosely from the AUC."""
    if auc is None or not np.isfinite(auc):
        return {k: None for k in ("auc", "ap", "threshold", "accuracy", "precision", "recall", "f1",
                                  "precision_macro", "recall_macro", "f1_macro")}
    ap = max(0.0, auc - 0.12) if ap is None else ap
    precision, recall = 0.5 * auc + 0.3, 0.8 * auc
    macro_p, macro_r = 0.5 * (precision + 0.95), 0.5 * (recall + 0.97)
    return {"auc": auc, "ap": ap, "threshold": 0.5, "accuracy": 0.6 + 0.35 * auc, "precision": precision,
            "recall": recall, "f1": 2 * precision * recall / (precision + recall), "precision_macro": macro_p,
            "recall_macro": macro_r, "f1_macro": 2 * macro_p * macro_r / (macro_p + macro_r)}


def _roc(split: str, labels: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    fpr, tpr, threshold = metrics.roc(labels, scores)
    return pd.DataFrame({"split": split, "fpr": fpr, "tpr": tpr, "threshold": threshold})


def scores_for(auc: float, n: int, rng: np.random.Generator, p_anomaly: float = 0.1):
    """Binormal scores whose expected AUC is ``auc`` (shift d = sqrt(2) * Phi^-1(auc))."""
    n_anom = max(2, int(round(n * p_anomaly)))
    labels = np.r_[np.zeros(n - n_anom, dtype=np.int8), np.ones(n_anom, dtype=np.int8)]
    shift = math.sqrt(2) * norm.ppf(min(max(auc, 0.01), 0.999))
    scores = rng.normal(size=n) + shift * labels
    return labels, scores


def history_frame(final: float, epochs: int, rng: np.random.Generator, stages=("fit",)) -> pd.DataFrame:
    """Per-epoch rows (iteration, stage, epoch, loss, val_auc, val_ap) approaching ``final``, oscillating."""
    rows, iteration = [], 0
    for stage in stages:
        for epoch in range(1, epochs + 1):
            iteration += 1
            progress = iteration / (epochs * len(stages))
            value = 0.5 + (final - 0.5) * (1 - math.exp(-4 * progress)) + rng.normal(0, 0.01)
            rows.append({"iteration": iteration, "stage": stage, "epoch": epoch,
                         "loss": 1.0 / iteration + rng.normal(0, 0.005),
                         "val_auc": min(value, 1.0), "val_ap": max(0.0, min(value - 0.12, 1.0))})
    return pd.DataFrame(rows)


def write_fake_trial(sweep_dir: Path, name: str, *, method: str, dataset: str, setting: dict, seed: int,
                     params: dict, val: float | dict | None = None, test: float | dict | None = None,
                     status: str = "ok", error: str | None = None, artifacts_too: bool = False,
                     history: bool = True, epochs: int = 10, n_scores: int = 300, layout: str = "tune",
                     rng: np.random.Generator | None = None) -> Path:
    """Write one trial directory. ``status``: ok | error | crash | incomplete | truncated.

    ``layout="tune"`` is what adray.tune writes: Ray's ``params.json`` holds Tune's config
    ``{"trial": {...}}`` and ``trial.json`` repeats the configuration with its ``config_id``;
    ``"flat"``: ``params.json`` is the configuration itself, rewritten with ``config_id``.

    ``val`` / ``test``: an AUC (the other metrics are derived) or a full metric dict. With
    ``artifacts_too`` the trial also gets roc.csv and scores.parquet (val and test), and its metrics are
    recomputed from those scores so every file agrees.
    """
    rng = rng or np.random.default_rng(seed)
    trial_dir = Path(sweep_dir) / name
    trial_dir.mkdir(parents=True, exist_ok=True)
    config = {"method": method, "dataset": dataset, "setting": setting, "seed": seed, "params": params}
    complete = {**config, "config_id": artifacts.config_id(method, params)}
    tune_config = {"trial": {**config, "checkpoint_every": 5}} if layout == "tune" else config
    # Ray's params.json: Tune's config (no config_id)
    artifacts.write_json(trial_dir / artifacts.PARAMS, tune_config)
    with open(trial_dir / "result.json", "w") as fh:
        fh.write(json.dumps({"config": tune_config, "training_iteration": 1}) + "\n")
    if status == "crash":
        (trial_dir / "error.txt").write_text(CRASH)
        return trial_dir
    if status == "incomplete":
        return trial_dir
    if layout == "flat":  # the trainable rewrites params.json complete
        artifacts.write_json(trial_dir / artifacts.PARAMS, complete)

    outcome = {"status": "ok", "error": None, "fit_seconds": float(rng.uniform(5, 60)),
               "score_seconds": float(rng.uniform(0.1, 2)), "host": f"worker-{seed % 3}", "device": "cuda:0",
               "n_train": 1000, "n_val": 60, "n_test": n_scores, "n_train_anomalies": setting.get("n_train_anomalies")
               or 0, "n_polluted": 10, "epochs": epochs, "started_at": "2025-05-01T12:00:00+00:00",
               "finished_at": "2025-05-01T12:01:00+00:00", "start_time": 1746100800.0, "end_time": 1746100860.0,
               "adray_version": "0.1.0", "attempt": 0, "pid": 4242}
    if layout == "tune":
        outcome["config"] = {**complete, "checkpoint_every": 5}
    outcome["total_seconds"] = outcome["fit_seconds"] + outcome["score_seconds"]
    if status == "error":
        outcome.update(status="error", error=error or ERRORS[0], val={}, test={},
                       traceback=f"Traceback (most recent call last):\n  ...\n{error or ERRORS[0]}\n")
        artifacts.write_trial(trial_dir, outcome)
        return trial_dir

    val_d = val if isinstance(val, dict) else metric_dict(val)
    test_d = test if isinstance(test, dict) else metric_dict(test)
    frames = {}
    if artifacts_too:
        roc_parts, score_parts = [], []
        for split, wanted, n in (("val", val_d, max(60, n_scores // 5)), ("test", test_d, n_scores)):
            labels, scores = scores_for(wanted["auc"] if wanted["auc"] is not None else 0.5, n, rng)
            wanted.update(metric_dict(metrics.auc(labels, scores), metrics.average_precision(labels, scores)))
            roc_parts.append(_roc(split, labels, scores))
            score_parts.append(pd.DataFrame({"split": split, "row": np.arange(n), "label": labels,
                                             "class": np.where(labels == 1, "1", "0"), "score": scores}))
        frames["roc"] = pd.concat(roc_parts, ignore_index=True)
        frames["scores"] = pd.concat(score_parts, ignore_index=True)
    if history:
        stages = ("target", "alarm") if method.startswith("a3") else ("fit",)
        frames["history"] = history_frame(val_d["auc"] if val_d["auc"] is not None else 0.5, epochs, rng, stages)
    frames["metrics"] = pd.DataFrame([{"split": "val", **val_d}, {"split": "test", **test_d}])
    outcome.update(val=val_d, test=test_d)
    artifacts.write_trial(trial_dir, outcome, **frames)
    if status == "truncated":
        text = (trial_dir / artifacts.TRIAL).read_text()
        (trial_dir / artifacts.TRIAL).write_text(text[: len(text) // 2])
    return trial_dir


def write_ray_files(sweep_dir: Path) -> None:
    """Tune's bookkeeping files at the sweep root (content irrelevant to the analysis)."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    for name in RAY_FILES:
        path = sweep_dir / name
        if name.endswith(".json"):
            path.write_text(json.dumps({"trial_data": [], "runner_data": {}}))
        else:
            path.write_bytes(b"\x80\x05fake tuner state" if name.endswith(".pkl") else b"")


@dataclass
class FakeSweep:
    path: Path
    n_trials: int
    statuses: dict[str, int] = field(default_factory=dict)
    truth: pd.DataFrame | None = None  # one row per trial: the quality the generator aimed at


def make_fake_sweep(sweep_dir: Path, *, methods=("ae", "deepsvdd", "iforest"), datasets=("digits", "mnist",
                    "nsl_kdd", "covtype"), n_configs: int = 2, seeds=(110, 210, 310),
                    settings=((0.01, 0),), p_error: float = 0.03, p_crash: float = 0.02,
                    p_incomplete: float = 0.02, artifact_datasets: int = 2, history: bool = True,
                    epochs: int = 10, n_scores: int = 300, layout: str = "tune", seed: int = 0) -> FakeSweep:
    """Write a whole synthetic sweep; ``settings`` are (p_contamination, n_train_anomalies) pairs.

    The first ``artifact_datasets`` datasets get roc.csv and scores.parquet for every ok trial; every
    ok trial gets metric.csv and (with ``history``) history.csv. Failures are drawn at random with
    the given rates (never for the first seed of a cell, so every cell keeps a result).
    """
    rng = np.random.default_rng(seed)
    sweep_dir = Path(sweep_dir)
    write_ray_files(sweep_dir)
    base = {m: rng.uniform(0.72, 0.9) for m in methods}
    ds_effect = {d: rng.normal(0, 0.04) for d in datasets}
    inter = {(m, d): rng.normal(0, 0.03) for m in methods for d in datasets}
    configs = {m: [{"lr": 10.0 ** -(2 + i), "epochs": epochs, "hidden": [64 // (i + 1), 16]} for i in range(n_configs)]
               for m in methods}
    cfg_effect = {(m, d, i): rng.normal(0, 0.02) for m in methods for d in datasets for i in range(n_configs)}
    truth, statuses = [], {}
    index = 0
    for (p, n), m, d, i, s in itertools.product(settings, methods, datasets, range(n_configs), seeds):
        quality = base[m] + ds_effect[d] + inter[(m, d)] + cfg_effect[(m, d, i)] - 0.5 * p + (0.03 if n else 0)
        test = float(np.clip(quality + rng.normal(0, 0.015), 0.02, 0.995))
        val = float(np.clip(quality + rng.normal(0, 0.025), 0.02, 0.995))
        draw = rng.random()
        status = "ok"
        if s != seeds[0]:
            if draw < p_error:
                status = "error"
            elif draw < p_error + p_crash:
                status = "crash"
            elif draw < p_error + p_crash + p_incomplete:
                status = "incomplete"
        statuses[status] = statuses.get(status, 0) + 1
        setting = fake_setting(d, p, n, name=f"{d}-p{p:g}-n{n}")
        name = (f"trainable_{index:05d}_{index}_dataset={d},method={m},seed={s}_2025-05-01_12-00-{index % 60:02d}")
        write_fake_trial(sweep_dir, name, method=m, dataset=d, setting=setting, seed=s, params=configs[m][i],
                         val=val, test=test, status=status, error=ERRORS[index % len(ERRORS)],
                         artifacts_too=datasets.index(d) < artifact_datasets, history=history, epochs=epochs,
                         n_scores=n_scores, layout=layout, rng=rng)
        truth.append({"method": m, "dataset": d, "p_contamination": p, "n_train_anomalies": n,
                      "config": i, "seed": s, "status": status, "val_auc": val, "test_auc": test})
        index += 1
    return FakeSweep(path=sweep_dir, n_trials=index, statuses=statuses, truth=pd.DataFrame(truth))


def finished_seeds(sweep_dir: Path) -> dict[int, float]:
    """seed -> end time of every ok ``trial.json`` in a (real or fake) sweep folder: what a kill-and-resume
    check compares before and after, since a trial run twice would have a later end time."""
    out = {}
    for path in Path(sweep_dir).glob(f"*/{artifacts.TRIAL}"):
        outcome = artifacts.read_json(path) or {}
        if outcome.get("status") == artifacts.STATUS_OK:
            out[outcome["config"]["seed"]] = outcome["end_time"]
    return out
