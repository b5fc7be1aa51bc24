"""GANDI: a GAN's discriminator as an anomaly detector (adray/detectors/gandi/README.md); see :mod:`.detector`."""

from adray.detectors.gandi.detector import GANDI

__all__ = ["GANDI"]
