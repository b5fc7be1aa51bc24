"""The files a trial leaves in its directory: the contract between the trainable and the analysis.

A sweep folder ``results/<sweep>/`` holds one directory per trial (Ray Tune names them). Besides
Tune's own files (``result.json``, ``progress.csv``, TensorBoard events, ``checkpoint_*``,
``error.txt`` when a trial crashed), adray writes:

``config.json``    the trial's configuration, written when the trial starts (:class:`adray.sweep.trial.
                   TrialConfig` as a dict, with its ``config_id``, ``setting_key``, ``trial_key`` and
                   its ``index`` in the sweep's ledger); older sweeps have Tune's ``params.json``
                   (``{"trial": {...}}``) instead
``history.csv``    one row per epoch report: ``stage``, ``epoch`` and every numeric metric reported
                   (``loss``, ``val_auc``, ...)
``metric.csv``     one row per evaluated split (``val``, ``test``): ``auc``, ``ap`` and the threshold
                   metrics of :mod:`adray.metrics`
``roc.csv``        ``split, fpr, tpr, threshold``: the ROC curve of each split
``scores.parquet`` ``split, row, label, class, score``: every evaluated row's score (row = index
                   into the dataset), so curves and metrics can be recomputed later
``trial.json``     the outcome, written LAST: ``status`` ("ok" or "error"), ``error``, ``val`` and
                   ``test`` metric dicts, timings (``start_time``/``end_time`` in epoch seconds),
                   host, device, split sizes, ``config`` (as in config.json), ``files`` (the size
                   in bytes of every artifact above, so a file cut short is detected) and ``flags``
                   (degenerate results: tied scores, a split with one class)

Every file is written to a temporary name and renamed, and ``trial.json`` comes last, so a trial
whose ``trial.json`` says "ok" has complete artifacts, and a trial killed while writing leaves no
``trial.json`` that could be mistaken for a result. Only pandas/pyarrow/json here: the analysis
reads these files without Ray or torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
from pathlib import Path

import pandas as pd

CONFIG = "config.json"
PARAMS = "params.json"  # Tune's copy of its (tiny) trial config; the configuration of pre-ledger sweeps
TRIAL = "trial.json"
METRICS = "metric.csv"
ROC = "roc.csv"
SCORES = "scores.parquet"
HISTORY = "history.csv"

STATUS_OK = "ok"
STATUS_ERROR = "error"


def config_id(method: str, params: dict) -> str:
    """Identifies a configuration across seeds: a hash of the method and its hyperparameters (no seed)."""
    payload = json.dumps({"method": method, "params": params}, sort_keys=True, default=str)
    return hashlib.sha1(payload.encode()).hexdigest()[:10]


def setting_key(dataset: str, setting: dict) -> str:
    """Identifies an experimental setting of a dataset: a hash of the dataset and every setting field."""
    return config_id(dataset, setting)


def trial_key(config: str, setting: str, seed: int) -> str:
    """Identifies one trial of a sweep: configuration, setting and seed (never counted twice)."""
    return f"{config}-{setting}-{int(seed)}"


def _clean(value):
    """JSON-safe values: NaN/Inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def atomic_write(path: Path, write) -> None:
    """Write through ``write(tmp)`` to a temporary file in the same folder, then rename it into place: a
    reader sees the old file or the new one, never half of one. The one atomic write of adray.

    The temporary file is created with mode 0666 less the umask, as ``open`` would (not
    ``tempfile.mkstemp``'s 0600), so results and reports stay readable by the group that shares them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: Path, text: str) -> None:
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: dict) -> None:
    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(_clean(obj), fh, indent=2, sort_keys=True)

    atomic_write(Path(path), write)


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    path = Path(path)
    if path.suffix == ".parquet":
        atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
    else:
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


FAILPOINT_ENV = "ADRAY_FAILPOINT"


def failpoint(name: str) -> None:
    """Fault injection for the fault suite: with ``ADRAY_FAILPOINT="<name>:<marker file>"`` the process
    kills itself here, once (the marker records that it happened). A no-op otherwise."""
    spec = os.environ.get(FAILPOINT_ENV, "")
    point, _, marker = spec.partition(":")
    if point != name or not marker or os.path.exists(marker):
        return
    open(marker, "w").close()
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def write_trial(
    directory: Path,
    outcome: dict,
    metrics: pd.DataFrame | None = None,
    roc: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> None:
    """Write a trial's result files, ``trial.json`` last, recording each file's size in it."""
    directory = Path(directory)
    files = {}
    for name, frame in ((METRICS, metrics), (ROC, roc), (SCORES, scores), (HISTORY, history)):
        if frame is not None:
            write_frame(directory / name, frame)
            files[name] = (directory / name).stat().st_size
            failpoint(f"after-{name}")
    write_json(directory / TRIAL, {**outcome, "files": files})


def damaged_files(directory: Path, outcome: dict) -> list[str]:
    """The artifacts ``trial.json`` lists whose size on disk differs (cut short, replaced or removed)."""
    problems = []
    for name, size in (outcome.get("files") or {}).items():
        try:
            actual = (Path(directory) / name).stat().st_size
        except OSError:
            problems.append(f"{name} missing")
            continue
        if actual != size:
            problems.append(f"{name} has {actual} bytes, {size} were written")
    return problems


def read_json(path: Path) -> dict | None:
    """A JSON artifact, or None when it is missing or was cut short."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):  # missing, unreadable, cut short (JSONDecodeError is a ValueError)
        return None
