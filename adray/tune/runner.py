"""Run (or resume) a sweep as Ray Tune trials: the only place a sweep touches Ray.

Before Ray starts, the request is checked and expanded, the sweep folder is locked for this run,
free space is checked and the ledger (``sweep.json``) is written. Each dataset is loaded once on the
driver, put into the object store once and handed to every trial with ``tune.with_parameters``,
as is the ledger. Tune's configuration of a trial is its ledger index only.

Resume never reads Ray's pickled state (``tuner.pkl``): it runs a new Tuner over the ledger trials
whose folders hold no ok result, and each continues from the newest checkpoint in its folder.

How a run ends, and what it says (:class:`SweepResult`):

- ``complete``: every ledger trial has an outcome (ok or error); exit 0;
- ``interrupted``: SIGINT or SIGTERM (Ctrl-C, ``timeout``, Slurm) stops the trials, counts what
  finished, errored and did not run, and says how to continue; exit 130 / 143. A second signal
  stops at once;
- ``storage full``: a trial (or Tune) could not write; the finished results are safe; exit 1;
- ``stalled``: trials stayed pending ``--pending-timeout`` seconds with none running (no node can
  take them, e.g. ``--autoscale`` and no node ever came); exit 1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from adray.artifacts import write_text
from adray.errors import AdrayError
from adray.sweep.folder import (
    SweepLock,
    check_free_space,
    check_name,
    check_writable,
    is_uri,
    newest_unfinished,
    storage_root,
)
from adray.sweep.ledger import LEDGER_FILE, Ledger, read_ledger, write_ledger
from adray.sweep.request import SearchCell, SweepRequest, expand_trials, search_cells

log = logging.getLogger("adray.sweep")
SWEEP_FILE = "sweep.yaml"  # the --config file, as it was when the sweep (or its resume) started

COMPLETE, INTERRUPTED, STORAGE_FULL, STALLED = "complete", "interrupted", "storage full", "stalled"
STATUSES = ("ok", "error", "incomplete", "not started", "stopped")
FINAL = ("ok", "stopped")  # a resume never runs these again (an error is retried)
# what a resume may change: how the trials run, not which trials there are
RUNTIME_FIELDS = ("gpus_per_trial", "cpus_per_trial", "address", "storage", "name", "max_failures",
                  "checkpoint_every", "autoscale", "pending_timeout", "tuner_size", "mlflow", "config_file",
                  "verbose")


@dataclass
class SweepResult:
    """How a sweep run ended: its folder, outcome and the status of every ledger trial."""

    folder: Path | str
    name: str
    outcome: str
    counts: dict[str, int] = field(default_factory=dict)
    signal: int | None = None
    seconds: float = 0.0
    detail: str = ""

    @property
    def local(self) -> bool:
        return isinstance(self.folder, Path)

    @property
    def exit_code(self) -> int:
        if self.outcome == INTERRUPTED:
            return 128 + (self.signal or signal.SIGINT)
        return 0 if self.outcome == COMPLETE else 1

    def summary(self) -> str:
        counts = ", ".join(f"{self.counts.get(s, 0)} {s}" for s in STATUSES)
        total = sum(self.counts.values())
        line = f"sweep {self.name}: {self.outcome} after {self.seconds:.0f} s; {total} trials: {counts}"
        if self.outcome == COMPLETE:
            return line
        resume = f"the same command plus --resume (or: adray sweep --name {self.name} --resume)"
        if self.outcome == INTERRUPTED:
            reason = f"stopped by {signal.Signals(self.signal or signal.SIGINT).name}; continue with {resume}"
        elif self.outcome == STORAGE_FULL:
            reason = (f"storage full at {self.folder}: {self.counts.get('ok', 0)} finished results are safe; free "
                      f"space and run {resume}")
        else:
            reason = f"{self.detail}; continue with {resume}"
        return f"{line}\n{reason}"


# ---- planning -------------------------------------------------------------------------------------
def default_name(request: SweepRequest) -> str:
    methods = "-".join(request.methods).replace(":", "-")
    return f"{methods}_{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _resolve_name(request: SweepRequest, root: str) -> str:
    if request.name:
        return check_name(request.name)
    if request.resume:
        name = newest_unfinished(root)
        if name is None:
            raise AdrayError(f"--resume: no unfinished sweep under {root}; pass --name NAME of the sweep to resume")
        return name
    return default_name(request)


def _resumed_request(request: SweepRequest, ledger: Ledger) -> SweepRequest:
    """The request to continue with: the ledger's experiment, widened by the command if it gave one."""
    recorded = dict(ledger.request)
    if request.methods:  # the command restates the experiment: it may add seeds and values, nothing else
        given = request.to_dict()
        refused = ledger.refused_changes(given)
        if refused:
            raise AdrayError("--resume: this command asks for a different sweep than "
                             f"{ledger.name} ran:\n  " + "\n  ".join(refused) +
                             "\nRepeat the original command (it may add --seeds or --set values) or start a new "
                             "sweep with another --name")
        recorded.update({k: v for k, v in given.items() if k not in RUNTIME_FIELDS})
    runtime = {k: getattr(request, k) for k in RUNTIME_FIELDS}
    return SweepRequest.from_dict({**recorded, **runtime, "resume": True})


def plan(request: SweepRequest, sweep_dir: Path | str, name: str) -> tuple[Ledger, SweepRequest]:
    """The ledger for this run (new, or the existing one widened by the command)."""
    local = isinstance(sweep_dir, Path)
    if not request.resume:
        return Ledger.new(name, request.to_dict(), expand_trials(request)), request
    ledger = read_ledger(sweep_dir) if local else None
    if ledger is None:
        raise AdrayError(f"--resume: nothing to resume at {sweep_dir} (no {'sweep.json' if local else 'local folder'})"
                         "; run without --resume to start it")
    request = _resumed_request(request, ledger)
    ledger.add(expand_trials(request))
    ledger.request = {k: v for k, v in request.to_dict().items()}
    return ledger, request


def statuses(sweep_dir: Path, ledger: Ledger) -> dict[int, str]:
    """Each ledger trial's status from its folder (the report's rules: ok, error, incomplete, not started)."""
    from adray.analysis.collect import ledger_statuses

    return ledger_statuses(sweep_dir, ledger)


def load_datasets(ledger: Ledger, indices: list[int], cells: list[SearchCell] = ()) -> dict:
    """Each dataset of these trials and search cells, loaded once, with every setting checked."""
    from adray.data.cache import load
    from adray.data.settings import make_split

    datasets, checked = {}, set()
    wanted = [(t.dataset, t.setting, t.setting_key, t.seed) for t in map(ledger.trial, indices)]
    wanted += [(c.dataset, c.setting, repr(c.setting), c.seeds[0]) for c in cells]
    for dataset, setting, key, seed in wanted:
        if dataset not in datasets:
            datasets[dataset] = load(dataset)
        if (dataset, key) not in checked:
            # a split is cheap index arithmetic: drawing one proves the setting is possible (classes exist,
            # enough known anomalies, splits non-empty) before any trial is scheduled
            make_split(datasets[dataset], setting, seed)
            checked.add((dataset, key))
    return datasets


# ---- running --------------------------------------------------------------------------------------
def ray_address(given: str | None) -> str:
    """Where the sweep's Ray is: ``--address`` when given, else ``RAY_ADDRESS`` (``ray job submit`` sets it),
    else a new local Ray of this process. Ray itself would otherwise join any cluster that ``ray start``
    left running on the machine, so a sweep without ``--address`` could land on someone else's Ray."""
    return given or os.environ.get("RAY_ADDRESS") or "local"


def run_sweep(request: SweepRequest) -> SweepResult:
    """Run (or resume) the sweep; the result says how it ended (see the module docstring)."""
    request.check_options()
    root = storage_root(request.storage)
    local = not is_uri(root)
    name = _resolve_name(request, root)
    sweep_dir: Path | str = Path(root) / name if local else f"{root.rstrip('/')}/{name}"
    if local:
        check_writable(Path(root))
        exists = sweep_dir.exists() and any(not p.name.startswith(".") for p in sweep_dir.iterdir())
        if exists and not request.resume:
            raise AdrayError(f"sweep folder {sweep_dir} already exists: add --resume to continue it, or pick a "
                             "new --name")
        if request.resume and not (sweep_dir / LEDGER_FILE).is_file():
            raise AdrayError(f"--resume: nothing to resume at {sweep_dir} (no {LEDGER_FILE}); run without "
                             "--resume to start it")
    lock = SweepLock(sweep_dir) if local else contextlib.nullcontext()
    with lock:
        ledger, request = plan(request, sweep_dir, name)
        done = statuses(sweep_dir, ledger) if request.resume else {}
        todo = [i for i in range(len(ledger)) if done.get(i) not in FINAL]
        cells = search_cells(request) if request.search != "grid" else []
        if local:
            check_free_space(Path(root), len(todo) + sum(len(c.seeds) * request.samples for c in cells))
        # before Ray starts: a dataset problem is reported in a second
        datasets = load_datasets(ledger, todo, cells)
        ledger.start_run(resumed=request.resume)
        if local:
            write_ledger(sweep_dir, ledger)
            if request.config_file:  # every result records exactly what produced it
                write_text(sweep_dir / SWEEP_FILE, Path(request.config_file).read_text())
        start = time.time()
        with tune_environment():
            guard = _run_tuner(request, ledger, todo, cells, datasets, sweep_dir, root, name)
        counts = Counter(statuses(sweep_dir, ledger).values()) if local else Counter()
        outcome, detail = guard.outcome()
        if outcome == COMPLETE and local and sum(counts.get(s, 0) for s in FINAL) < len(ledger):
            outcome, detail = STALLED, "some trials did not run"
        result = SweepResult(folder=sweep_dir, name=name, outcome=outcome,
                             counts={s: counts.get(s, 0) for s in STATUSES}, signal=guard.signal,
                             seconds=time.time() - start, detail=detail)
        if local:
            ledger.end_run(outcome, result.counts)
            with contextlib.suppress(OSError):  # a full disk must not hide the summary
                write_ledger(sweep_dir, ledger)
    return result


# what Ray and Tune are told through the environment while a sweep runs (restored afterwards; a value the
# user set wins, except the SIGINT handler, which adray's guard replaces)
TUNE_ENVIRONMENT = {
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "1",  # CPU-only trials must not see GPUs
    "RAY_AIR_NEW_OUTPUT": "0",  # Tune's classic progress table
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    # Tune's experiment state is never read back (resume uses the ledger): save it rarely, so the driver does
    # not rewrite a large file while it should be scheduling trials
    "TUNE_GLOBAL_CHECKPOINT_S": "300",
}


@contextlib.contextmanager
def tune_environment():
    saved = dict(os.environ)
    for key, value in TUNE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"  # adray's guard handles SIGINT (and SIGTERM) itself
    try:
        yield
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        os.environ.update(saved)


def _run_tuner(request, ledger, todo, cells, datasets, sweep_dir, root, name):
    """Start Ray if needed and run the trials ``todo`` (``--tuner-size`` at a time), or the search over
    ``cells``; returns the guard that watched the run."""
    import ray
    from ray import tune

    from adray.tune import monitor
    from adray.tune.guard import SweepGuard
    from adray.tune.resources import check_cluster, trial_resources
    from adray.tune.store import put_dataset
    from adray.tune.trainable import adray_trial

    resources = trial_resources(request.cpus_per_trial, request.gpus_per_trial)
    monitor.quiet_token_warning()
    if not ray.is_initialized():
        ray.init(address=ray_address(request.address), include_dashboard=None, log_to_driver=request.verbose > 1)
    cluster = check_cluster(resources["cpu"], resources["gpu"], request.autoscale)
    guard = SweepGuard(pending_timeout=request.pending_timeout)
    planned = f"{len(todo)} trials" if not cells else (
        f"search ({request.search}): {request.samples} configurations x {len(cells[0].seeds)} seeds in each of "
        f"{len(cells)} cell(s)" + (f", and {len(todo)} unfinished trials" if todo else ""))
    log.info("adray: %s -> %s  [%s; per trial %g CPU, %g GPU]%s", planned, sweep_dir, cluster,
             resources["cpu"], resources["gpu"],
             f" (resumed: {len(ledger) - len(todo)} of {len(ledger)} already done)" if request.resume else "")
    log.info("adray: %s", monitor.dashboard_line())
    if not todo and not cells:
        log.info("adray: nothing to run: every trial of sweep %s already has an ok result", name)
        return guard
    local = isinstance(sweep_dir, Path)
    with guard.watching():  # from here on a signal ends the sweep gracefully, never half-way through Ray
        refs = {name_: [put_dataset(dataset)] for name_, dataset in datasets.items()}  # one copy per sweep
        options = {"sweep_dir": str(sweep_dir) if local else None, "checkpoint_every": request.checkpoint_every}
        trainable = tune.with_resources(
            tune.with_parameters(adray_trial, datasets=refs, ledger=[ray.put(ledger)], options=options), resources)
        _active.update(ledger=ledger, labels={})
        callbacks = [guard, *_trackers(request, ledger, sweep_dir if local else None)]
        scheduler = _scheduler(request, ledger, sweep_dir if local else None)
        if cells:
            searcher = _searcher(request, ledger, cells, sweep_dir, resources)
            _fit(tune, trainable, request, name, root, guard, local, str(sweep_dir), callbacks, scheduler,
                 search=searcher)
            return guard
        chunks = [todo[i: i + request.tuner_size] for i in range(0, len(todo), request.tuner_size)]
        for number, chunk in enumerate(chunks, 1):
            if len(chunks) > 1:
                log.info("adray: tuner %d of %d: %d trials", number, len(chunks), len(chunk))
            _fit(tune, trainable, request, name, root, guard, local, str(sweep_dir), callbacks, scheduler,
                 indices=chunk)
            if local:
                drop_tune_state(sweep_dir)
            if guard.should_stop():
                break
    return guard


def _scheduler(request: SweepRequest, ledger: Ledger, sweep_dir: Path | None):
    if request.scheduler != "asha":
        return None
    from adray.tune.search import SeedAwareASHA

    return SeedAwareASHA(ledger, sweep_dir)


def _searcher(request, ledger, cells, sweep_dir, resources):
    """The seed-aware searcher, told the results of a resumed sweep's finished trials."""
    import ray

    from adray.tune.search import SeedAwareSearch

    known: dict[int, float | None] = {}  # a resumed sweep's finished trials: their validation metric
    if request.resume and isinstance(sweep_dir, Path):
        from adray.analysis.collect import collect

        runs = collect(sweep_dir).dropna(subset=["ledger_index"])
        for row in runs[runs["status"].isin(FINAL + ("error",))].itertuples(index=False):
            metric = "val_loss" if ledger.trial(int(row.ledger_index)).setting.all_anomalies_in_test else "val_auc"
            value = getattr(row, metric)
            known[int(row.ledger_index)] = float(value) if row.status != "error" and value == value else None
    slots = max(1, int(ray.cluster_resources().get("CPU", 1) // max(resources["cpu"], 1e-9)))
    inflight = max(1, -(-slots // len(cells[0].seeds)))  # enough configurations to fill the cluster, no more

    def on_new(indices: list[int]) -> None:
        if isinstance(sweep_dir, Path):
            write_ledger(sweep_dir, ledger)

    return SeedAwareSearch(cells, ledger, request.samples, request.search, request.search_seed, inflight, on_new,
                           known=known, checkpoint_every=request.checkpoint_every)


def _fit(tune, trainable, request, name, root, guard, local, sweep_dir, callbacks, scheduler, indices=None,
         search=None) -> None:
    """One Tuner: over the ledger trials ``indices``, or over what the searcher ``search`` suggests."""
    from adray.tune.monitor import SweepReporter

    run_config = tune.RunConfig(
        name=name, storage_path=root, stop=guard.stopper, callbacks=callbacks,
        failure_config=tune.FailureConfig(max_failures=request.max_failures),
        # on local storage trials keep their checkpoints themselves (see adray.tune.trainable)
        checkpoint_config=tune.CheckpointConfig(num_to_keep=None if local else 2),
        sync_config=tune.SyncConfig(sync_artifacts=not local),
        progress_reporter=SweepReporter(
            sweep_dir, parameter_columns={"i": "index"},
            metric_columns={"epoch": "epoch", "loss": "loss", "val_auc": "val_auc", "test_auc": "test_auc"},
            max_report_frequency=30, max_column_length=40,
        ),
        verbose=request.verbose,
    )
    tune_config = tune.TuneConfig(reuse_actors=True, trial_dirname_creator=_trial_dirname,
                                  trial_name_creator=_trial_label, scheduler=scheduler)
    if search is not None:
        tune_config.search_alg, tune_config.num_samples = search, -1
    tuner = tune.Tuner(trainable, param_space={} if search is not None else {"i": tune.grid_search(indices)},
                       tune_config=tune_config, run_config=run_config)
    try:
        tuner.fit()
    except Exception as exc:  # noqa: BLE001 - Tune's driver failing to write is a full disk, not a bug
        from adray.tune.trainable import is_storage_full

        if not (is_storage_full(exc) or _disk_full(root)):
            raise
        guard.storage_full = f"{type(exc).__name__}: {exc}"


def _trackers(request: SweepRequest, ledger: Ledger, sweep_dir: Path | None) -> list:
    """Tune callbacks that log the sweep elsewhere: MLflow with ``--mlflow``."""
    if not request.mlflow:
        return []
    try:
        from adray.tune.tracking import SweepMLflowCallback
    except ImportError:
        raise AdrayError("--mlflow needs MLflow: pip install -e '.[mlflow]' (or pip install mlflow-skinny)") from None
    log.info("adray: MLflow: experiment %r at %s", ledger.name, request.mlflow)
    return [SweepMLflowCallback(request.mlflow, ledger, sweep_dir)]


def drop_tune_state(sweep_dir: Path) -> None:
    """Remove a finished Tuner's experiment state: adray never reads it, and at 10,000 trials it is large."""
    for pattern in ("experiment_state-*.json", "basic-variant-state-*.json"):
        for path in sweep_dir.glob(pattern):
            with contextlib.suppress(OSError):
                path.unlink()


def _disk_full(root: str) -> bool:
    import shutil

    return not is_uri(root) and shutil.disk_usage(root).free < 64 * 1024


def ledger_labels(ledger: Ledger) -> list[str]:
    """A short name per trial for Tune's progress table: method, dataset, seed, config id and the
    hyperparameters that vary between this method's configurations."""
    values: dict[tuple[str, str], set] = {}
    for config in ledger.configs:
        for key, value in config["params"].items():
            values.setdefault((config["method"], key), set()).add(json.dumps(value, sort_keys=True))
    varying = {pair for pair, seen in values.items() if len(seen) > 1}
    out = []
    for config_index, seed in ledger.trials:
        c = ledger.configs[config_index]
        setting = c["setting"].get("name") or ""
        parts = [f"{c['method']} {c['dataset']}{':' + setting if setting else ''} s{seed} #{c['config_id'][:6]}"]
        parts += [f"{k}={c['params'][k]}" for k in sorted(c["params"]) if (c["method"], k) in varying]
        out.append(" ".join(parts))
    return out


# Tune pickles its configuration (tuner.pkl); module-level functions pickle by name, so the ledger they
# read from is not copied into that file
_active: dict = {}


def _trial_dirname(trial) -> str:
    return _active["ledger"].dirname(int(trial.config["i"]))


def _trial_label(trial) -> str:
    index = int(trial.config["i"])
    if index not in _active["labels"]:  # a searcher adds trials as it goes: label them all again then
        _active["labels"] = dict(enumerate(ledger_labels(_active["ledger"])))
    return _active["labels"][index]
