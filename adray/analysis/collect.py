"""Read a sweep folder into one tidy table, one row per trial (``runs.parquet``).

Why a table first: every later step (selection, seed merge, tests, tables) is a group-by on it, and
keeping failed and unfinished trials as rows (never dropping them, never raising on them) is what
lets the report say which seeds are missing and why.

Only ``params.json`` and ``trial.json`` are read (plus, when they fail, the last line of Ray's
``error.txt`` and the config in Ray's ``result.json``), so 10,000 trials take about a second. Both
configuration layouts are understood: Tune's ``{"trial": {method, ...}}`` as adray.tune writes it
(``config_id`` then comes from ``trial.json``'s ``config``) and a flat one with ``config_id``; a
missing ``config_id`` is computed with :func:`adray.artifacts.config_id`. A trial's status is

``ok``          ``trial.json`` says so;
``error``       ``trial.json`` says "error", or there is no ``trial.json`` but Ray left ``error.txt``;
``incomplete``  neither (killed, still running, or ``trial.json`` cut short): its message says which.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd

from adray import artifacts
from adray.errors import AdrayError

# the metric dicts in trial.json (adray.metrics.evaluate with a threshold)
METRICS = ("auc", "ap", "threshold", "accuracy", "precision", "recall", "f1",
           "precision_macro", "recall_macro", "f1_macro")
SPLITS = ("val", "test")
STATUSES = ("ok", "error", "incomplete")
INCOMPLETE = "incomplete"
ERROR_FILE = "error.txt"
REPORT_DIR = "report"

# trial.json fields copied as they are; trial.json's n_train_anomalies (rows actually used) is
# renamed so it cannot be confused with the setting's n_train_anomalies (rows asked for)
_TRIAL_FIELDS = ("fit_seconds", "score_seconds", "total_seconds", "host", "device", "n_train", "n_val",
                 "n_test", "n_polluted", "epochs", "started_at", "finished_at", "start_time", "end_time",
                 "adray_version", "attempt", "trial_id", "node_id")
_RENAMED = {"n_train_anomalies": "n_train_anomalies_used"}

# Ray's own files at the sweep root: a folder with these but no trials is a sweep that never ran
_RAY_MARKERS = ("tuner.pkl", ".validate_storage_marker")
_RAY_PREFIXES = ("experiment_state-", "basic-variant-state-")


def _subdirs(sweep_dir: Path) -> list[Path]:
    with os.scandir(sweep_dir) as entries:
        return sorted(Path(e.path) for e in entries
                      if e.is_dir() and e.name != REPORT_DIR and not e.name.startswith("."))


def _is_trial(path: Path) -> bool:
    return any((path / name).is_file() for name in (artifacts.PARAMS, artifacts.TRIAL, ERROR_FILE))


def find_trials(sweep_dir: Path) -> list[Path]:
    """Trial directories: sub-directories holding params.json, trial.json or error.txt (not report/)."""
    return [p for p in _subdirs(Path(sweep_dir)) if _is_trial(p)]


def looks_like_sweep(sweep_dir: Path) -> bool:
    """True when Ray Tune's bookkeeping files are there (a sweep that may have produced no trials)."""
    names = os.listdir(sweep_dir)
    return any(n in _RAY_MARKERS or n.startswith(_RAY_PREFIXES) for n in names)


def _not_a_sweep(sweep_dir: Path) -> AdrayError:
    hint = ""
    nested = [p for p in sorted(sweep_dir.iterdir()) if p.is_dir() and p.name != REPORT_DIR][:50]
    deeper = [p for p in nested if _has_trials(p)]
    if deeper:
        hint = " Did you mean " + " or ".join(str(p) for p in deeper[:3]) + "?"
    what = "a Ray Tune sweep with no trial directories yet" if looks_like_sweep(sweep_dir) else "not a sweep folder"
    return AdrayError(
        f"{sweep_dir}: no trials found ({what}). A sweep folder holds one sub-directory per trial with "
        f"{artifacts.PARAMS} / {artifacts.TRIAL}; pass the folder written by the sweep, e.g. results/<sweep>.{hint}"
    )


def _has_trials(path: Path) -> bool:
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir() and (Path(entry.path) / artifacts.PARAMS).is_file():
                    return True
    except OSError:
        return False
    return False


def _last_line(path: Path) -> str | None:
    try:
        with open(path, errors="replace") as fh:
            lines = [line.strip() for line in fh if line.strip()]
    except OSError:
        return None
    return lines[-1] if lines else "error.txt is empty"


def _ray_config(trial_dir: Path) -> dict | None:
    """The config from the first line of Ray's result.json: a fallback when params.json is unreadable."""
    try:
        with open(trial_dir / "result.json") as fh:
            first = fh.readline()
        config = json.loads(first).get("config")
        return config if isinstance(config, dict) else None
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def _unwrap(config) -> dict | None:
    """The trial's configuration: Tune's config nests it under "trial" (``{"trial": {method, ...}}``)."""
    if not isinstance(config, dict):
        return None
    inner = config.get("trial")
    return inner if isinstance(inner, dict) and "method" not in config else config


def _joined(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _number(value):
    if isinstance(value, bool) or value is None:
        return math.nan if value is None else float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def setting_group(p_contamination, n_train_anomalies) -> str:
    """The label of a setting group: the seeds compare methods within (pollution, known anomalies)."""
    p = "?" if p_contamination is None or (isinstance(p_contamination, float) and math.isnan(p_contamination)) \
        else f"{float(p_contamination):g}"
    n = "all" if n_train_anomalies is None or (isinstance(n_train_anomalies, float) and math.isnan(n_train_anomalies)) \
        else str(int(n_train_anomalies))
    return f"p_contamination={p}, n_train_anomalies={n}"


def group_order(labels) -> list[str]:
    """Group labels sorted by pollution, then known anomalies ("all" last), not as text."""
    def key(label: str):
        values = []
        for part in label.split(", "):
            text = part.split("=", 1)[-1]
            try:
                values.append((0, float(text)))
            except ValueError:
                values.append((1, 0.0 if text == "all" else math.inf))
        return values, label

    return sorted(set(labels), key=key)


def read_trial(trial_dir: Path) -> dict | None:
    """One row for one trial directory (None if it is no trial); never raises on a missing or corrupt file."""
    trial_dir = Path(trial_dir)
    row: dict = {"trial_dir": str(trial_dir)}
    problems = []

    trial_path = trial_dir / artifacts.TRIAL
    outcome = artifacts.read_json(trial_path)
    if outcome is not None and not isinstance(outcome, dict):
        outcome = None
    recorded = _unwrap(outcome.get("config")) if outcome is not None else None  # trial.json's own copy

    params_path = trial_dir / artifacts.PARAMS
    params = _unwrap(artifacts.read_json(params_path))
    if params is None:
        if outcome is None and not _is_trial(trial_dir):
            return None
        if recorded is None:
            problems.append(f"{artifacts.PARAMS} {'unreadable (cut short?)' if params_path.exists() else 'missing'}")
        params = recorded or _unwrap(_ray_config(trial_dir)) or {}
    elif recorded is not None and not params.get("config_id") and recorded.get("config_id"):
        params = {**params, "config_id": recorded["config_id"]}
    method, hyper = params.get("method"), params.get("params")
    hyper = hyper if isinstance(hyper, dict) else {}
    setting = params.get("setting")
    if not isinstance(setting, dict):
        setting = {"name": str(setting)} if setting is not None else {}
    row["method"] = None if method is None else str(method)
    row["dataset"] = None if params.get("dataset") is None else str(params["dataset"])
    row["setting_name"] = str(setting.get("name") or "")
    for key in ("normal", "anomalous", "anomalous_train"):
        row[key] = _joined(setting.get(key))
    row["p_contamination"] = _number(setting.get("p_contamination"))
    n_anom = setting.get("n_train_anomalies")
    row["n_train_anomalies"] = None if n_anom is None else _number(n_anom)
    # a setting is identified by all its fields (a sweep over p_contamination keeps the name)
    row["setting_key"] = artifacts.config_id(str(row["dataset"]), setting) if setting else None
    row["setting_json"] = json.dumps(setting, sort_keys=True, default=str) if setting else None
    seed = params.get("seed")
    row["seed"] = int(seed) if isinstance(seed, int | float) and not isinstance(seed, bool) else None
    row["params"] = json.dumps(hyper, sort_keys=True, default=str)
    cid = params.get("config_id")
    if not cid and method is not None:
        cid = artifacts.config_id(str(method), hyper)
    row["config_id"] = cid
    for name, value in hyper.items():
        row[f"param_{name}"] = value

    status, error = INCOMPLETE, None
    if outcome is not None:
        status = outcome.get("status") if outcome.get("status") in (artifacts.STATUS_OK, artifacts.STATUS_ERROR) \
            else INCOMPLETE
        error = outcome.get("error")
        if status == INCOMPLETE:
            error = f"{artifacts.TRIAL} has an unknown status {outcome.get('status')!r}"
        for split in SPLITS:
            values = outcome.get(split) if isinstance(outcome.get(split), dict) else {}
            for metric in METRICS:
                row[f"{split}_{metric}"] = _number(values.get(metric))
        for key in _TRIAL_FIELDS:
            row[key] = outcome.get(key)
        for key, new in _RENAMED.items():
            row[new] = outcome.get(key)
    else:
        crashed = _last_line(trial_dir / ERROR_FILE) if (trial_dir / ERROR_FILE).exists() else None
        if crashed is not None:
            status, error = artifacts.STATUS_ERROR, crashed
        elif trial_path.exists():
            error = f"{artifacts.TRIAL} unreadable (cut short while writing?)"
        else:
            error = f"no {artifacts.TRIAL} (killed or still running)"
    if problems:
        error = "; ".join(problems + ([error] if error else []))
        if status == artifacts.STATUS_OK and row["method"] is None:
            status = INCOMPLETE
    row["status"], row["error"] = status, None if error is None else str(error)
    return row


_FIXED = ["method", "dataset", "setting_name", "setting_key", "group", "normal", "anomalous", "anomalous_train",
          "p_contamination", "n_train_anomalies", "config_id", "params", "seed", "status", "error"]


def tidy(rows: list[dict]) -> pd.DataFrame:
    """Rows from :func:`read_trial` as a DataFrame with stable dtypes (Parquet-safe)."""
    frame = pd.DataFrame.from_records(rows)
    for split in SPLITS:
        for metric in METRICS:
            col = f"{split}_{metric}"
            frame[col] = pd.to_numeric(frame[col], errors="coerce") if col in frame else math.nan
    for col in _TRIAL_FIELDS + tuple(_RENAMED.values()):
        if col not in frame:
            frame[col] = None
    for col in ("fit_seconds", "score_seconds", "total_seconds", "start_time", "end_time"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    for col in ("n_train", "n_val", "n_test", "n_polluted", "epochs", "attempt", "n_train_anomalies_used"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce").astype("Int64")
    frame["n_train_anomalies"] = pd.to_numeric(frame["n_train_anomalies"], errors="coerce").astype("Int64")
    frame["group"] = [setting_group(p, None if pd.isna(n) else n)
                      for p, n in zip(frame["p_contamination"], frame["n_train_anomalies"], strict=True)]
    for col in frame.columns:
        if col.startswith("param_"):
            frame[col] = _uniform(frame[col])
    for col in ("host", "device", "started_at", "finished_at", "adray_version", "error", "trial_id", "node_id"):
        frame[col] = frame[col].astype("string")
    order = _FIXED + [c for c in frame.columns if c not in _FIXED and c != "trial_dir"] + ["trial_dir"]
    return frame[order]


def _uniform(column: pd.Series) -> pd.Series:
    """A hyperparameter column Parquet can store: numbers stay numbers, anything else becomes JSON text."""
    values = column.dropna()
    kinds = {type(v) for v in values}
    if kinds <= {int, float} and kinds:
        return pd.to_numeric(column, errors="coerce")
    if kinds == {bool} or kinds == {str}:
        return column.astype("boolean" if kinds == {bool} else "string")
    return column.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                      else json.dumps(v, sort_keys=True, default=str)).astype("string")


def collect(sweep_dir: Path, save_to: Path | None = None) -> pd.DataFrame:
    """The sweep's runs table; ``save_to`` (a folder) also writes ``runs.parquet`` there.

    Raises :class:`AdrayError` when the folder is missing or holds no trials.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.exists():
        raise AdrayError(f"{sweep_dir}: no such folder; pass a sweep folder such as results/<sweep>")
    if not sweep_dir.is_dir():
        raise AdrayError(f"{sweep_dir}: is a file, not a sweep folder; pass a folder such as results/<sweep>")
    rows = [row for row in map(read_trial, _subdirs(sweep_dir)) if row is not None]
    if not rows:
        raise _not_a_sweep(sweep_dir)
    runs = tidy(rows)
    if save_to is not None:
        save_to = Path(save_to)
        save_to.mkdir(parents=True, exist_ok=True)
        artifacts.write_frame(save_to / "runs.parquet", runs)
    return runs
