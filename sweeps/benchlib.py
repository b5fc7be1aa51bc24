"""Shared output of the benchmark scripts: an aligned table on stdout and the same rows as CSV."""

from __future__ import annotations

import csv
from pathlib import Path


def print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns).rstrip())


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
