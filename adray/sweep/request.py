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
from dataclasses import dataclass, field

from adray.data.cache import locate
from adray.data.catalog import get_spec
from adray.data.settings import Setting
from adray.errors import AdrayError, UnknownNameError
from adray.sweep.space import Distribution, check_distribution, is_distribution
from adray.sweep.trial import TrialConfig

SETTING_KEYS = {"setting", "p_contamination", "n_train_anomalies", "p_test", "p_val", "split_seed"}
SEARCHES = ("grid", "random", "optuna")
SCHEDULERS = ("fifo", "asha")
# where results go unless --storage says otherwise: ./results (the checkout's results/ when run from it)
DEFAULT_STORAGE = os.environ.get("ADRAY_RESULTS", "results")
DEFAULT_PENDING_TIMEOUT_S = 1800.0
# trials per Ray Tune Tuner: one Tuner's driver-side cost per trial grows with its trial count (see the
# scaling benchmark), so a larger sweep runs as successive Tuners of this size, in one folder and one ledger
DEFAULT_TUNER_SIZE = 2000
# the trial seeds unless --seeds says otherwise: the five seeds ARGUE and R2-AD2 published with
DEFAULT_SEEDS: list[int] = [110, 210, 310, 410, 510]


@dataclass
class SweepRequest:
    """A sweep as the user asked for it; ``to_dict`` is what the ledger records."""

    methods: list[str] = field(default_factory=list)
    datasets: list[str] | None = None
    seeds: list[int] = field(default_factory=lambda: list(DEFAULT_SEEDS))
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
    search: str = "grid"  # grid | random | optuna (TPE)
    samples: int = 10  # sampled configurations per cell with random / optuna search
    search_seed: int = 0
    scheduler: str = "fifo"  # fifo | asha (seed-aware successive halving)
    config_file: str | None = None  # the sweep file it came from (copied into the sweep folder)
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
        if self.search not in SEARCHES:
            raise AdrayError(f"--search {self.search!r}: use one of {', '.join(SEARCHES)}")
        if self.scheduler not in SCHEDULERS:
            raise AdrayError(f"--scheduler {self.scheduler!r}: use one of {', '.join(SCHEDULERS)}")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 1:
            raise AdrayError(f"--samples must be 1 or more (got {self.samples})")
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
def split_dataset_arg(text: str) -> tuple[str, str | None]:
    """``"nsl_kdd:r2ad2"`` -> ("nsl_kdd", "r2ad2"); ``"digits"`` -> ("digits", None); ``"odds:x"`` stays whole."""
    from adray.data.catalog import CSV_PREFIX, ODDS_PREFIX

    for prefix in (ODDS_PREFIX, CSV_PREFIX):
        if text.startswith(prefix):
            name, _, setting = text[len(prefix):].partition(":")
            return prefix + name, setting or None
    name, _, setting = text.partition(":")
    return name, setting or None


def default_dataset(method: str) -> str:
    """What ``--method NAME`` runs on without --dataset: the detector's declared ``default_dataset``."""
    from adray.detectors import get

    return get(method).default_dataset


def default_grid(method: str) -> dict[str, list]:
    """A copy of the detector's declared ``default_grid`` (``{}``: one configuration, its defaults)."""
    from adray.detectors import get

    return {key: list(values) for key, values in get(method).default_grid.items()}


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


def split_values(text: str) -> list[str]:
    """Split at commas outside brackets and parentheses: ``[64,8],[32,4]`` -> two values."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def parse_set(items: list[str]) -> dict:
    """``["lr=1e-3,1e-4", "hidden_dims=[64,8],[32,4]", "dropout=uniform(0,0.5)"]`` ->
    {"lr": [0.001, 0.0001], "hidden_dims": [[64, 8], [32, 4]], "dropout": {"distribution": "uniform",
    "args": [0, 0.5]}}: a value list is a grid axis, a distribution is sampled by the searcher."""
    from adray.sweep.space import parse_distribution

    out: dict = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise AdrayError(f"--set {item!r}: expected key=value1,value2,... (e.g. --set learning_rate=1e-3,1e-4) "
                             "or key=distribution (e.g. --set learning_rate=loguniform(1e-5,1e-2))")
        dist = parse_distribution(values)
        out[key.strip()] = dist.to_dict() if dist is not None else [parse_value(p) for p in split_values(values)]
    return out


# ---- validation ---------------------------------------------------------------------------------
def _hyperparameters(method: str) -> dict[str, inspect.Parameter]:
    from adray.detectors import get

    params = inspect.signature(get(method).__init__).parameters
    return {k: p for k, p in params.items() if k != "self" and p.kind is not p.VAR_KEYWORD}


def method_overrides(method: str, overrides: dict) -> dict:
    """The ``--set`` values that apply to ``method``: plain keys it has, then ``method.key`` (which win)."""
    known = _hyperparameters(method)
    out = {key: values for key, values in overrides.items() if key in known}
    for key, values in overrides.items():
        owner, _, name = key.rpartition(".")
        if owner == method:
            out[name] = values
    return out


def space_for(method: str, overrides: dict) -> dict:
    """The hyperparameters of ``method`` given as distributions (the searcher samples them)."""
    return {k: Distribution.from_dict(v) for k, v in method_overrides(method, overrides).items()
            if is_distribution(v)}


def grid_for(method: str, overrides: dict) -> list[dict]:
    """Every hyperparameter combination for ``method``: its default grid updated by ``--set`` (value
    lists only: distributions are checked here and sampled by the searcher)."""
    from adray.detectors import get
    from adray.detectors.components.constraints import check_param, constraints_of, integers_only

    cls = get(method)
    table = constraints_of(cls)
    grid = default_grid(method)
    for key, values in method_overrides(method, overrides).items():
        grid[key] = values
    space = {k: v for k, v in grid.items() if is_distribution(v)}
    grid = {k: v for k, v in grid.items() if k not in space}
    for key, raw in space.items():  # the detector's own table bounds what a distribution may sample
        check_distribution(method, key, Distribution.from_dict(raw), integers_only(table.get(key, ())),
                           lambda value, key=key: check_param(cls, key, value))
    for key, values in grid.items():
        for value in values:
            check_param(cls, key, value)
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
    for key in SETTING_KEYS & set(overrides):
        if is_distribution(overrides[key]):
            raise AdrayError(f"--set {key}: a setting field takes a list of values, not a distribution")
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


@dataclass(frozen=True)
class SearchCell:
    """What a searcher samples for: one method on one dataset and setting with its fixed (grid) values,
    the distributions of its sampled hyperparameters, and the seeds every sample runs on."""

    method: str
    dataset: str
    setting: Setting
    params: dict
    space: dict  # name -> Distribution
    seeds: tuple

    def trials(self, sampled: dict, checkpoint_every: int = 5) -> list[TrialConfig]:
        """One trial per seed for a sampled configuration."""
        return [TrialConfig(self.method, self.dataset, self.setting, int(seed), {**self.params, **sampled},
                            checkpoint_every) for seed in self.seeds]

    @property
    def label(self) -> str:
        fixed = " ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.method} {self.dataset}:{self.setting.name} {fixed}".strip()


def _check_request(request: SweepRequest) -> None:
    from adray.detectors import get

    request.check_options()
    if not request.methods:
        raise AdrayError("no method given: pass --method NAME (see `adray methods`)")
    for method in request.methods:
        get(method)  # unknown name -> error listing the valid ones
    if not request.seeds:
        raise AdrayError("no seeds given")
    _check_override_keys(request.methods, request.overrides)
    sampled = sorted(k for k, v in request.overrides.items() if is_distribution(v))
    if sampled and request.search == "grid":
        raise AdrayError(f"--set {', '.join(sampled)}: a distribution is sampled by a searcher; add --search random "
                         "or --search optuna (and --samples N), or give a list of values for a grid")
    if request.search != "grid" and not sampled:
        raise AdrayError(f"--search {request.search} samples distributions, but no --set gives one (e.g. --set "
                         "learning_rate=loguniform(1e-5,1e-2)); without distributions use the grid")


def _configurations(request: SweepRequest):
    """(method, dataset, setting, fixed params) of every grid point, in a stable order."""
    from adray.detectors import get

    for method in request.methods:
        smoke = dict(getattr(get(method), "smoke_params", {})) if request.smoke else {}
        datasets = request.datasets or [default_dataset(method)]
        for dataset_arg, params in itertools.product(datasets, grid_for(method, request.overrides)):
            dataset, preset = split_dataset_arg(dataset_arg)
            for setting in _settings_for(dataset, request.overrides, preset):
                check_supervision(method, dataset, setting)
                yield method, dataset, setting, {**params, **smoke}


def has_known_anomalies(setting: Setting) -> bool:
    """Whether the setting labels any training row as a known anomaly (y = 1)."""
    if not setting.train_anomalies:
        return False
    if setting.p_labelled is not None:
        return setting.p_labelled > 0
    return setting.n_train_anomalies is None or setting.n_train_anomalies > 0


def check_supervision(method: str, dataset: str, setting: Setting) -> None:
    """Refuse a method that cannot train without known anomalies on a setting that has none, naming one
    that works: otherwise every one of its trials would fail."""
    from adray.detectors import get

    if not get(method).requires_known_anomalies or has_known_anomalies(setting):
        return
    working = [name for name, s in get_spec(dataset).settings.items() if has_known_anomalies(s)]
    if working:
        fix = f"use a setting that has some, e.g. --dataset {dataset}:{working[0]}"
    else:
        fix = f"no setting of {dataset} has any: run it on {default_dataset(method)} (its default)"
    if setting.p_labelled is None and setting.train_anomalies:
        fix += ", or add --set n_train_anomalies=20"
    raise AdrayError(f"{method} cannot train without known anomalies (training rows labelled 1), and "
                     f"{dataset}:{setting.name} has none; {fix}")


def expand_trials(request: SweepRequest, require_files: bool = True) -> list[TrialConfig]:
    """The sweep's trials, in a stable order; raises before anything runs if any part is invalid. A
    searched sweep has none up front: its searcher adds them (see :func:`search_cells`).
    ``require_files=False`` skips the check that the datasets' files are present (a preview of a sweep
    whose data is still to be downloaded)."""
    _check_request(request)
    trials: dict[str, TrialConfig] = {}
    datasets = set()
    for method, dataset, setting, params in _configurations(request):
        datasets.add(dataset)
        if request.search != "grid":
            continue
        for seed in request.seeds:
            trial = TrialConfig(method=method, dataset=dataset, setting=setting, seed=int(seed),
                                params=params, checkpoint_every=request.checkpoint_every)
            trials.setdefault(trial.trial_key, trial)  # --smoke can collapse configurations
    if require_files:
        for dataset in sorted(datasets):
            locate(dataset)  # missing raw files -> where to put them and where to get them
    return list(trials.values())


def search_cells(request: SweepRequest) -> list[SearchCell]:
    """The cells a searched sweep samples for: every grid point, with its method's distributions."""
    _check_request(request)
    cells, seen = [], set()
    for method, dataset, setting, params in _configurations(request):
        space = space_for(method, request.overrides)
        for name in set(space) & set(params):  # --smoke fixes a sampled value: it is not sampled then
            space.pop(name)
        key = json.dumps([method, dataset, setting.to_dict(), params], sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            cells.append(SearchCell(method, dataset, setting, params, space, tuple(int(s) for s in request.seeds)))
    return cells
