"""A sweep without Ray: what to run (request), the record of it (ledger), its folder, and one trial.

- :mod:`adray.sweep.request`: the user's request, checked and expanded into trial configurations;
- :mod:`adray.sweep.ledger`: ``<sweep>/sweep.json``, the request and every trial it asked for;
- :mod:`adray.sweep.folder`: sweep names, the one-writer lock, free space;
- :mod:`adray.sweep.trial`: one trial end to end (split, scale, fit, evaluate, artifacts);
- :mod:`adray.sweep.checkpoint`: trial checkpoints that load without running code.

The Ray side (scheduling these trials as Tune trials) is :mod:`adray.tune`. Nothing here imports Ray.
"""
