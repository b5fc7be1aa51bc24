"""Test doubles that real sweeps can run: fake detectors with known behaviour (``adray.testing.detectors``,
registered with ``ADRAY_DETECTORS="sleepy=adray.testing.detectors:Sleepy"``) and synthetic sweep folders
with known answers (``adray.testing.sweeps``). They live in the package, not in tests/, because Ray's
workers and the benchmarks import them too."""
