"""A3 – Activation Anomaly Analysis (adray/detectors/a3/README.md); see :mod:`adray.detectors.a3.detector`."""

from adray.detectors.a3.detector import A3

__all__ = ["A3"]
