"""Detector registry: an explicit name -> "module:Class" map, imported lazily.

Importing this package imports neither torch nor Ray; a detector's module (and torch with it) is
imported only when :func:`get` or :func:`build` asks for it, so an IForest-only sweep needs no torch.

>>> from adray import detectors
>>> detectors.names()
['ae', 'iforest']
>>> det = detectors.build("iforest", n_estimators=50)
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from adray.detectors.base import BaseDetector, EpochCallback, NotFittedError
from adray.errors import UnknownNameError

__all__ = ["BaseDetector", "EpochCallback", "NotFittedError", "build", "get", "names"]

REGISTRY: dict[str, str] = {
    "ae": "adray.detectors.ae:AutoEncoder",
    "iforest": "adray.detectors.iforest:IForest",
    "a3": "adray.detectors.a3:A3",
    "argue": "adray.detectors.argue:ARGUE",
    "amsl": "adray.detectors.amsl:AMSL",
    "deepsvdd": "adray.detectors.deepsvdd:DeepSVDD",
    "deepsad": "adray.detectors.deepsad:DeepSAD",
    "devnet": "adray.detectors.devnet:DevNet",
    "repen": "adray.detectors.repen:REPEN",
    "gandi": "adray.detectors.gandi:GANDI",
    "r2ad2": "adray.detectors.r2ad2:R2AD2",
    "dagmm": "adray.detectors.dagmm:DAGMM",
    "gradcon": "adray.detectors.gradcon:GradCon",
    "fanogan": "adray.detectors.fanogan:FAnoGAN",
    "mexcvae": "adray.detectors.mexcvae:MExCVAE",
    "ganomaly": "adray.detectors.ganomaly:GANomaly",
}

# Plug-ins: ADRAY_DETECTORS="name=package.module:Class,..." adds detectors without editing adray. Ray
# workers inherit the variable from the driver that started Ray, so plug-ins work in sweeps too.
PLUGIN_ENV = "ADRAY_DETECTORS"


def _plugins() -> dict[str, str]:
    entries = [e.strip() for e in os.environ.get(PLUGIN_ENV, "").split(",") if e.strip()]
    out = {}
    for entry in entries:
        name, sep, target = entry.partition("=")
        if not sep or ":" not in target:
            raise UnknownNameError(f"{PLUGIN_ENV} entry {entry!r} must look like name=package.module:Class")
        out[name.strip()] = target.strip()
    return out

# Names of the form "pyod:<Name>" (e.g. "pyod:ECOD") resolve to an adapter wrapping that PyOD class
# behind BaseDetector (adray.detectors.pyod_adapter; PyOD is an optional extra, imported only then).
PYOD_PREFIX = "pyod:"


def _registry() -> dict[str, str]:
    return {**REGISTRY, **_plugins()}


def names() -> list[str]:
    """The registered method names (plus plug-ins), sorted."""
    return sorted(_registry())


def get(name: str) -> type[BaseDetector]:
    """The detector class registered as ``name`` (imports its module)."""
    if str(name).startswith(PYOD_PREFIX):
        from adray.detectors.pyod_adapter import pyod_detector

        return pyod_detector(name)
    registry = _registry()
    if name not in registry:
        raise UnknownNameError(f"unknown detector {name!r}; valid: {', '.join(names())}, or pyod:<Name> for any "
                               "PyOD detector")
    module, _, attribute = registry[name].partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise UnknownNameError(
            f"detector {name!r} points to {registry[name]!r}, which cannot be imported: {exc}"
        ) from exc


def build(name: str, **params: Any) -> BaseDetector:
    """``get(name)(**params)``, after checking every hyperparameter name against ``__init__``."""
    cls = get(name)
    cls.check_param_names(params, owner=f"detector {name!r}")
    return cls(**params)
