"""Read a sweep folder into one tidy table, one row per trial (``runs.parquet``).

Why a table first: every later step (selection, seed merge, tests, tables) is a group-by on it, and
keeping failed, unfinished and never-started trials as rows (never dropping them, never raising on
them) is what lets the report say which seeds are missing and why.

A trial's configuration comes from its ``config.json`` (or the copy in ``trial.json``; sweeps from
before the ledger have Tune's ``params.json``, nested ``{"trial": {...}}`` or flat), so 10,000
trials take about a second. A trial's status is

``ok``           ``trial.json`` says so and every artifact it lists has the size it was written with;
``error``        ``trial.json`` says "error", or there is no ``trial.json`` but Ray left ``error.txt``;
``incomplete``   neither (killed, still running, ``trial.json`` cut short, or an artifact damaged);
``not started``  the sweep's ledger (``sweep.json``) lists the trial and no folder holds it;
``stopped``      early-stopped with its whole configuration (``stopped.json``, seed-aware ASHA): a decision,
                 not a failure, and never a seed of a finished configuration;
``duplicate``    another folder holds the same trial (same configuration, setting and seed: a copied
                 or symlinked folder, a second writer); one folder is counted, the others are listed;
``foreign``      the folder's trial is not in the ledger (copied in from another sweep): listed, not counted.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd

from adray import artifacts
from adray.errors import AdrayError
from adray.sweep.ledger import LEDGER_FILE, Ledger, read_ledger

# the metric dicts in trial.json (adray.metrics.evaluate with a threshold)
METRICS = ("auc", "ap", "threshold", "accuracy", "precision", "recall", "f1",
           "precision_macro", "recall_macro", "f1_macro", "loss")
SPLITS = ("val", "test")
INCOMPLETE, NOT_STARTED, DUPLICATE, FOREIGN = "incomplete", "not started", "duplicate", "foreign"
STOPPED = "stopped"
STATUSES = ("ok", "error", INCOMPLETE, NOT_STARTED, STOPPED, DUPLICATE, FOREIGN)
STOPPED_FILE = "stopped.json"  # written by the sweep's early-stopping scheduler (adray.tune.search)
_PREFERENCE = {"ok": 0, STOPPED: 1, "error": 2, INCOMPLETE: 3}  # which of two folders of one trial counts
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


def _is_dir(entry: os.DirEntry) -> bool | None:
    """True for a folder, False for anything else, None when it cannot be told (a symlink loop)."""
    try:
        return entry.is_dir()
    except OSError:
        return None


def _subdirs(sweep_dir: Path) -> list[Path]:
    """The sweep's sub-folders, and entries that cannot be read (listed as problems, never a crash)."""
    with os.scandir(sweep_dir) as entries:
        return sorted(Path(e.path) for e in entries
                      if e.name != REPORT_DIR and not e.name.startswith(".") and _is_dir(e) is not False)


def _is_trial(path: Path) -> bool:
    return any((path / name).is_file() for name in (artifacts.CONFIG, artifacts.PARAMS, artifacts.TRIAL, ERROR_FILE))


def find_trials(sweep_dir: Path) -> list[Path]:
    """Trial directories: sub-directories holding params.json, trial.json or error.txt (not report/)."""
    return [p for p in _subdirs(Path(sweep_dir)) if _is_trial(p)]


def looks_like_sweep(sweep_dir: Path) -> bool:
    """True when a ledger or Ray Tune's bookkeeping files are there (a sweep that may have no trials yet)."""
    names = os.listdir(sweep_dir)
    return LEDGER_FILE in names or any(n in _RAY_MARKERS or n.startswith(_RAY_PREFIXES) for n in names)


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
                if _is_dir(entry) and _is_trial(Path(entry.path)):
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


def _configuration(trial_dir: Path, outcome: dict | None) -> tuple[dict | None, list[str]]:
    """The trial's configuration and what was wrong finding it: config.json, else trial.json's copy,
    else Tune's params.json (older sweeps), else the config in Ray's result.json."""
    config = _unwrap(artifacts.read_json(trial_dir / artifacts.CONFIG))
    if config is not None:
        return config, []
    recorded = _unwrap(outcome.get("config")) if outcome is not None else None
    legacy = _unwrap(artifacts.read_json(trial_dir / artifacts.PARAMS))
    legacy = legacy if isinstance(legacy, dict) and "method" in legacy else None
    if legacy is not None:
        if recorded is not None and not legacy.get("config_id") and recorded.get("config_id"):
            legacy = {**legacy, "config_id": recorded["config_id"]}
        return legacy, []
    if recorded is not None:
        return recorded, []
    problems = []
    for name in (artifacts.CONFIG, artifacts.PARAMS):
        if (trial_dir / name).exists():
            problems.append(f"{name} unreadable (cut short?)")
    fallback = _unwrap(_ray_config(trial_dir))
    fallback = fallback if isinstance(fallback, dict) and "method" in fallback else None
    return fallback, problems or [f"{artifacts.CONFIG} missing"]


def _config_columns(config: dict) -> dict:
    """The row's configuration columns (method, dataset, setting fields, seed, params, identities)."""
    row: dict = {}
    method, hyper = config.get("method"), config.get("params")
    hyper = hyper if isinstance(hyper, dict) else {}
    setting = config.get("setting")
    if not isinstance(setting, dict):
        setting = {"name": str(setting)} if setting is not None else {}
    row["method"] = None if method is None else str(method)
    row["dataset"] = None if config.get("dataset") is None else str(config["dataset"])
    row["setting_name"] = str(setting.get("name") or "")
    for key in ("normal", "anomalous", "anomalous_train"):
        row[key] = _joined(setting.get(key))
    row["p_contamination"] = _number(setting.get("p_contamination"))
    n_anom = setting.get("n_train_anomalies")
    row["n_train_anomalies"] = None if n_anom is None else _number(n_anom)
    # a setting is identified by all its fields (a sweep over p_contamination keeps the name)
    row["setting_key"] = config.get("setting_key") or (
        artifacts.setting_key(str(row["dataset"]), setting) if setting else None)
    row["setting_json"] = json.dumps(setting, sort_keys=True, default=str) if setting else None
    seed = config.get("seed")
    row["seed"] = int(seed) if isinstance(seed, int | float) and not isinstance(seed, bool) else None
    row["params"] = json.dumps(hyper, sort_keys=True, default=str)
    cid = config.get("config_id")
    if not cid and method is not None:
        cid = artifacts.config_id(str(method), hyper)
    row["config_id"] = cid
    row["trial_key"] = (artifacts.trial_key(cid, row["setting_key"], row["seed"])
                        if cid and row["setting_key"] and row["seed"] is not None else None)
    for name, value in hyper.items():
        row[f"param_{name}"] = value
    return row


def _outcome_columns(trial_dir: Path, outcome: dict | None) -> tuple[dict, str, str | None]:
    """(metric and timing columns, status, error) from trial.json, or from Ray's error.txt without it."""
    if outcome is None:
        return {}, *_without_outcome(trial_dir)
    return _result_columns(outcome), *_outcome_status(trial_dir, outcome)


def _without_outcome(trial_dir: Path) -> tuple[str, str]:
    """(status, error) of a trial with no readable trial.json: Ray's error, else incomplete and why."""
    if (trial_dir / ERROR_FILE).exists():
        return artifacts.STATUS_ERROR, _last_line(trial_dir / ERROR_FILE)
    if (trial_dir / artifacts.TRIAL).exists():
        return INCOMPLETE, f"{artifacts.TRIAL} unreadable (cut short while writing?)"
    return INCOMPLETE, f"no {artifacts.TRIAL} (killed, still running or never started)"


def _json_text(value) -> str | None:
    """A non-empty dict as sorted JSON text (a Parquet-safe column), else None."""
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict) and value else None


def _result_columns(outcome: dict) -> dict:
    """The columns trial.json gives: metrics per split, timings and sizes, flags, fit info, data version."""
    row: dict = {}
    for split in SPLITS:
        values = outcome.get(split) if isinstance(outcome.get(split), dict) else {}
        for metric in METRICS:
            row[f"{split}_{metric}"] = _number(values.get(metric))
    for key in _TRIAL_FIELDS:
        row[key] = outcome.get(key)
    for key, new in _RENAMED.items():
        row[new] = outcome.get(key)
    flags = outcome.get("flags")
    row["flags"] = "; ".join(map(str, flags)) if isinstance(flags, list) and flags else None
    row["fit_info"] = _json_text(outcome.get("fit_info"))
    row["data_version"] = _json_text(outcome.get("data"))  # adray.sweep.trial.data_version; older trials lack it
    paper = outcome.get("paper_metrics")
    row["paper_metrics"] = ",".join(map(str, paper)) if isinstance(paper, list) and paper else None
    return row


def _outcome_status(trial_dir: Path, outcome: dict) -> tuple[str, str | None]:
    """(status, error) trial.json records: ok only when every artifact it lists is intact."""
    status = outcome.get("status")
    if status not in (artifacts.STATUS_OK, artifacts.STATUS_ERROR):
        return INCOMPLETE, f"{artifacts.TRIAL} has an unknown status {status!r}"
    error = outcome.get("error")
    if status == artifacts.STATUS_OK:
        damaged = artifacts.damaged_files(trial_dir, outcome)
        if damaged:
            return INCOMPLETE, "artifacts damaged: " + "; ".join(damaged)
    elif not error:
        error = "error without a message"
    return status, None if error is None else str(error)


def read_trial(trial_dir: Path) -> dict | None:
    """One row for one trial directory (None if it is no trial); never raises on a missing or corrupt file."""
    trial_dir = Path(trial_dir)
    unreadable = _unreadable(trial_dir)
    if unreadable is not None:
        return unreadable
    outcome = artifacts.read_json(trial_dir / artifacts.TRIAL)
    outcome = outcome if isinstance(outcome, dict) else None
    if outcome is None and not _is_trial(trial_dir):
        return None
    config, problems = _configuration(trial_dir, outcome)
    columns, status, error = _outcome_columns(trial_dir, outcome)
    row = {"trial_dir": str(trial_dir), "linked": trial_dir.is_symlink(), "ledger_index": None,
           **_config_columns(config or {}), **columns}
    status, error = _early_stop(trial_dir, status, error)
    row["status"], row["error"] = _with_problems(problems, status, error, row["method"])
    return row


def _unreadable(trial_dir: Path) -> dict | None:
    """The row of a folder that cannot even be looked at (e.g. a symlink loop): a listed problem, not a
    crash; None when it can."""
    try:
        trial_dir.stat()
    except OSError as exc:
        return {"trial_dir": str(trial_dir), "linked": True, "ledger_index": None, **_config_columns({}),
                "status": INCOMPLETE, "error": f"cannot be read: {exc.strerror or exc}"}
    return None


def _early_stop(trial_dir: Path, status: str, error: str | None) -> tuple[str, str | None]:
    """(status, error), overridden by the scheduler's early stop: that decision holds even if the trial
    got to write a result."""
    stopped = artifacts.read_json(trial_dir / STOPPED_FILE)
    if stopped is None:
        return status, error
    return STOPPED, str(stopped.get("reason", "stopped early"))


def _with_problems(problems: list[str], status: str, error: str | None, method) -> tuple[str, str | None]:
    """(status, error) with what was wrong finding the configuration put first; an ok trial whose method
    is unknown is incomplete."""
    if not problems:
        return status, error
    error = "; ".join(problems + ([error] if error else []))
    if status == artifacts.STATUS_OK and method is None:
        status = INCOMPLETE
    return status, error


_FIXED = ["method", "dataset", "setting_name", "setting_key", "group", "normal", "anomalous", "anomalous_train",
          "p_contamination", "n_train_anomalies", "config_id", "params", "seed", "status", "error", "flags",
          "trial_key", "ledger_index"]


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
    for col in ("flags", "trial_key", "fit_info", "paper_metrics", "data_version"):
        if col not in frame:
            frame[col] = None
    frame["ledger_index"] = pd.to_numeric(frame.get("ledger_index"), errors="coerce").astype("Int64")
    frame["linked"] = frame.get("linked", False)
    frame["linked"] = frame["linked"].fillna(False).astype(bool)
    for col in ("host", "device", "started_at", "finished_at", "adray_version", "error", "trial_id", "node_id",
                "flags", "trial_key", "fit_info", "paper_metrics", "data_version"):
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


def _resolve(rows: list[dict], ledger: Ledger | None, sweep_dir: Path) -> list[dict]:
    """Join the folders with the ledger: foreign trials and duplicates are marked (one folder per
    trial is counted) and ledger trials without a folder become "not started" rows."""
    index = {key: i for i, key in enumerate(ledger.keys())} if ledger is not None else {}
    chosen: dict[str, dict] = {}
    for row in rows:
        key = row.get("trial_key")
        if ledger is not None and key is not None:
            row["ledger_index"] = index.get(key)
            if row["ledger_index"] is None:
                row["status"] = FOREIGN
                row["error"] = f"not a trial of this sweep's ledger ({LEDGER_FILE}): copied from another sweep?"
                continue
        if key is None:
            continue
        if key in chosen:
            keep, drop = sorted((chosen[key], row), key=lambda r: _preference(r, ledger))
            chosen[key] = keep
            drop["status"], drop["error"] = DUPLICATE, (f"the same trial as {Path(keep['trial_dir']).name}, "
                                                         "which is counted instead")
        else:
            chosen[key] = row
    if ledger is not None:
        for i, key in enumerate(ledger.keys()):
            if key not in chosen:
                row = {"trial_dir": str(Path(sweep_dir) / ledger.dirname(i)), "linked": False, "ledger_index": i,
                       **_config_columns(ledger.trial(i).to_dict()), "status": NOT_STARTED, "error": None}
                rows.append(row)
    return rows


def _preference(row: dict, ledger: Ledger | None) -> tuple:
    expected = ledger.dirname(row["ledger_index"]) if ledger is not None and row.get("ledger_index") is not None \
        else None
    name = Path(row["trial_dir"]).name
    return _PREFERENCE.get(row["status"], 4), bool(row.get("linked")), name != expected, name


def collect(sweep_dir: Path, save_to: Path | None = None) -> pd.DataFrame:
    """The sweep's runs table; ``save_to`` (a folder) also writes ``runs.parquet`` there.

    Raises :class:`AdrayError` when the folder is missing, holds no trials and no ledger, or its
    ledger is damaged.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.exists():
        raise AdrayError(f"{sweep_dir}: no such folder; pass a sweep folder such as results/<sweep>")
    if not sweep_dir.is_dir():
        raise AdrayError(f"{sweep_dir}: is a file, not a sweep folder; pass a folder such as results/<sweep>")
    ledger = read_ledger(sweep_dir)
    rows = [row for row in map(read_trial, _subdirs(sweep_dir)) if row is not None]
    if not rows and (ledger is None or not len(ledger)):
        raise _not_a_sweep(sweep_dir)
    runs = tidy(_resolve(rows, ledger, sweep_dir))
    if save_to is not None:
        save_to = Path(save_to)
        save_to.mkdir(parents=True, exist_ok=True)
        artifacts.write_frame(save_to / "runs.parquet", runs)
    return runs


def ledger_statuses(sweep_dir: Path, ledger: Ledger) -> dict[int, str]:
    """Each ledger trial's status (ok, error, incomplete, not started), by its index."""
    rows = [row for row in map(read_trial, _subdirs(sweep_dir)) if row is not None] if Path(sweep_dir).is_dir() else []
    rows = _resolve(rows, ledger, sweep_dir)
    return {int(r["ledger_index"]): r["status"] for r in rows
            if r.get("ledger_index") is not None and r["status"] not in (DUPLICATE, FOREIGN)}
