"""adray: Ray-distributed sweeps of anomaly detectors over seeded experimental settings."""

__version__ = "0.1.0"
