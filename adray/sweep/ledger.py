"""The sweep's ledger, ``<sweep>/sweep.json``: what the sweep was asked to run.

Why: trial folders only say what ran. After an interruption, a report built from them alone shows 4
of 12 trials as if they were the whole sweep, and a resume cannot tell a seed it never started from
one it was never asked for. The ledger is written (atomically) before the first trial starts and
holds the request as given, the adray version, and every trial: its configuration and seed. The
report lists each ledger trial as ok / error / incomplete / not started; ``--resume`` runs what is
not finished from the ledger and the trial folders, without trusting Ray's own (pickled) state.

Layout (JSON, ``format`` 1)::

    {"format": 1, "name", "adray_version", "created_at", "request": {...},
     "configs": [{"method", "dataset", "setting": {...}, "params": {...},
                  "config_id", "setting_key"}, ...],
     "trials": [[config index, seed], ...],
     "runs": [{"started_at", "host", "pid", "resumed", "ended_at", "outcome", "counts"}, ...]}

A trial's index in ``trials`` never changes: a resume that adds seeds or grid values appends.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from adray import __version__
from adray.artifacts import write_text
from adray.data.settings import Setting
from adray.errors import AdrayError
from adray.sweep.trial import TrialConfig

LEDGER_FILE = "sweep.json"
FORMAT = 1
# request fields a resume may not change: they define which results belong together
FIXED_ON_RESUME = ("methods", "datasets", "smoke", "search", "search_seed", "scheduler")


def trial_dirname(trial: TrialConfig, index: int) -> str:
    """A trial's folder name: readable, unique in the sweep, the same on every resume."""
    setting = trial.setting.name or "setting"
    name = f"{trial.method}_{trial.dataset}_{setting}_{trial.config_id[:6]}_seed{trial.seed}_t{index:05d}"
    return name.replace(":", "-").replace("/", "-")  # pyod:ECOD, odds:x -> safe on every filesystem


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Ledger:
    name: str
    request: dict
    configs: list[dict] = field(default_factory=list)
    trials: list[list[int]] = field(default_factory=list)  # [config index, seed]
    adray_version: str = __version__
    created_at: str = field(default_factory=_now)
    runs: list[dict] = field(default_factory=list)

    # ---- building ----------------------------------------------------------------------------------
    @classmethod
    def new(cls, name: str, request: dict, trials: list[TrialConfig]) -> Ledger:
        ledger = cls(name=name, request=request)
        ledger.add(trials)
        return ledger

    def add(self, trials: list[TrialConfig]) -> list[int]:
        """Append the trials not in the ledger yet; returns their indices."""
        known = set(self.keys())
        config_index = {(c["config_id"], c["setting_key"]): i for i, c in enumerate(self.configs)}
        added = []
        for trial in trials:
            if trial.trial_key in known:
                continue
            key = (trial.config_id, trial.setting_key)
            if key not in config_index:
                config_index[key] = len(self.configs)
                self.configs.append({"method": trial.method, "dataset": trial.dataset,
                                     "setting": trial.setting.to_dict(), "params": trial.params,
                                     "config_id": trial.config_id, "setting_key": trial.setting_key})
            added.append(len(self.trials))
            self.trials.append([config_index[key], int(trial.seed)])
            known.add(trial.trial_key)
        return added

    # ---- reading -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.trials)

    def trial(self, index: int, checkpoint_every: int = 5) -> TrialConfig:
        config_index, seed = self.trials[index]
        c = self.configs[config_index]
        return TrialConfig(method=c["method"], dataset=c["dataset"], setting=Setting.from_dict(c["setting"]),
                           seed=int(seed), params=dict(c["params"]), checkpoint_every=checkpoint_every)

    def key(self, index: int) -> str:
        from adray.artifacts import trial_key

        config_index, seed = self.trials[index]
        c = self.configs[config_index]
        return trial_key(c["config_id"], c["setting_key"], seed)

    def keys(self) -> list[str]:
        return [self.key(i) for i in range(len(self.trials))]

    def dirname(self, index: int) -> str:
        return trial_dirname(self.trial(index), index)

    @property
    def outcome(self) -> str | None:
        """How the last run ended ("complete", "interrupted", ...); None while running or after a kill."""
        return self.runs[-1].get("outcome") if self.runs else None

    # ---- the record of runs ------------------------------------------------------------------------
    def start_run(self, resumed: bool) -> None:
        self.runs.append({"started_at": _now(), "host": socket.gethostname(), "pid": os.getpid(),
                          "resumed": resumed, "adray_version": __version__})

    def end_run(self, outcome: str, counts: dict) -> None:
        self.runs[-1].update(ended_at=_now(), outcome=outcome, counts=counts)

    # ---- resume ------------------------------------------------------------------------------------
    def refused_changes(self, request: dict) -> list[str]:
        """Why ``request`` cannot continue this sweep (one line per difference; empty when it can).

        A resume may add seeds and values of an existing ``--set`` axis (they become new trials). It
        may not change the methods, datasets or ``--smoke``, add or drop an axis, or drop a value:
        those would mix results of different experiments in one table, or silently leave trials out.
        """
        lines = []
        for key in FIXED_ON_RESUME:
            old, new = self.request.get(key), request.get(key)
            if old != new:
                lines.append(f"{key}: the sweep has {old!r}, this command {new!r}")
        dropped = sorted(set(self.request.get("seeds") or []) - set(request.get("seeds") or []))
        if dropped:
            lines.append(f"seeds: this command leaves out {dropped} (a resume may only add seeds)")
        old_over, new_over = self.request.get("overrides") or {}, request.get("overrides") or {}
        for key in sorted(set(old_over) | set(new_over)):
            if key not in new_over:
                lines.append(f"--set {key}: the sweep has {old_over[key]!r}, this command leaves it out")
            elif key not in old_over:
                lines.append(f"--set {key}={new_over[key]!r}: a new axis (the sweep has none); start a new sweep")
            elif isinstance(old_over[key], dict) or isinstance(new_over[key], dict):  # a distribution
                if old_over[key] != new_over[key]:
                    lines.append(f"--set {key}: the sweep samples {old_over[key]!r}, this command {new_over[key]!r}")
            else:
                gone = [v for v in old_over[key] if v not in new_over[key]]
                if gone:
                    lines.append(f"--set {key}: this command leaves out {gone} (a resume may only add values)")
        return lines

    # ---- file --------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "name": self.name, "adray_version": self.adray_version,
                "created_at": self.created_at, "request": self.request, "configs": self.configs,
                "trials": self.trials, "runs": self.runs}

    @classmethod
    def from_dict(cls, raw: dict) -> Ledger:
        return cls(name=raw["name"], request=raw["request"], configs=raw["configs"], trials=raw["trials"],
                   adray_version=raw.get("adray_version", "?"), created_at=raw.get("created_at", ""),
                   runs=raw.get("runs", []))


def write_ledger(sweep_dir: Path, ledger: Ledger) -> Path:
    """Write ``sweep.json`` atomically (a reader sees the old or the new file, never half of one)."""
    path = Path(sweep_dir) / LEDGER_FILE
    write_text(path, json.dumps(ledger.to_dict(), separators=(",", ":")))
    return path


def read_ledger(sweep_dir: Path) -> Ledger | None:
    """The sweep's ledger, None when the folder has none (a sweep from before ledgers, or no sweep)."""
    path = Path(sweep_dir) / LEDGER_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"unknown format {raw.get('format')!r}")
        return Ledger.from_dict(raw)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AdrayError(f"{path} is damaged ({exc}); it is the sweep's record of its trials and cannot be "
                         "rebuilt from the trial folders: restore it from a copy of the sweep folder") from None
