"""Plain-text tables for the terminal (``adray datasets``, the benchmarks): one function, one look.

The report's tables (means ± std, bold bests, p-values) are :mod:`adray.analysis.tables`; this module
only lines up cells that are already text or numbers, and imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def format_table(rows: Sequence[Mapping | Sequence], columns: Sequence[str], markdown: bool = False) -> str:
    """``rows`` under the header ``columns``: each row a mapping (a missing key is an empty cell) or a
    sequence in column order.

    By default the columns are padded to line up, with a rule under the header (readable in a
    terminal, and each line starts with its first cell, so ``line.split()[0]`` finds a row). With
    ``markdown=True`` it is a Markdown pipe table instead, cells unpadded, ready to paste into a README.
    """
    cells = [[str(c) for c in columns]]
    for row in rows:
        values = [row.get(c, "") for c in columns] if isinstance(row, Mapping) else list(row)
        cells.append([str(v) for v in values])
    if markdown:
        lines = ["| " + " | ".join(line) + " |" for line in cells]
        return "\n".join([lines[0], "|---" * len(columns) + "|", *lines[1:]])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
