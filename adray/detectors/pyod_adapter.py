"""Any PyOD detector behind adray's contract: ``--method pyod:ECOD``, ``pyod:IForest``, ``pyod:LOF``, ...

:func:`pyod_detector` builds (once per name) a :class:`~adray.detectors.base.BaseDetector` subclass for
the PyOD class of that name; the registry maps every method name starting with ``"pyod:"`` to it.

- **Hyperparameters** are the PyOD class's ``__init__`` parameters with PyOD's defaults, so sweeps can set
  them and ``set_params``/``build`` reject unknown names; except ``random_state``, which is the trial
  seed, and ``verbose``, whose default becomes 0 (quiet trial logs).
- **Values PyOD needs from the data** (a required argument with no default, e.g. DeepSVDD's
  ``n_features``) default to None and are filled in from the training data at ``fit`` (``filled_params_``
  records them). A required argument the data cannot give (LSCP's ``detector_list``, EmbeddingOD's
  ``encoder``) must be set in Python; left unset, ``fit`` says so instead of failing inside PyOD. Graph
  detectors (their ``fit`` takes ``edge_index``) are refused by name: adray's datasets have no edges.
- **Input** is flattened to (n, D) (images and series work too). **Supervision**: "semi" (y passed to
  PyOD's ``fit``) for classes whose ``fit(X, y)`` requires y (DevNet, XGBOD), "unsupervised" otherwise.
- **Scores** = PyOD's ``decision_function`` (PyOD's sign is already higher = more anomalous).
- **Device**: classes taking a ``device`` argument (PyOD's torch models) get ``device_`` when it is left
  at None; they declare ``uses_gpu``.
- **Reports**: one ``{"stage": "fit", "epoch": 1, "iteration": 1, "loss": 0.0, ["val_auc"]}`` after
  fitting (PyOD exposes no per-epoch hook; 0.0 keeps the column numeric, as in ``iforest.py``).
- **State**: ``get_state()`` holds no model: a pickled model in a checkpoint would run code when a copied or
  shared results folder is resumed. A resumed fit refits from its seed (``random_state``) without
  reporting the epoch again.

PyOD is imported only when a ``pyod:`` method is used: ``pip install pyod`` (adray's ``pyod`` extra).
Class names are found by scanning ``pyod/models/*.py`` for detector classes, so only the module that
holds the requested class is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from adray.detectors.base import BaseDetector, NotFittedError
from adray.errors import AdrayError, UnknownNameError

PREFIX = "pyod:"
SEED_PARAM = "random_state"
DEFAULT_OVERRIDES = {"verbose": 0}
# required constructor arguments adray fills from the (flattened) training data when left at None
FROM_DATA = {"n_features": lambda flat: int(flat.shape[1])}
# training-length arguments set to 1 by ``smoke_params`` (tests and ``--smoke``)
EPOCH_PARAMS = ("epochs", "epoch_num", "n_epochs", "stop_epochs", "epochs_query")
_DETECTOR_CLASS = re.compile(r"^class\s+(\w+)\s*\(\s*(?:BaseDetector|BaseDeepLearningDetector)\b", re.MULTILINE)
_CACHE: dict[str, type[BaseDetector]] = {}
_INDEX: dict[str, str] | None = None


def _pyod_models_dir() -> Path:
    spec = importlib.util.find_spec("pyod")
    if spec is None or not spec.submodule_search_locations:
        raise AdrayError("the pyod: methods need PyOD: pip install pyod (or adray's extra: pip install 'adray[pyod]')")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def available() -> dict[str, str]:
    """{PyOD detector class name: module} found in the installed PyOD (no model module is imported)."""
    global _INDEX
    if _INDEX is None:
        index = {}
        for path in sorted(_pyod_models_dir().glob("*.py")):
            for name in _DETECTOR_CLASS.findall(path.read_text(encoding="utf-8", errors="replace")):
                if not name.startswith("Base"):
                    index.setdefault(name, f"pyod.models.{path.stem}")
        _INDEX = index
    return _INDEX


def _find_class(name: str) -> type:
    index = available()
    if name not in index:
        folded = {k.lower(): k for k in index}
        if name.lower() not in folded:
            some = ", ".join(sorted(index)[:25])
            raise UnknownNameError(f"PyOD has no detector {name!r}; valid names include: {some}, ... "
                                   f"(method names look like 'pyod:ECOD')")
        name = folded[name.lower()]
    try:
        return getattr(importlib.import_module(index[name]), name)
    except ImportError as exc:
        raise AdrayError(f"PyOD's {name} ({index[name]}) cannot be imported: {exc}; install what it needs") from exc


def pyod_detector(name: str) -> type[BaseDetector]:
    """The adray detector class wrapping PyOD class ``name`` ("ECOD", "IForest", ...; "pyod:" is optional)."""
    name = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if name in _CACHE:
        return _CACHE[name]
    pyod_cls = _find_class(name)
    name = pyod_cls.__name__
    if name in _CACHE:
        return _CACHE[name]
    signature = inspect.signature(pyod_cls.__init__)
    params = [p for p in signature.parameters.values()
              if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    takes_seed = any(p.name == SEED_PARAM for p in params)
    required = tuple(p.name for p in params if p.default is p.empty and p.name != SEED_PARAM)
    hyper = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                               default=DEFAULT_OVERRIDES.get(p.name, p.default if p.default is not p.empty else None))
             for p in params if p.name != SEED_PARAM]
    fit_params = inspect.signature(pyod_cls.fit).parameters
    if "edge_index" in fit_params:
        raise AdrayError(f"PyOD's {name} is a graph detector: it scores the nodes of a graph given with its edges "
                         f"(edge_index), and adray's datasets are rows of features; choose a detector for tables")
    needs_y = "y" in fit_params and fit_params["y"].default is inspect.Parameter.empty
    takes_device = any(p.name == "device" for p in hyper)

    def __init__(self, **kwargs: Any) -> None:
        bound = __init__.__signature__.bind(self, **kwargs)  # TypeError for unknown names, like a real __init__
        bound.apply_defaults()
        for key, value in list(bound.arguments.items())[1:]:
            setattr(self, key, value)

    __init__.__signature__ = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                                                *hyper])
    cls = type(f"PyOD{name}", (PyODDetector,), {
        "__init__": __init__, "__module__": __name__, "__doc__": f"PyOD's {name} (see adray.detectors.pyod_adapter).",
        "pyod_name": name, "pyod_class": pyod_cls, "takes_seed": takes_seed, "takes_device": takes_device,
        "supervision": "semi" if needs_y else "unsupervised", "uses_gpu": takes_device, "required": required,
        "smoke_params": {p.name: 1 for p in hyper if p.name in EPOCH_PARAMS and isinstance(p.default, int)},
        "summary": f"PyOD's {name}",
        # a class whose fit requires y learns from labelled anomalies: the setting with 20 of them
        "requires_known_anomalies": needs_y,
        "default_dataset": "breast_cancer" if needs_y else "breast_cancer:unsupervised",
    })
    _CACHE[name] = cls
    return cls


def _rebuild(name: str, attributes: dict) -> BaseDetector:
    detector = pyod_detector(name).__new__(pyod_detector(name))
    detector.__dict__.update(attributes)
    return detector


class PyODDetector(BaseDetector):
    """Base of the generated wrappers (one subclass per PyOD class, made by :func:`pyod_detector`)."""

    pyod_name: ClassVar[str] = ""
    pyod_class: ClassVar[type | None] = None
    takes_seed: ClassVar[bool] = False
    takes_device: ClassVar[bool] = False
    required: ClassVar[tuple[str, ...]] = ()  # PyOD arguments without a default
    # one configuration, PyOD's defaults (the wrapper's constructor defaults), on a tabular embedded set
    default_grid: ClassVar[dict[str, list]] = {}
    default_dataset: ClassVar[str] = "breast_cancer:unsupervised"

    def __reduce__(self):  # generated classes are not importable by name: pickle by PyOD name
        return _rebuild, (self.pyod_name, dict(self.__dict__))

    def _resolve_device(self, device: str) -> str:
        super()._resolve_device(device)
        if device != "cpu" and self.takes_device:
            import torch

            if torch.cuda.is_available():
                return device
        return "cpu"

    def _fit(self, X, y, subclass, X_val, y_val, callbacks, state) -> None:
        flat = X.reshape(len(X), -1)
        kwargs = self.get_params()
        self.filled_params_ = self._fill_from_data(kwargs, flat)
        kwargs.update(self.filled_params_)
        if self.takes_seed:
            kwargs[SEED_PARAM] = self.seed_
        if self.takes_device and kwargs.get("device") is None:
            kwargs["device"] = self.device_
        try:
            detector = self.pyod_class(**kwargs)
            self.detector_ = detector.fit(flat, y) if self.supervision == "semi" else detector.fit(flat)
        except ImportError as exc:  # some classes import their optional packages only now (AudioAE)
            raise AdrayError(f"PyOD's {self.pyod_name} needs a package that is not installed: {exc}") from exc
        self.detector_ = self.detector_ if self.detector_ is not None else detector
        if state is not None:  # the epoch was reported before the checkpoint: refit, report nothing
            return
        report = {"stage": "fit", "epoch": 1, "iteration": 1, "loss": 0.0}
        if X_val is not None:
            report.update(self._validation(X_val, y_val))
        self._report(callbacks, report)

    def _fill_from_data(self, kwargs: dict, flat: np.ndarray) -> dict:
        """Values for the required PyOD arguments left at None, taken from the training data."""
        filled = {}
        for name in self.required:
            if kwargs.get(name) is not None:
                continue
            if name not in FROM_DATA:
                raise AdrayError(
                    f"PyOD's {self.pyod_name} needs the argument {name!r}, which adray cannot take from the data; "
                    f"set it in Python, e.g. build('pyod:{self.pyod_name}', {name}=...)"
                )
            filled[name] = FROM_DATA[name](flat)
        return filled

    def _decision(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.detector_.decision_function(X.reshape(len(X), -1)), dtype=np.float64)

    def get_state(self) -> dict:
        if not hasattr(self, "detector_"):
            raise NotFittedError(f"this {type(self).__name__} has no state yet: call fit(X, ...) first")
        return {**self._state_header(), "stage": "fit", "stage_index": 0, "epoch": 1, "iteration": 1}
