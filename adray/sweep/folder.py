"""A sweep's folder: its name, one writer at a time, and enough free space.

Why a lock: two runs writing one sweep folder (the same ``--name`` twice, or two ``--resume``)
both "succeed" and leave two results per trial, so a report counts n = 10 for 5 seeds, with a
smaller std and inflated tests. The lock is an OS file lock (``filelock``): the kernel releases it
when its process dies, so a lock left by a killed run is never stale; the owner file next to it
names who holds it, for the refusal message.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import sys
from pathlib import Path

from filelock import FileLock, Timeout

from adray.errors import AdrayError
from adray.sweep.ledger import read_ledger

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,128}")
LOCK_FILE = ".sweep.lock"
OWNER_FILE = ".sweep.owner.json"
# what one trial writes, at most, besides its checkpoints: artifacts, Tune's logs and TensorBoard events
BYTES_PER_TRIAL = 2 * 1024 * 1024


def check_name(name: str) -> str:
    """A sweep name is one folder name of letters, digits, ``.``, ``_`` and ``-`` (no paths, no spaces)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or set(name) == {"."}:
        raise AdrayError(
            f"sweep name {name!r} is not allowed: use 1-128 letters, digits, '.', '_' or '-' (e.g. "
            "--name kdd-ae_v2); a name is one folder under --storage, so it cannot hold '/', spaces or be '..'"
        )
    return name


def is_uri(storage: str) -> bool:
    return "://" in str(storage)


def storage_root(storage: str) -> str:
    return storage if is_uri(storage) else str(Path(storage).expanduser().resolve())


def check_writable(root: Path) -> None:
    """Fail before anything runs if results cannot be written under ``root``."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".adray-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise AdrayError(
            f"cannot write results to the storage folder {root} ({exc.strerror or exc}): pass a writable "
            "--storage folder (default: ./results), or a cloud URI such as s3://bucket/adray"
        ) from None


def check_free_space(root: Path, n_trials: int, bytes_per_trial: int = BYTES_PER_TRIAL) -> None:
    """Refuse a sweep whose trials cannot fit on the storage's disk (an estimate per trial)."""
    free = shutil.disk_usage(root).free
    need = n_trials * bytes_per_trial
    if free < need:
        raise AdrayError(
            f"storage full at {root}: {free / 2**20:.1f} MiB free, and {n_trials} trial(s) need about "
            f"{need / 2**20:.1f} MiB ({bytes_per_trial / 2**20:.0f} MiB each for artifacts and logs). Free "
            "space or pass another --storage"
        )


class SweepLock:
    """Exclusive use of a sweep folder for one run (a context manager)."""

    def __init__(self, sweep_dir: Path):
        self.sweep_dir = Path(sweep_dir)
        self._lock = FileLock(str(self.sweep_dir / LOCK_FILE), timeout=0)

    def __enter__(self) -> SweepLock:
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        owner_path = self.sweep_dir / OWNER_FILE
        try:
            self._lock.acquire()
        except Timeout:
            raise AdrayError(
                f"sweep folder {self.sweep_dir} is in use by another run ({_describe(owner_path)}). Two runs "
                "writing one sweep would count its trials twice: wait for that run to end, stop it, or pick "
                "another --name"
            ) from None
        owner = {"host": socket.gethostname(), "pid": os.getpid(),
                 "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                 "command": " ".join(sys.argv)}
        owner_path.write_text(json.dumps(owner))
        return self

    def __exit__(self, *exc) -> None:
        try:
            (self.sweep_dir / OWNER_FILE).unlink(missing_ok=True)
        finally:
            self._lock.release()


def _describe(owner_path: Path) -> str:
    try:
        owner = json.loads(owner_path.read_text())
        return (f"pid {owner['pid']} on host {owner['host']}, started {owner['started_at']}: "
                f"{owner.get('command', '')}")
    except (OSError, ValueError, KeyError, TypeError):
        return "owner unknown"


def newest_unfinished(root: str) -> str | None:
    """The name of the newest sweep (by its ledger's start time) whose last run did not complete."""
    if is_uri(root) or not Path(root).is_dir():
        return None
    found = []
    for folder in Path(root).iterdir():
        try:
            ledger = read_ledger(folder) if folder.is_dir() else None
        except AdrayError:
            continue
        if ledger is not None and ledger.outcome != "complete":
            found.append((ledger.created_at, folder.name))
    return max(found)[1] if found else None
