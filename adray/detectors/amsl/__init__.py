"""AMSL: Adaptive Memory networks with Self-supervised Learning (SEEDS.md §4); see :mod:`.detector`."""

from adray.detectors.amsl.detector import AMSL

__all__ = ["AMSL"]
