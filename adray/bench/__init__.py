"""adray's benchmarks: each measures one thing side by side in one run, prints a table and writes a CSV.

    adray bench                      # the list, one line each
    adray bench NAME [ARGS]          # one benchmark (adray bench NAME --help for its arguments)
    adray bench all                  # the suite (``suite``)
    python -m adray.bench.NAME [ARGS]

The CSVs go to ``results/bench/`` (see
:func:`adray.bench.common.results_dir`). Listing reads each module's docstring without importing
it, so ``adray bench`` stays instant although the benchmarks import torch and Ray.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

from adray.errors import UnknownNameError

# the order of the list: the suite, what it runs, then the benchmarks run on their own
NAMES = ("suite", "overhead", "data", "gpu", "report", "scale", "search", "detectors", "baselines", "amsl",
         "r2ad2_gradients")
ALIASES = {"all": "suite"}


def resolve(name: str) -> str:
    """The module name of a benchmark (``all`` is the suite); an unknown name lists the valid ones."""
    module = ALIASES.get(name, name)
    if module not in NAMES:
        raise UnknownNameError(f"no benchmark {name!r}; use one of: all, {', '.join(NAMES)} (adray bench lists them)")
    return module


def summary(name: str) -> str:
    """The first line of a benchmark's docstring, read from its source (nothing is imported)."""
    spec = importlib.util.find_spec(f"{__name__}.{resolve(name)}")
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def listing() -> str:
    """One line per benchmark, as ``adray bench`` prints it."""
    shown = {"suite": "all"}
    width = max(len(shown.get(n, n)) for n in NAMES)
    lines = [f"  {shown.get(n, n):<{width}}  {summary(n)}" for n in NAMES]
    return "\n".join(["benchmarks (adray bench NAME [--help]; python -m adray.bench.NAME):", *lines])


def run(name: str, argv: list[str]) -> int:
    """Run one benchmark's ``main`` with its own arguments; its exit code."""
    module = importlib.import_module(f"{__name__}.{resolve(name)}")
    return int(module.main(list(argv)) or 0)
