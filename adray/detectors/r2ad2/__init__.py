"""R2-AD2 (Raw gRADient Anomaly Detection, SEEDS.md §3): registry name ``"r2ad2"``."""

from adray.detectors.r2ad2.detector import R2AD2

__all__ = ["R2AD2"]
