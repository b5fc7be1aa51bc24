"""The detector contract: scikit-learn's estimator rules with PyOD's score sign.

``BaseDetector`` holds what every detector shares and imports neither torch nor Ray, so a sweep of
non-torch baselines (IForest) needs neither. The PyTorch training template is
:class:`adray.detectors.torch_template.TorchDetector`.

Rules:

- ``__init__`` takes keyword-only hyperparameters with defaults and stores them unchanged; no
  seeding, no device choice, no validation. ``get_params``/``set_params`` mirror it, so
  ``sklearn.base.clone`` works.
- ``fit(X, y=None, *, subclass, X_val, y_val, seed, device, callbacks, state)`` validates the input,
  trains and returns ``self``. Fitted attributes end in ``_``.
- ``decision_function(X)`` returns finite float64 scores of shape ``(n,)``; higher = more anomalous.
  Before ``fit`` it raises :class:`NotFittedError`; a model that produced NaN/Inf raises
  :class:`~adray.errors.AdrayError` instead of returning them.
- After every epoch of every stage, each callback gets one dict
  ``{"stage", "epoch" (1-based in the stage), "iteration" (1-based over all stages), "loss",
  "val_auc" (only with X_val holding both classes; with normal rows only: "val_loss", their mean
  score), ...other numeric metrics}``.
  A callback may call ``get_state()``: the snapshot is consistent at that moment, and
  ``fit(..., state=snapshot)`` continues with the next epoch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from adray.detectors.components.constraints import check_params
from adray.errors import AdrayError, UnknownNameError

try:  # Python 3.11+
    from typing import Self
except ImportError:  # pragma: no cover - Python 3.10
    from typing_extensions import Self

EpochCallback = Callable[[dict], None]
STATE_FORMAT = 1


class NotFittedError(AdrayError, ValueError, AttributeError):
    """The detector was used before ``fit``.

    Same bases as scikit-learn's ``NotFittedError`` (ValueError, AttributeError) plus AdrayError,
    without importing scikit-learn.
    """


class BaseDetector:
    """Base class of every adray detector (see the module docstring for the contract)."""

    # Everything about a method is declared here, on its class; the registry, the sweep, `adray methods`
    # and the README's methods table read it (a plug-in declares the same attributes).
    summary: ClassVar[str] = ""  # one line for `adray methods` and the README ("" = the docstring's first line)
    supervision: ClassVar[str] = "unsupervised"  # "unsupervised" ignores y; "semi" uses y (1 = known anomaly)
    # True: fit cannot work without known anomalies (rows with y = 1); a sweep refuses a setting that has none
    requires_known_anomalies: ClassVar[bool] = False
    uses_gpu: ClassVar[bool] = False  # True: benefits from CUDA; the runner then passes device="cuda"
    smoke_params: ClassVar[dict] = {}  # tiny hyperparameters for tests and `--smoke`
    # what `--method NAME` runs on without --dataset: "dataset" (its default setting) or "dataset:setting"
    default_dataset: ClassVar[str] = "synthetic"
    # the sweep's grid without --set: every combination is a configuration, each run with every seed;
    # {} is one configuration, the constructor's defaults
    default_grid: ClassVar[dict[str, list]] = {}
    # {name: [constraint, ...]} (adray.detectors.components.constraints): checked by fit and, before Ray starts, by the
    # sweep; hyperparameters not listed are held to the type of their default
    param_constraints: ClassVar[dict[str, list]] = {}
    # the metrics the method's paper reports (names of adray.metrics.evaluate): `adray report --paper`
    # prints them side by side, so a table can be set next to the paper's
    paper_metrics: ClassVar[tuple[str, ...]] = ("auc",)

    # ---------------------------------------------------------------- sklearn-style parameters
    @classmethod
    def param_names(cls) -> list[str]:
        """The hyperparameter names: the keyword parameters of ``__init__``."""
        signature = inspect.signature(cls.__init__)
        return [
            p.name for p in signature.parameters.values()
            if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    @classmethod
    def check_param_names(cls, params, owner: str | None = None) -> None:
        """Reject hyperparameter names ``__init__`` does not take, listing the valid ones."""
        valid = cls.param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise UnknownNameError(
                f"{owner or cls.__name__} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(valid) or '(none)'}"
            )

    def set_params(self, **params: Any) -> Self:
        self.check_param_names(params)
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---------------------------------------------------------------- contract
    def fit(
        self,
        X,
        y=None,
        *,
        subclass=None,
        X_val=None,
        y_val=None,
        seed: int = 0,
        device: str = "cpu",
        callbacks: Sequence[EpochCallback] = (),
        state: dict | None = None,
    ) -> Self:
        """Validate the input, then train (``_fit``) and return ``self``.

        Parameters
        ----------
        X : float array (n, *feature_shape); may be a read-only view (never written to).
        y : int array (n,), 1 = known anomaly; used by ``supervision == "semi"`` methods only.
        subclass : int array (n,), normal sub-class id per row, -1 for known anomalies.
        X_val, y_val : optional validation data; each epoch report then includes ``val_auc`` (or, when
            y_val has no anomaly, ``val_loss``: the mean score of its rows).
        seed : seeds every random draw; two CPU fits with the same seed give identical scores.
        device : "cpu" or "cuda[:k]"; falls back to "cpu" without CUDA (stored as ``device_``).
        callbacks : called after every epoch with the report dict described in the module docstring.
        state : a ``get_state()`` snapshot; training continues after the epoch it was taken at.
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise AdrayError(f"seed must be a non-negative integer, got {seed!r}")
        check_params(type(self), self.get_params())
        X = self._check_X(X, "X")
        n = len(X)
        y = self._check_labels(y, n, "y") if y is not None else None
        subclass = self._check_labels(subclass, n, "subclass") if subclass is not None else None
        if self.supervision == "semi" and y is None:
            raise AdrayError(f"{type(self).__name__} is semi-supervised: pass y (1 = known anomaly, 0 = normal)")
        if (X_val is None) != (y_val is None):
            raise AdrayError("X_val and y_val go together: give both or neither")
        if X_val is not None:
            X_val = self._check_X(X_val, "X_val", feature_shape=X.shape[1:])
            y_val = self._check_labels(y_val, len(X_val), "y_val")
        if state is not None:
            self._check_state(state, X.shape[1:])
        self._fitted = False
        self.feature_shape_ = tuple(int(s) for s in X.shape[1:])
        self.n_features_in_ = int(np.prod(self.feature_shape_))
        self.n_subclasses_ = int(subclass.max()) + 1 if subclass is not None and subclass.max() >= 0 else 1
        self.seed_ = int(seed)
        self.device_ = self._resolve_device(device)
        self._fit(X, y, subclass, X_val, y_val, list(callbacks), state)
        self._fitted = True
        return self

    def decision_function(self, X) -> np.ndarray:
        """Finite float64 anomaly scores of shape (n,); higher = more anomalous."""
        self._check_fitted()
        X = self._check_X(X, "X", feature_shape=self.feature_shape_)
        return self._finite_scores(X)

    def get_state(self) -> dict:
        """A snapshot (CPU tensors, python scalars, bytes) that ``fit(..., state=...)`` resumes from."""
        raise NotImplementedError

    def fit_info(self) -> dict:
        """Choices the fit resolved from the data (e.g. ARGUE's partitions with ``"auto"``): recorded in
        ``trial.json`` and shown with the chosen configurations in the report. Empty by default."""
        return {}

    # ---------------------------------------------------------------- hooks for subclasses
    def _fit(self, X, y, subclass, X_val, y_val, callbacks: list[EpochCallback], state: dict | None) -> None:
        """Train on validated input; ``feature_shape_``, ``seed_``, ``device_`` are already set."""
        raise NotImplementedError

    def _decision(self, X: np.ndarray) -> np.ndarray:
        """Scores of validated X (may be called during training for val AUC)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- shared helpers
    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "_fitted", False)

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(X, ...) first")

    def _resolve_device(self, device: str) -> str:
        if not isinstance(device, str) or not (device == "cpu" or device.split(":")[0] == "cuda"):
            raise AdrayError(f"device must be 'cpu' or 'cuda' (or 'cuda:<k>'), got {device!r}")
        return "cpu"  # detectors without GPU support; TorchDetector checks CUDA

    def _finite_scores(self, X: np.ndarray) -> np.ndarray:
        scores = np.asarray(self._decision(X), dtype=np.float64).reshape(-1)
        if scores.shape != (len(X),):
            raise AssertionError(f"{type(self).__name__} returned {scores.shape} scores for {len(X)} rows")
        bad = ~np.isfinite(scores)
        if bad.any():
            raise AdrayError(
                f"{type(self).__name__} produced non-finite scores ({int(bad.sum())} of {len(scores)} "
                f"are NaN or Inf); the model diverged: try a lower learning_rate or check the input scaling"
            )
        return scores

    def _validation(self, X_val: np.ndarray, y_val: np.ndarray) -> dict[str, float]:
        """The per-epoch validation metric: ``val_auc`` when the split holds both classes; without
        anomalies (AMSL's protocol, clean-normal validation) an AUC cannot exist, and ``val_loss``, the
        mean score of the held-out normal rows (lower is better), is the label-free criterion instead."""
        from adray.metrics import auc  # lazy: keeps `import adray.detectors` light

        scores = self._finite_scores(X_val)
        if len(np.unique(y_val)) > 1:
            return {"val_auc": auc(y_val, scores)}
        return {"val_loss": float(scores[y_val == 0].mean())} if (y_val == 0).any() else {}

    def _report(self, callbacks: list[EpochCallback], report: dict) -> None:
        for callback in callbacks:
            callback(dict(report))

    def _check_X(self, X, name: str, feature_shape: tuple[int, ...] | None = None) -> np.ndarray:
        try:
            X = np.asarray(X, dtype=np.float32)  # no copy for float32 input, read-only views stay views
        except (TypeError, ValueError) as exc:
            raise AdrayError(f"{name} must be a numeric array: {exc}") from None
        if X.ndim < 2:
            raise AdrayError(
                f"{name} must have shape (n_samples, *feature_shape) with at least 2 dimensions; "
                f"got shape {X.shape} (reshape a single feature to (n, 1) or a single row to (1, d))"
            )
        if len(X) == 0:
            raise AdrayError(f"{name} has no rows (shape {X.shape})")
        if feature_shape is not None and tuple(X.shape[1:]) != tuple(feature_shape):
            raise AdrayError(
                f"{name} has feature shape {tuple(X.shape[1:])}, but the detector "
                f"{'was fitted on' if name == 'X' else 'is trained on'} {tuple(feature_shape)}"
            )
        finite = np.isfinite(X)
        if not finite.all():
            bad_rows = np.flatnonzero(~finite.reshape(len(X), -1).all(axis=1))
            raise AdrayError(
                f"{name} contains {int((~finite).sum())} NaN or infinite values in {len(bad_rows)} rows "
                f"(first: row {int(bad_rows[0])}); impute or drop them before fitting"
            )
        return X

    @staticmethod
    def _check_labels(values, n: int, name: str) -> np.ndarray:
        values = np.asarray(values)
        if values.ndim != 1 or len(values) != n:
            raise AdrayError(f"{name} must have shape ({n},) to match the rows of the data; got {values.shape}")
        if not np.issubdtype(values.dtype, np.integer):
            if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
                raise AdrayError(f"{name} must hold integers, got dtype {values.dtype}")
            if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
                raise AdrayError(f"{name} must hold integers, got non-integer values")
            values = values.astype(np.int64)
        return values

    def _check_state(self, state: dict, feature_shape: tuple[int, ...]) -> None:
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise AdrayError("state is not a detector snapshot from get_state() (missing or unknown 'format')")
        if state.get("class") != type(self).__name__:
            raise AdrayError(f"state was saved by {state.get('class')!r}, not by {type(self).__name__}")
        if tuple(state.get("feature_shape", ())) != tuple(feature_shape):
            raise AdrayError(
                f"state was saved for feature shape {tuple(state.get('feature_shape', ()))}, "
                f"but X has feature shape {tuple(feature_shape)}"
            )

    def _state_header(self) -> dict:
        return {
            "format": STATE_FORMAT,
            "class": type(self).__name__,
            "feature_shape": tuple(self.feature_shape_),
            "seed": self.seed_,
        }

