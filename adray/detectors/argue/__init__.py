"""ARGUE and A4RGUE (adray/detectors/argue/README.md); see :mod:`adray.detectors.argue.detector`."""

from adray.detectors.argue.detector import ARGUE

__all__ = ["ARGUE"]

