"""The one function trainable every method runs in: Ray glue around :func:`adray.sweep.trial.run_trial`.

Tune's configuration of a trial is only its index in the sweep's ledger (``{"i": 7}``): the full
configuration is looked up in the ledger, which travels once through the object store. So Tune's
experiment state, progress table and callbacks carry no large values, whatever the sweep's size.

The trial takes the dataset from the object store (zero-copy), resumes from the newest checkpoint in
its own folder (after a retry, or when the sweep was resumed from its ledger; on cloud storage from
Tune's checkpoint), reports every epoch with ``tune.report``, writes a checkpoint every
``checkpoint_every`` epochs and ends with one report holding its status and val/test AUC.
"""

from __future__ import annotations

import contextlib
import errno
import tempfile
import traceback
from pathlib import Path

import ray
from ray import tune

from adray import artifacts
from adray.sweep import checkpoint
from adray.sweep.ledger import Ledger, trial_dirname
from adray.sweep.trial import TrialConfig, run_trial
from adray.tune.store import get_dataset

STORAGE_FULL = "storage_full"  # a result key: the trial could not write, the sweep must stop
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_ledgers: dict[str, Ledger] = {}  # per worker process: one ledger per sweep, fetched once


def ledger_of(ref: ray.ObjectRef) -> Ledger:
    key = ref.hex()
    if key not in _ledgers:
        _ledgers[key] = ray.get(ref)
    return _ledgers[key]


def is_storage_full(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def trial_directory(dirname: str, sweep_dir: str | None) -> Path:
    """Where this trial's artifacts go: its folder in a local (or mounted) sweep directory, written in
    place and atomically; for cloud storage the working directory, which Tune uploads (sync_artifacts)."""
    if sweep_dir is None:
        return Path.cwd()
    folder = Path(sweep_dir) / dirname
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def resource_share() -> tuple[float, float]:
    """(CPU, GPU) given to this trial."""
    resources = tune.get_context().get_trial_resources()
    bundles = getattr(resources, "bundles", None) or [resources]
    bundle = bundles[0] if isinstance(bundles[0], dict) else {}
    return float(bundle.get("CPU", 1.0)), float(bundle.get("GPU", 0.0))


def _resume_payload(folder: Path) -> tuple[dict | None, int]:
    """(checkpoint payload, attempt): Tune's checkpoint after a retry, else the newest in the folder."""
    found = tune.get_checkpoint()
    if found is not None:
        with found.as_directory() as path:
            return checkpoint.load(Path(path)), 1
    newest = checkpoint.newest_in(folder)
    return (checkpoint.load(newest), 1) if newest is not None else (None, 0)


# what Tune sees of an epoch: enough for the progress table and schedulers. Every metric a detector
# reports is in the trial's history.csv; Tune keeps running statistics of each numeric key it is given
# for every trial in its driver-side state, so fewer keys keep that state small at 10,000 trials.
TUNE_KEYS = ("epoch", "loss", "val_auc", "val_loss")


KEEP_CHECKPOINTS = 2


def _reporter(trial_dir: Path | None):
    """``report(metrics, payload)`` for run_trial: a Tune result, and a checkpoint when a payload is due.

    On local (or mounted) storage the trial writes its checkpoints into its own folder and keeps the
    newest two: Tune is told nothing about them, so its driver-side record of a trial does not grow
    with every checkpoint (nor force a save of its whole experiment state every other one). A retry or
    a resume finds them there. On cloud storage they go through Tune, which uploads them.
    """
    def report(metrics: dict, payload: dict | None) -> None:
        metrics = {"epoch": metrics.get("iteration", metrics.get("epoch")),
                   **{k: metrics[k] for k in TUNE_KEYS[1:] if k in metrics}}
        if payload is None:
            tune.report(metrics)
        elif trial_dir is not None:
            checkpoint.save(trial_dir / f"checkpoint_{len(payload['history']):06d}", payload)
            checkpoint.prune(trial_dir, KEEP_CHECKPOINTS)
            tune.report(metrics)
        else:
            with tempfile.TemporaryDirectory() as folder:
                checkpoint.save(Path(folder), payload)
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    return report


def _record_failure(folder: Path, config: dict, attempt: int, exc: BaseException) -> None:
    """Keep the cause of a crash in trial.json before Tune retries (Ray's error.txt may come out empty)."""
    with contextlib.suppress(OSError):
        artifacts.write_json(folder / artifacts.TRIAL, {
            "status": artifacts.STATUS_ERROR, "error": f"{type(exc).__name__}: {exc}", "attempt": attempt,
            "traceback": traceback.format_exc(limit=20), "config": config})


def adray_trial(config: dict, datasets: dict, ledger: list, options: dict) -> None:
    """Tune entry point. ``config`` is ``{"i": ledger index}`` (a searched trial also carries its
    configuration, ``"t"``); ``datasets`` maps dataset name ->
    [ObjectRef]; ``ledger`` is [ObjectRef of the Ledger]; ``options`` holds ``sweep_dir`` (None for
    cloud storage) and ``checkpoint_every``."""
    index = int(config["i"])
    book = ledger_of(ledger[0])
    if "t" in config:  # a configuration a searcher sampled after the ledger was put in the object store
        trial = TrialConfig.from_dict({**config["t"], "checkpoint_every": options["checkpoint_every"]})
    else:
        trial = book.trial(index, options["checkpoint_every"])
    record = {**trial.to_dict(), "index": index, "sweep": book.name}
    folder = trial_directory(trial_dirname(trial, index), options["sweep_dir"])
    attempt = 0
    try:
        resume, attempt = _resume_payload(folder)
        dataset = get_dataset(datasets[trial.dataset][0])
        cpus, gpus = resource_share()
        context = {"node_id": ray.get_runtime_context().get_node_id(), "trial_id": tune.get_context().get_trial_id(),
                   "index": index, "sweep": book.name}
        report = _reporter(folder if options["sweep_dir"] is not None else None)
        outcome = run_trial(trial, dataset, folder, report, resume=resume, gpu_fraction=gpus, attempt=attempt,
                            cpu_threads=max(1, int(cpus)), context=context)
    except Exception as exc:
        if is_storage_full(exc):  # not this trial's fault: end it without a result and stop the sweep
            tune.report({STORAGE_FULL: 1, "error": f"{type(exc).__name__}: {exc}"})
            return
        _record_failure(folder, record, attempt, exc)
        raise
    final = {"ok": int(outcome["status"] == artifacts.STATUS_OK)}  # the outcome itself is in trial.json
    for key, value in (("val_auc", outcome.get("val", {}).get("auc")), ("test_auc", outcome.get("test", {}).get("auc")),
                       ("val_loss", outcome.get("val", {}).get("loss"))):
        if value is not None:
            final[key] = value
    tune.report(final)
