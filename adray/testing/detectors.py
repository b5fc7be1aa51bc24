"""Fake detectors for orchestration tests (TimeEval's ``DeviatingFromMean`` idea): fast, real scores,
and controllable failures. Register them for a sweep with ``ADRAY_DETECTORS`` (see the registry):

    ADRAY_DETECTORS="sleepy=adray.testing.detectors:Sleepy"

``Sleepy`` scores by the distance to the training mean (so it separates shifted anomalies), sleeps
``seconds_per_epoch`` per epoch, appends one line per epoch it runs to ``log_path``, and can fail on
purpose: raise at an epoch, diverge (NaN loss) at an epoch, produce NaN or constant scores, or kill its own
process once at an epoch (a worker crash; ``crash_marker`` records that it happened so the retry does
not crash again).
"""

from __future__ import annotations

import os
import signal
import time
from typing import ClassVar

import numpy as np

from adray.detectors.base import BaseDetector
from adray.detectors.components.constraints import NON_NEGATIVE, POSITIVE_INT, Interval


class Sleepy(BaseDetector):
    """Scores by the distance to the training mean; sleeps, logs and fails when asked to."""

    smoke_params: ClassVar[dict] = {"epochs": 2, "seconds_per_epoch": 0.0}
    param_constraints: ClassVar[dict[str, list]] = {
        "epochs": [POSITIVE_INT], "seconds_per_epoch": [NON_NEGATIVE], "fail_at_epoch": [Interval(int, 0)],
        "crash_at_epoch": [Interval(int, 0)], "nan_loss_at_epoch": [Interval(int, 0)],
    }

    def __init__(self, *, epochs: int = 3, seconds_per_epoch: float = 0.2, fail_at_epoch: int = 0,
                 nan_scores: bool = False, constant_scores: bool = False, nan_loss_at_epoch: int = 0,
                 crash_at_epoch: int = 0, crash_marker: str = "", log_path: str = "") -> None:
        self.epochs = epochs
        self.seconds_per_epoch = seconds_per_epoch
        self.fail_at_epoch = fail_at_epoch
        self.nan_scores = nan_scores
        self.constant_scores = constant_scores
        self.nan_loss_at_epoch = nan_loss_at_epoch
        self.crash_at_epoch = crash_at_epoch
        self.crash_marker = crash_marker
        self.log_path = log_path

    def _fit(self, X, y, subclass, X_val, y_val, callbacks, state) -> None:
        flat = X.reshape(len(X), -1)
        self.mean_ = flat[(y == 0) if y is not None else slice(None)].mean(axis=0)
        start = int(state["epoch"]) + 1 if state is not None else 1
        for epoch in range(start, self.epochs + 1):
            if self.log_path:
                with open(self.log_path, "a") as fh:
                    fh.write(f"{os.getpid()} seed={self.seed_} epoch={epoch} time={time.time():.3f}\n")
            if epoch == self.crash_at_epoch and self.crash_marker and not os.path.exists(self.crash_marker):
                open(self.crash_marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)  # a worker dying mid-training
            if epoch == self.fail_at_epoch:
                raise RuntimeError(f"failing on purpose at epoch {epoch}")
            time.sleep(self.seconds_per_epoch)
            self.epoch_ = epoch
            loss = float("nan") if epoch == self.nan_loss_at_epoch else 1.0 / epoch
            if not np.isfinite(loss):  # what the torch template does when training diverges
                raise FloatingPointError(f"training diverged: loss is {loss} at epoch {epoch}")
            report = {"stage": "train", "epoch": epoch, "iteration": epoch, "loss": loss}
            if X_val is not None:
                report.update(self._validation(X_val, y_val))
            self._report(callbacks, report)

    def _decision(self, X: np.ndarray) -> np.ndarray:
        scores = np.linalg.norm(X.reshape(len(X), -1) - self.mean_, axis=1)
        if self.nan_scores:
            return np.full(len(X), np.nan)
        return np.zeros(len(X)) if self.constant_scores else scores

    def get_state(self) -> dict:
        return {**self._state_header(), "stage": "train", "stage_index": 0, "epoch": getattr(self, "epoch_", 0),
                "iteration": getattr(self, "epoch_", 0), "mean": self.mean_}


class SleepySemi(Sleepy):
    """``Sleepy`` declared semi-supervised: it is given the known anomalies with their labels."""

    supervision: ClassVar[str] = "semi"


class Scripted(Sleepy):
    """A detector whose validation curve is written in advance, per seed: the epoch report's
    ``val_auc`` is ``min(1, quality + lift * epoch / epochs + (luck if seed == lucky_seed else 0)
    - (dip if seed == dip_seed else 0))``. Searchers and schedulers are tested on it: their choices are
    then known in advance."""

    def __init__(self, *, epochs: int = 3, seconds_per_epoch: float = 0.0, quality: float = 0.7, lift: float = 0.0,
                 lucky_seed: int = -1, luck: float = 0.0, dip_seed: int = -1, dip: float = 0.0) -> None:
        super().__init__(epochs=epochs, seconds_per_epoch=seconds_per_epoch)
        self.quality, self.lift = quality, lift
        self.lucky_seed, self.luck, self.dip_seed, self.dip = lucky_seed, luck, dip_seed, dip

    def curve(self, epoch: int) -> float:
        value = self.quality + self.lift * epoch / max(1, self.epochs)
        value += self.luck if self.seed_ == self.lucky_seed else 0.0
        value -= self.dip if self.seed_ == self.dip_seed else 0.0
        return float(min(1.0, value))

    def _validation(self, X_val, y_val) -> dict:
        return {"val_auc": self.curve(getattr(self, "epoch_", 1))}


class Declared(Sleepy):
    """A plug-in that declares its own sweep defaults, as any detector outside adray can: the sweep runs
    its grid on its dataset when the command names neither."""

    summary: ClassVar[str] = "a plug-in with its own grid and default dataset"
    default_dataset: ClassVar[str] = "digits:r2ad2"
    default_grid: ClassVar[dict[str, list]] = {"epochs": [1, 2], "seconds_per_epoch": [0.0]}


class NeedsAnomalies(SleepySemi):
    """A plug-in that cannot train without known anomalies (``requires_known_anomalies``)."""

    requires_known_anomalies: ClassVar[bool] = True
