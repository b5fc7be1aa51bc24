"""AMSL: Adaptive Memory networks with Self-supervised Learning; see README.md and :mod:`.detector`."""

from adray.detectors.amsl.detector import AMSL

__all__ = ["AMSL"]
