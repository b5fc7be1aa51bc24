"""A3 – Activation Anomaly Analysis (SEEDS.md §1); see :mod:`adray.detectors.a3.detector`."""

from adray.detectors.a3.detector import A3

__all__ = ["A3"]
