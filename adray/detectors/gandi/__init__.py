"""GANDI: a GAN's discriminator as an anomaly detector (SEEDS.md §5); see :mod:`.detector`."""

from adray.detectors.gandi.detector import GANDI

__all__ = ["GANDI"]
