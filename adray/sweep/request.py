"""What a sweep is asked to run, checked and expanded into trial configurations before anything runs.

Everything a user can get wrong (a method, hyperparameter, value, dataset, setting or option) is
refused here with one message, before Ray starts: a sweep that would fail in every trial must not
start at all.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import os
import re
from dataclasses import dataclass, field

from adray.data.cache import locate
from adray.data.catalog import get_spec
from adray.data.settings import Setting
from adray.errors import AdrayError, UnknownNameError
from adray.sweep.trial import TrialConfig
from adray.tune import spaces

SETTING_KEYS = {"setting", "p_contamination", "n_train_anomalies", "p_test", "p_val", "split_seed"}
# where results go unless --storage says otherwise: ./results (the checkout's results/ when run from it)
DEFAULT_STORAGE = os.environ.get("ADRAY_RESULTS", "results")
DEFAULT_PENDING_TIMEOUT_S = 1800.0
# trials per Ray Tune Tuner: one Tuner's driver-side cost per trial grows with its trial count (see the
# scaling benchmark), so a larger sweep runs as successive Tuners of this size, in one folder and one ledger
DEFAULT_TUNER_SIZE = 2000


@dataclass
class SweepRequest:
    """A sweep as the user asked for it; ``to_dict`` is what the ledger records."""

    methods: list[str] = field(default_factory=list)
    datasets: list[str] | None = None
    seeds: list[int] = field(default_factory=lambda: list(spaces.DEFAULT_SEEDS))
    overrides: dict[str, list] = field(default_factory=dict)
    gpus_per_trial: float = 0.0
    cpus_per_trial: float = 1.0
    address: str | None = None
    storage: str = DEFAULT_STORAGE
    name: str | None = None
    resume: bool = False
    max_failures: int = 2
    smoke: bool = False
    checkpoint_every: int = 5
    autoscale: bool = False
    pending_timeout: float = DEFAULT_PENDING_TIMEOUT_S
    tuner_size: int = DEFAULT_TUNER_SIZE
    mlflow: str | None = None  # an MLflow tracking URI or folder: each trial becomes an MLflow run
    verbose: int = 1

    def check_options(self) -> None:
        """Options that make no sense on their own (independent of methods and data)."""
        if isinstance(self.max_failures, bool) or not isinstance(self.max_failures, int) or self.max_failures < 0:
            raise AdrayError(f"--max-failures must be 0 or more (got {self.max_failures}): it is how many times a "
                             "crashed trial is retried from its checkpoint")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 1:
            raise AdrayError(f"--checkpoint-every must be 1 or more epochs (got {self.checkpoint_every})")
        if isinstance(self.tuner_size, bool) or not isinstance(self.tuner_size, int) or self.tuner_size < 1:
            raise AdrayError(f"--tuner-size must be 1 or more trials (got {self.tuner_size})")
        if not self.pending_timeout > 0:
            raise AdrayError(f"--pending-timeout must be > 0 seconds (got {self.pending_timeout})")

    def to_dict(self) -> dict:
        """The request as given, JSON-safe (the ledger's record; resume compares against it)."""
        out = dataclasses.asdict(self)
        out.pop("resume")
        return json.loads(json.dumps(out, default=str))

    @classmethod
    def from_dict(cls, raw: dict) -> SweepRequest:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


# ---- parsing ------------------------------------------------------------------------------------
def parse_value(text: str):
    """``3`` -> 3, ``1e-3`` -> 0.001, ``none`` -> None, ``true`` -> True, ``[64,32]`` -> [64, 32], else str."""
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def parse_set(items: list[str]) -> dict[str, list]:
    """``["lr=1e-3,1e-4", "hidden_dims=[64,8],[32,4]"]`` -> {"lr": [0.001, 0.0001],
    "hidden_dims": [[64, 8], [32, 4]]}."""
    out: dict[str, list] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise AdrayError(f"--set {item!r}: expected key=value1,value2,... (e.g. --set learning_rate=1e-3,1e-4)")
        parts = re.split(r",(?![^\[]*\])", values)  # commas outside brackets separate values
        out[key.strip()] = [parse_value(p) for p in parts]
    return out


# ---- validation ---------------------------------------------------------------------------------
def _hyperparameters(method: str) -> dict[str, inspect.Parameter]:
    from adray.detectors import get

    params = inspect.signature(get(method).__init__).parameters
    return {k: p for k, p in params.items() if k != "self" and p.kind is not p.VAR_KEYWORD}


def check_value(method: str, key: str, value, parameter: inspect.Parameter, bounds: dict) -> None:
    """Reject a value of the wrong kind or outside its range.

    The range comes from the detector's ``param_bounds`` (``{name: (low, high)}``, inclusive, ``None``
    for open); without one, a number whose default is positive (epochs, learning rates, sizes) must
    be positive.
    """
    default, where = parameter.default, f"{method}: {key}={value!r}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise AdrayError(f"{where} must be true or false")
        return
    if not isinstance(default, int | float):
        return  # tuples, strings, None: the detector checks them when it is built
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdrayError(f"{where} must be a number (default {default!r})")
    if isinstance(default, int) and not isinstance(value, int):
        raise AdrayError(f"{where} must be a whole number (default {default})")
    if key in bounds:
        low, high = bounds[key]
        if (low is not None and value < low) or (high is not None and value > high):
            raise AdrayError(f"{where} is out of range [{low}, {high}]")
    elif default > 0 and value <= 0:
        raise AdrayError(f"{where} must be > 0")


def grid_for(method: str, overrides: dict[str, list]) -> list[dict]:
    """Every hyperparameter combination for ``method``: its default grid updated by ``--set``."""
    from adray.detectors import get

    known = _hyperparameters(method)
    bounds = getattr(get(method), "param_bounds", {})
    grid = spaces.default_grid(method)
    for key, values in overrides.items():  # "key" applies to every method that has it ...
        if key in known:
            grid[key] = values
    for key, values in overrides.items():  # ... and "method.key" to that method only (it wins)
        owner, _, name = key.rpartition(".")
        if owner == method:
            grid[name] = values
    for key, values in grid.items():
        for value in values:
            check_value(method, key, value, known[key], bounds)
    keys = sorted(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def _check_override_keys(methods: list[str], overrides: dict[str, list]) -> None:
    accepted = {m: set(_hyperparameters(m)) for m in methods}
    for key in overrides:
        owner, _, name = key.rpartition(".")
        if owner and owner in accepted and name in accepted[owner]:
            continue  # --set ae.batch_size=64: one method's value
        if key in SETTING_KEYS or any(key in names for names in accepted.values()):
            continue
        valid = "; ".join(f"{m}: {', '.join(sorted(names)) or '(none)'}" for m, names in accepted.items())
        raise UnknownNameError(
            f"--set {key}: not a hyperparameter of {', '.join(methods)} and not a setting field. "
            f"Hyperparameters: {valid}. Setting fields: {', '.join(sorted(SETTING_KEYS))}. A value for one "
            "method only is written METHOD.KEY (e.g. --set ae.batch_size=64)."
        )


def _settings_for(dataset: str, overrides: dict[str, list], preset: str | None = None) -> list[Setting]:
    spec = get_spec(dataset)
    names = overrides.get("setting") or [preset or spec.default_setting]
    fields = {k: v for k, v in overrides.items() if k in SETTING_KEYS - {"setting"}}
    out = []
    for name in names:
        base = spec.setting(str(name))
        for combo in itertools.product(*fields.values()):
            setting = base.with_(**dict(zip(fields, combo, strict=True)))
            setting.check()
            out.append(setting)
    return out


def expand_trials(request: SweepRequest) -> list[TrialConfig]:
    """The sweep's trials, in a stable order; raises before anything runs if any part is invalid."""
    from adray.detectors import get

    request.check_options()
    if not request.methods:
        raise AdrayError("no method given: pass --method NAME (see `adray methods`)")
    for method in request.methods:
        get(method)  # unknown name -> error listing the valid ones
    if not request.seeds:
        raise AdrayError("no seeds given")
    _check_override_keys(request.methods, request.overrides)
    trials: dict[str, TrialConfig] = {}
    for method in request.methods:
        smoke = dict(getattr(get(method), "smoke_params", {})) if request.smoke else {}
        datasets = request.datasets or [spaces.default_dataset(method)]
        for dataset_arg, params in itertools.product(datasets, grid_for(method, request.overrides)):
            dataset, preset = spaces.split_dataset_arg(dataset_arg)
            params = {**params, **smoke}
            for setting in _settings_for(dataset, request.overrides, preset):
                for seed in request.seeds:
                    trial = TrialConfig(method=method, dataset=dataset, setting=setting, seed=int(seed),
                                        params=params, checkpoint_every=request.checkpoint_every)
                    trials.setdefault(trial.trial_key, trial)  # --smoke can collapse configurations
    for dataset in sorted({t.dataset for t in trials.values()}):
        locate(dataset)  # missing raw files -> where to put them and where to get them
    return list(trials.values())
