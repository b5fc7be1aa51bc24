"""ARGUE and A4RGUE (SEEDS.md §2); see :mod:`adray.detectors.argue.detector`."""

from adray.detectors.argue.detector import ARGUE

__all__ = ["ARGUE"]

