"""Watches a running sweep and ends it honestly: on a signal, a full disk, or trials that can never start.

Why not Tune's own handling: one SIGINT makes ``Tuner.fit()`` return as if the sweep had finished,
and SIGTERM ends the driver inside Ray with a C++ stack dump. Here both signals set a flag that a
Tune ``Stopper`` turns into a graceful stop of every trial (their checkpoints stay), and the runner
then reports the sweep as interrupted. A second signal stops at once (KeyboardInterrupt).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time

from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.stopper import Stopper

from adray.tune.trainable import STORAGE_FULL, is_storage_full

# Tune logs a failed save of its experiment state with a traceback from deep inside Ray; on a full disk
# that is expected (the sweep then stops with its own message), so one line is enough
_STATE_LOGGER = "ray.tune.execution.experiment_state"


class _OneLineWhenFull(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and is_storage_full(record.exc_info[1]):
            record.msg = f"{record.getMessage().strip()} {record.exc_info[1]}"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


class _StopAll(Stopper):
    def __init__(self, guard: SweepGuard):
        self.guard = guard

    def __call__(self, trial_id, result) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.guard.should_stop()


class SweepGuard(Callback):
    def __init__(self, pending_timeout: float):
        self.pending_timeout = pending_timeout
        self.signal: int | None = None
        self.storage_full: str | None = None
        self.stalled: str | None = None
        self._last_progress = time.monotonic()
        self.stopper = _StopAll(self)

    def should_stop(self) -> bool:
        return bool(self.signal or self.storage_full or self.stalled)

    def outcome(self) -> tuple[str, str]:
        if self.signal:
            return "interrupted", ""
        if self.storage_full:
            return "storage full", self.storage_full
        if self.stalled:
            return "stalled", self.stalled
        return "complete", ""

    # ---- Tune callbacks ------------------------------------------------------------------------------
    def on_step_begin(self, iteration: int, trials: list[Trial], **info) -> None:
        now = time.monotonic()
        if any(t.status == Trial.RUNNING for t in trials):
            self._last_progress = now
        elif any(t.status == Trial.PENDING for t in trials) and now - self._last_progress > self.pending_timeout:
            self.stalled = (f"no trial could start for {self.pending_timeout:g} s (--pending-timeout): no node of the "
                            "cluster offers the CPUs/GPUs one trial asks for (with --autoscale: no node came up)")

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info) -> None:
        self._last_progress = time.monotonic()

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info) -> None:
        self._last_progress = time.monotonic()
        if result.get(STORAGE_FULL):
            self.storage_full = str(result.get("error", "no space left on the storage"))

    # ---- signals -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def watching(self):
        """While the sweep runs: SIGINT and SIGTERM stop it gracefully (a second one at once), and Tune's
        failed saves on a full disk are one log line."""
        def handle(signum, frame):
            if self.signal is not None:
                raise KeyboardInterrupt
            self.signal = signum

        previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
        quiet = _OneLineWhenFull()
        logging.getLogger(_STATE_LOGGER).addFilter(quiet)
        try:
            yield
        finally:
            logging.getLogger(_STATE_LOGGER).removeFilter(quiet)
            for s, handler in previous.items():
                signal.signal(s, handler)
