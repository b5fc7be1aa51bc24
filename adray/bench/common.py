"""What every benchmark shares: where its CSV goes, the table it prints, the CSV it writes."""

from __future__ import annotations

import csv
from pathlib import Path

from adray.tables import format_table


def results_dir() -> Path:
    """``results/bench/`` of the source checkout this package runs from (wherever the command is
    started), else of the working directory (an installed package)."""
    checkout = Path(__file__).resolve().parents[2]
    root = checkout if (checkout / "pyproject.toml").exists() else Path.cwd()
    return root / "results" / "bench"


def print_table(rows: list[dict], columns: list[str]) -> None:
    print(format_table(rows, columns))


def write_csv(path: str | Path, rows: list[dict], extra: dict | None = None) -> Path:
    """Write ``rows`` (each updated with ``extra``, e.g. the machine) to ``path``; returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**r, **(extra or {})} for r in rows]
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")
    return path

