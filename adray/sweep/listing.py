"""What `adray methods` prints and the README's methods table, both read from each detector's declaration.

Nothing about a method is written here: its summary, supervision, default dataset and grid are class
attributes (see :class:`~adray.detectors.base.BaseDetector`), so the listing cannot drift from what a
sweep runs. A test holds the README's table to :func:`markdown_table`.
"""

from __future__ import annotations

import inspect
import math

from adray.detectors import PYOD_PREFIX, REGISTRY, get, names

PYOD_LINE = (f"Any PyOD detector runs as {PYOD_PREFIX}<Name>, e.g. {PYOD_PREFIX}ECOD (pip install pyod): "
             "PyOD's defaults as one configuration, on breast_cancer (unsupervised setting; the default "
             "one, with known anomalies, when its fit needs y).")


def summary_of(cls) -> str:
    """The declared one-line summary, else the first line of the class docstring."""
    doc = inspect.getdoc(cls) or ""
    return cls.summary or (doc.splitlines()[0] if doc else "")


def supervision_of(cls) -> str:
    return cls.supervision + (" (needs known anomalies)" if cls.requires_known_anomalies else "")


def grid_size(cls) -> int:
    """Configurations in the default grid ({} is one: the constructor's defaults)."""
    return math.prod(len(values) for values in cls.default_grid.values())


def methods_text() -> str:
    """`adray methods`: every registered detector (plug-ins included), then how to run any PyOD detector."""
    lines = []
    for name in names():
        cls = get(name)
        params = inspect.signature(cls.__init__).parameters
        defaults = ", ".join(f"{k}={p.default!r}" for k, p in params.items() if k != "self")
        size = grid_size(cls)
        lines += [
            f"{name}: {summary_of(cls)}",
            f"  supervision: {supervision_of(cls)}; GPU: {'yes' if cls.uses_gpu else 'no'}; "
            f"default dataset: {cls.default_dataset}",
            f"  default grid ({size} configuration{'s' if size != 1 else ''}): "
            f"{cls.default_grid or 'the defaults below'}",
            f"  hyperparameters: {defaults}",
        ]
    return "\n".join([*lines, "", PYOD_LINE])


def _dataset_cell(default_dataset: str) -> str:
    from adray.sweep.request import split_dataset_arg

    dataset, setting = split_dataset_arg(default_dataset)
    return f"`{dataset}` ({setting or 'default'})"


def markdown_table() -> str:
    """The README's methods table: adray's own detectors in registry order, then the PyOD row."""
    rows = ["| name | method | supervision | default dataset (setting) |", "|---|---|---|---|"]
    for name in REGISTRY:
        cls = get(name)
        rows.append(f"| `{name}` | {summary_of(cls)} | {supervision_of(cls)} | {_dataset_cell(cls.default_dataset)} |")
    rows.append(f"| `{PYOD_PREFIX}<Name>` | any PyOD detector (`pip install -e \".[pyod]\"`), PyOD's defaults as one "
                "configuration | as PyOD (semi when its fit needs y) | `breast_cancer` (unsupervised; default when "
                "semi) |")
    return "\n".join(rows)
