"""A sweep: methods x hyperparameters x datasets x settings x seeds as Ray Tune trials.

Everything the user can get wrong (a method, hyperparameter, value, dataset or resource request) is
checked before any trial is scheduled. Each dataset is loaded once on the driver, put into the
object store once, and handed to every trial with ``tune.with_parameters``. The sweep is one Tuner
under ``<storage>/<name>``; ``resume`` restores it and runs only what had not finished.
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from adray.data.cache import locate
from adray.data.catalog import get_spec
from adray.data.settings import Setting, make_split
from adray.errors import AdrayError, UnknownNameError
from adray.tune import spaces

SETTING_KEYS = {"setting", "p_contamination", "n_train_anomalies", "p_test", "p_val", "split_seed"}
TRAINABLE_NAME = "adray_trial"


@dataclass
class SweepRequest:
    methods: list[str]
    datasets: list[str] | None = None
    seeds: list[int] = field(default_factory=lambda: list(spaces.DEFAULT_SEEDS))
    overrides: dict[str, list] = field(default_factory=dict)
    gpus_per_trial: float = 0.0
    cpus_per_trial: float = 1.0
    address: str | None = None
    storage: str = "results"
    name: str | None = None
    resume: bool = False
    max_failures: int = 2
    smoke: bool = False
    checkpoint_every: int = 5
    autoscale: bool = False
    verbose: int = 1


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
    """``["lr=1e-3,1e-4", "hidden_dims=[64,8],[32,4]"]`` -> {"lr": [0.001, 0.0001], "hidden_dims": [[64, 8], [32, 4]]}."""
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


def _grid_for(method: str, overrides: dict[str, list]) -> list[dict]:
    """Every hyperparameter combination for ``method``: its default grid updated by ``--set``."""
    from adray.detectors import get

    known = _hyperparameters(method)
    bounds = getattr(get(method), "param_bounds", {})
    grid = spaces.default_grid(method)
    for key, values in overrides.items():
        if key in known:
            grid[key] = values
    for key, values in grid.items():
        for value in values:
            check_value(method, key, value, known[key], bounds)
    keys = sorted(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def _check_override_keys(methods: list[str], overrides: dict[str, list]) -> None:
    accepted = {m: set(_hyperparameters(m)) for m in methods}
    for key in overrides:
        if key in SETTING_KEYS or any(key in names for names in accepted.values()):
            continue
        valid = "; ".join(f"{m}: {', '.join(sorted(names)) or '(none)'}" for m, names in accepted.items())
        raise UnknownNameError(
            f"--set {key}: not a hyperparameter of {', '.join(methods)} and not a setting field. "
            f"Hyperparameters: {valid}. Setting fields: {', '.join(sorted(SETTING_KEYS))}."
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


def expand_trials(request: SweepRequest) -> list[dict]:
    """The sweep's trial configurations; raises before anything runs if any part is invalid."""
    from adray.detectors import get

    if not request.methods:
        raise AdrayError("no method given: pass --method NAME (see `adray methods`)")
    for method in request.methods:
        get(method)  # unknown name -> error listing the valid ones
    if not request.seeds:
        raise AdrayError("no seeds given")
    _check_override_keys(request.methods, request.overrides)
    trials = []
    for method in request.methods:
        smoke = dict(getattr(get(method), "smoke_params", {})) if request.smoke else {}
        datasets = request.datasets or [spaces.default_dataset(method)]
        for dataset_arg, params in itertools.product(datasets, _grid_for(method, request.overrides)):
            dataset, preset = spaces.split_dataset_arg(dataset_arg)
            params = {**params, **smoke}
            for setting in _settings_for(dataset, request.overrides, preset):
                for seed in request.seeds:
                    trials.append({
                        "method": method, "dataset": dataset, "setting": setting.to_dict(), "seed": int(seed),
                        "params": params, "checkpoint_every": request.checkpoint_every,
                    })
    unique = {json.dumps(t, sort_keys=True): t for t in trials}  # --smoke can collapse configurations
    trials = list(unique.values())
    for dataset in sorted({t["dataset"] for t in trials}):
        locate(dataset)  # missing raw files -> where to put them and where to get them
    return trials


# ---- running ------------------------------------------------------------------------------------
def sweep_name(request: SweepRequest) -> str:
    if request.name:
        return request.name
    methods = "+".join(request.methods).replace(":", "-")
    return methods + "_" + dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def storage_root(storage: str) -> str:
    return storage if "://" in storage else str(Path(storage).expanduser().resolve())


def latest_sweep(root: str, methods: list[str]) -> str | None:
    if "://" in root or not Path(root).is_dir():
        return None
    prefix = "+".join(methods).replace(":", "-") + "_"
    candidates = [p for p in Path(root).iterdir() if p.is_dir() and p.name.startswith(prefix)]
    return max(candidates, key=lambda p: p.stat().st_mtime).name if candidates else None


def _trial_dirname(trial) -> str:
    from adray.tune.trainable import trial_dirname

    return trial_dirname(trial.config, trial.trial_id)


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
            "--storage folder (default: results/ of the checkout), or a cloud URI such as s3://bucket/adray"
        ) from None


def load_datasets(trials: list[dict]) -> dict:
    """Each dataset of the sweep, loaded once, with every setting checked against its classes."""
    from adray.data.cache import load

    datasets = {}
    for name in sorted({t["dataset"] for t in trials}):
        datasets[name] = load(name)
        for setting in {json.dumps(t["setting"], sort_keys=True) for t in trials if t["dataset"] == name}:
            seed = next(t["seed"] for t in trials if t["dataset"] == name)
            # a split is cheap index arithmetic: drawing one proves the setting is possible (classes exist,
            # enough known anomalies, splits non-empty) before any trial is scheduled
            make_split(datasets[name], Setting.from_dict(json.loads(setting)), seed)
    return datasets


def run_sweep(request: SweepRequest) -> Path | str:
    """Run (or resume) the sweep; returns its folder."""
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "1")  # CPU-only trials must not see GPUs
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # keep Tune's classic progress table
    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
    # num_to_keep forces an experiment-state snapshot whenever old checkpoints are pruned, so a resume never
    # points at a deleted one; that is intended, and cheap (a small JSON file), so Tune's warning is noise
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    import ray
    from ray import tune

    from adray.tune.resources import check_cluster, trial_resources
    from adray.tune.store import put_dataset
    from adray.tune.trainable import adray_trial

    root = storage_root(request.storage)
    name = request.name or (latest_sweep(root, request.methods) if request.resume else None) or sweep_name(request)
    path = f"{root.rstrip('/')}/{name}"
    trials = expand_trials(request)
    resources = trial_resources(request.cpus_per_trial, request.gpus_per_trial)
    local = "://" not in root
    if local:
        check_writable(Path(root))
    if request.resume:
        if not tune.Tuner.can_restore(path):
            raise AdrayError(f"--resume: nothing to resume at {path} (no tuner.pkl); run without --resume to start it")
    elif local and Path(path).exists() and any(Path(path).iterdir()):
        raise AdrayError(f"sweep folder {path} already exists: add --resume to continue it, or pick a new --name")
    datasets = load_datasets(trials)  # before Ray starts: a dataset problem is reported in a second

    if not ray.is_initialized():
        ray.init(address=request.address, include_dashboard=None, log_to_driver=request.verbose > 1)
    cluster = check_cluster(resources["cpu"], resources["gpu"], request.autoscale)
    print(f"adray: {len(trials)} trials -> {path}  [{cluster}; per trial {resources['cpu']:g} CPU, "
          f"{resources['gpu']:g} GPU]", flush=True)
    refs = {name: [put_dataset(dataset)] for name, dataset in datasets.items()}  # one copy per sweep
    sweep_dir = path if local else None
    trainable = tune.with_resources(tune.with_parameters(adray_trial, datasets=refs, sweep_dir=sweep_dir), resources)

    run_config = tune.RunConfig(
        name=name, storage_path=root,
        failure_config=tune.FailureConfig(max_failures=request.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        sync_config=tune.SyncConfig(sync_artifacts=not local),
        progress_reporter=tune.CLIReporter(
            parameter_columns={"trial/method": "method", "trial/dataset": "dataset", "trial/seed": "seed"},
            metric_columns={"epoch": "epoch", "loss": "loss", "val_auc": "val_auc", "test_auc": "test_auc"},
            max_report_frequency=30,
        ),
        verbose=request.verbose,
    )
    start = time.time()
    if request.resume:
        tuner = tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True, resume_errored=True)
    else:
        tuner = tune.Tuner(
            trainable, param_space={"trial": tune.grid_search(trials)},
            tune_config=tune.TuneConfig(reuse_actors=True, trial_dirname_creator=_trial_dirname),
            run_config=run_config,
        )
    grid = tuner.fit()
    print(f"adray: sweep finished in {time.time() - start:.0f} s: {grid.num_terminated} trials finished, "
          f"{grid.num_errors} crashed", flush=True)
    return Path(path) if local else path
