"""Trial checkpoints that load without running code: ``torch.save`` of plain data, read back with
``torch.load(weights_only=True)``.

Why: results folders are copied between machines and shared; a pickle planted in one runs whatever
code it names when it is loaded. A checkpoint here holds only tensors, numbers, strings, bytes,
lists, tuples and dicts (numpy arrays travel as tensors and come back as arrays), and loading it
with ``weights_only=True`` refuses anything else. Detectors whose fitted model is not such data
(scikit-learn and PyOD models) store no model and are refit from their seed on resume.

A checkpoint is a folder holding ``state.pt`` (the payload: the detector's ``get_state()`` and the
epoch history so far) and ``checkpoint.json`` (how many epochs it holds), so the newest one in a
trial folder can be found without loading every payload.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

STATE_FILE = "state.pt"
META_FILE = "checkpoint.json"
_ARRAY = "__ndarray__"


def _encode(value):
    import torch

    if isinstance(value, np.ndarray):
        return {_ARRAY: torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_encode(v) for v in value)
    return value


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            return value[_ARRAY].numpy()
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_decode(v) for v in value)
    return value


def save(folder: Path, payload: dict) -> None:
    """Write ``payload`` (``{"state": ..., "history": [...]}``) into ``folder`` as a checkpoint."""
    import torch

    from adray.artifacts import atomic_write

    folder = Path(folder)
    atomic_write(folder / STATE_FILE, lambda tmp: torch.save(_encode(payload), tmp))
    (folder / META_FILE).write_text(json.dumps({"epochs": len(payload.get("history", []))}))


def load(folder: Path) -> dict:
    """The payload of the checkpoint in ``folder``; raises ``pickle.UnpicklingError`` (from torch) on
    anything that is not plain data, and OSError/RuntimeError on a damaged file."""
    import torch

    return _decode(torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=True))


def newest_in(trial_dir: Path) -> Path | None:
    """The checkpoint folder in ``trial_dir`` holding the most epochs (None when there is none).

    Used when a sweep is resumed from its ledger: the trial's folder is the same, Tune's record of
    the checkpoint is not trusted (or gone).
    """
    best, best_epochs = None, -1
    for meta in Path(trial_dir).glob(f"checkpoint_*/{META_FILE}"):
        try:
            epochs = int(json.loads(meta.read_text())["epochs"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if epochs > best_epochs and (meta.parent / STATE_FILE).is_file():
            best, best_epochs = meta.parent, epochs
    return best


def prune(trial_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` checkpoints holding the most epochs in ``trial_dir``."""
    import shutil

    found = []
    for meta in Path(trial_dir).glob(f"checkpoint_*/{META_FILE}"):
        try:
            found.append((int(json.loads(meta.read_text())["epochs"]), meta.parent))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    for _, folder in sorted(found, reverse=True)[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
