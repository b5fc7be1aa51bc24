"""Isolation Forest baseline (registry name ``"iforest"``): scikit-learn's forest behind adray's contract.

As in the seeds: scikit-learn defaults, score = ``-decision_function`` so that
higher = more anomalous. Input is flattened, so images and series work too. No torch needed.

Reports: one ``{"stage": "fit", "epoch": 1, "iteration": 1, "loss": 0.0, ["val_auc"]}`` after
fitting. A forest has no training loss; 0.0 (not NaN) keeps the ``loss`` column numeric for Tune's
loggers and schedulers, and the value carries no meaning.

State: ``get_state()`` holds no forest: a pickled model in a checkpoint would run code when a copied
or shared results folder is resumed. A resumed fit refits from its seed, which gives the same forest
(``random_state=seed``) in a fraction of a second, without reporting the epoch again.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from adray.detectors.base import BaseDetector, NotFittedError
from adray.detectors.components.constraints import POSITIVE_INT, Interval, Options


class IForest(BaseDetector):
    """scikit-learn ``IsolationForest`` built in ``fit`` as ``detector_`` (``random_state=seed``, ``n_jobs=1``).

    Parameters
    ----------
    n_estimators, max_samples, max_features : passed to ``IsolationForest`` (its defaults).
    """

    summary: ClassVar[str] = "Isolation Forest (scikit-learn, sign flipped)"
    smoke_params: ClassVar[dict] = {"n_estimators": 25}
    default_dataset: ClassVar[str] = "breast_cancer"
    default_grid: ClassVar[dict[str, list]] = {"n_estimators": [100, 300]}
    # the values scikit-learn's IsolationForest takes
    param_constraints: ClassVar[dict[str, list]] = {
        "n_estimators": [POSITIVE_INT],
        "max_samples": [Options("auto"), POSITIVE_INT, Interval(float, 0, 1, closed="right")],
        "max_features": [POSITIVE_INT, Interval(float, 0, 1, closed="right")],
    }

    def __init__(self, *, n_estimators: int = 100, max_samples: int | float | str = "auto",
                 max_features: int | float = 1.0) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features

    def _fit(self, X, y, subclass, X_val, y_val, callbacks, state) -> None:
        from sklearn.ensemble import IsolationForest

        self.detector_ = IsolationForest(
            n_estimators=self.n_estimators, max_samples=self.max_samples, max_features=self.max_features,
            random_state=self.seed_, n_jobs=1,
        ).fit(X.reshape(len(X), -1))
        if state is not None:  # the epoch was reported before the checkpoint: refit, report nothing
            return
        report = {"stage": "fit", "epoch": 1, "iteration": 1, "loss": 0.0}
        if X_val is not None:
            report.update(self._validation(X_val, y_val))
        self._report(callbacks, report)

    def _decision(self, X: np.ndarray) -> np.ndarray:
        return -self.detector_.decision_function(X.reshape(len(X), -1))

    def get_state(self) -> dict:
        if not hasattr(self, "detector_"):
            raise NotFittedError("this IForest has no state yet: call fit(X, ...) first")
        return {**self._state_header(), "stage": "fit", "stage_index": 0, "epoch": 1, "iteration": 1}
