"""R2-AD2 (Raw gRADient Anomaly Detection; adray/detectors/r2ad2/README.md): registry name ``"r2ad2"``."""

from adray.detectors.r2ad2.detector import R2AD2

__all__ = ["R2AD2"]
