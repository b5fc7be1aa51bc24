"""Real sweep folders for the report tests: the sweep's ledger, then each trial run by the real trial
code (``run_trial``, no Ray) with the fast test detectors, so every file is what a sweep writes."""

from __future__ import annotations

import json
from pathlib import Path

from adray import artifacts
from adray.data import load
from adray.sweep.ledger import Ledger, write_ledger
from adray.sweep.request import SweepRequest, expand_trials, parse_set
from adray.sweep.trial import run_trial

# "baseline" is the same fast detector under another name: a second method for merged reports
DETECTORS = "sleepy=adray.testing.detectors:Sleepy,baseline=adray.testing.detectors:SleepySemi"


def write_real_sweep(folder: Path, methods=("sleepy",), datasets=("synthetic",), seeds=(1, 2, 3),
                     sets=("epochs=1,2", "seconds_per_epoch=0"), name: str = "s", run=None) -> Ledger:
    """Write the ledger, then run the trials whose indices are in ``run`` (all by default)."""
    request = SweepRequest(methods=list(methods), datasets=list(datasets), seeds=list(seeds),
                           overrides=parse_set(list(sets)))
    ledger = Ledger.new(name, request.to_dict(), expand_trials(request))
    write_ledger(folder, ledger)
    data = {d: load(d) for d in datasets}
    for i in range(len(ledger)) if run is None else run:
        trial = ledger.trial(i)
        run_trial(trial, data[trial.dataset], folder / ledger.dirname(i), lambda m, s: None,
                  context={"index": i, "sweep": name})
    return ledger


def edit_trial_json(trial_dir: Path, change) -> None:
    """Rewrite a trial's trial.json through ``change(outcome)`` (a damage or an older adray's file)."""
    path = Path(trial_dir) / artifacts.TRIAL
    outcome = json.loads(path.read_text())
    change(outcome)
    path.write_text(json.dumps(outcome))
