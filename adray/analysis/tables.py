"""Result tables in Markdown, LaTeX and CSV: methods x datasets, an average column, a p-value column.

Why three formats from one model: Markdown for the report folder and the terminal, LaTeX in the
seeds' style for papers (``$.93 \\scriptscriptstyle \\pm .01$``, "0." written ".", as ARGUE's), CSV
with the unrounded numbers for anything else. One table per setting group (pollution, known
anomalies), as the seeds' tables had one column block per pollution level.

Cells are "mean ± std" over seeds of the configuration chosen on validation, 2 decimals; std is
left out when n = 1 or with ``std=False``; ``†`` marks a cell with fewer ok seeds than the sweep
ran (see merged.csv, seeds_missing); ``-`` is no value. The best value per column (highest, compared
at the 2 decimals shown, so ties are all bold) is bold. "mean" is the average of a method's
dataset means (over the datasets it has). "p" is the seeds' two-sided paired Wilcoxon p-value of the
reference vs that method across datasets, unadjusted as the seeds printed it (Holm-adjusted values
are in stats.csv and main.csv); when n pairs cannot reach p < 0.05 the cell says ``n=N too small``.
"""

from __future__ import annotations

import html
import io
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from adray.analysis import stats as stats_mod
from adray.analysis.collect import group_order

MISSING = "-"
INCOMPLETE_MARK = "†"
FLAGGED_MARK = "‡"
AVERAGE, PVALUE = "mean", "p"


@dataclass
class GroupTable:
    """The numbers behind one table (one metric, one setting group); rows are methods."""

    metric: str
    group: str
    reference: str | None
    mean: pd.DataFrame  # methods x units
    std: pd.DataFrame
    incomplete: pd.DataFrame  # methods x units, bool: fewer ok seeds than expected
    flagged: pd.DataFrame  # methods x units, bool: an ok seed's result is degenerate
    average: pd.Series
    p: pd.Series | None = None  # per method; NaN for the reference
    p_holm: pd.Series | None = None
    p_note: pd.Series | None = None  # "n=4 too small" where p cannot reach 0.05
    notes: list[str] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        return list(self.mean.index)

    @property
    def units(self) -> list[str]:
        return list(self.mean.columns)


def build_tables(cells: pd.DataFrame, stats: pd.DataFrame | None, metric: str,
                 reference: str | None) -> list[GroupTable]:
    """One :class:`GroupTable` per setting group from merged seeds (with ``unit``) and stats.csv rows."""
    part = cells[(cells["metric"] == metric) & (cells["split"] == "test")]
    tables = []
    for group in group_order(part["group"]):
        g = part[part["group"] == group]
        mean = g.pivot_table(index="method", columns="unit", values="mean", aggfunc="first", dropna=False)
        std = g.pivot_table(index="method", columns="unit", values="std", aggfunc="first", dropna=False)
        short = g.assign(short=g["n_ok"] < g["n_expected"])
        incomplete = short.pivot_table(index="method", columns="unit", values="short", aggfunc="any",
                                       fill_value=False).astype(bool)
        units = sorted(g["unit"].unique())
        methods = sorted(g["method"].unique())
        mean = mean.reindex(index=methods, columns=units).astype(float)
        std = std.reindex(index=methods, columns=units).astype(float)
        incomplete = incomplete.reindex(index=methods, columns=units, fill_value=False)
        marked = g.assign(marked=g.get("n_flagged", pd.Series(0, index=g.index)).fillna(0) > 0)
        flagged = marked.pivot_table(index="method", columns="unit", values="marked", aggfunc="any",
                                     fill_value=False).astype(bool).reindex(index=methods, columns=units,
                                                                            fill_value=False)
        table = GroupTable(metric, group, reference, mean, std, incomplete, flagged, mean.mean(axis=1, skipna=True))
        lacking = {m: [u for u in units if not np.isfinite(mean.at[m, u])] for m in methods}
        lacking = {m: u for m, u in lacking.items() if u}
        if lacking:
            table.notes.append("mean is over the datasets a method has; missing: " + "; ".join(
                f"{m}: {', '.join(u)}" for m, u in lacking.items()))
        if incomplete.to_numpy().any():
            table.notes.append(f"{INCOMPLETE_MARK} fewer ok seeds than the sweep asked for (failed, incomplete or not "
                               "started; merged.csv: seeds_missing)")
        if flagged.to_numpy().any():
            table.notes.append(f"{FLAGGED_MARK} a seed's result is degenerate: tied scores or a one-class split "
                               "(merged.csv: seeds_flagged)")
        if reference is not None and reference in methods and stats is not None and len(stats):
            rows = stats[(stats["test"] == stats_mod.ACROSS) & (stats["metric"] == metric)
                         & (stats["group"] == group)].set_index("method")
            table.p = rows["p"].reindex(methods).astype(float)
            table.p_holm = rows["p_holm"].reindex(methods).astype(float)
            table.p_note = pd.Series({m: _p_note(rows, m) for m in methods})
            table.notes.append(f"p: two-sided paired Wilcoxon signed-rank test of {reference} vs each method across "
                               "datasets (seed means), unadjusted; Holm-adjusted in stats.csv")
        tables.append(table)
    return tables


def _p_note(rows: pd.DataFrame, method: str) -> str | None:
    if method not in rows.index:
        return None
    n = rows.at[method, "n_nonzero"]
    return f"n={int(n)} too small" if pd.notna(n) and stats_mod.too_small(int(n)) and int(n) > 0 else None


# ---------------------------------------------------------------------------------------------- cells

def number(value: float) -> str:
    return MISSING if value is None or not np.isfinite(value) else f"{value:.2f}"


def p_text(p: float, note: str | None) -> str:
    if isinstance(note, str) and note:
        return note
    if p is None or not np.isfinite(p):
        return MISSING
    return f"{p:.2f}" if p >= 0.01 else f"{p:.0e}"


def _best(values: pd.Series) -> set:
    """Labels holding the highest value at 2 decimals (so displayed ties are all bold)."""
    rounded = values.astype(float).round(2)
    if not np.isfinite(rounded).any():
        return set()
    top = rounded.max()
    return set(rounded.index[rounded == top])


@dataclass
class _Cell:
    mean: float
    std: float = math.nan
    incomplete: bool = False
    flagged: bool = False
    bold: bool = False
    text: str | None = None  # a non-numeric cell (p-values, notes)


def _grid(table: GroupTable, std: bool, transpose: bool) -> tuple[list[str], list[str], list[list[_Cell]], str]:
    """(row labels, column labels, cells, corner label) in display orientation."""
    columns = table.units + [AVERAGE]
    body = {m: {u: _Cell(table.mean.at[m, u], table.std.at[m, u] if std else math.nan,
                         bool(table.incomplete.at[m, u]), bool(table.flagged.at[m, u])) for u in table.units}
            for m in table.methods}
    for m in table.methods:
        body[m][AVERAGE] = _Cell(table.average[m])
    for col in columns:
        best = _best(pd.Series({m: body[m][col].mean for m in table.methods}))
        for m in best:
            body[m][col].bold = True
    if table.p is not None:
        columns.append(PVALUE)
        for m in table.methods:
            body[m][PVALUE] = _Cell(table.p[m], text=p_text(table.p[m], table.p_note[m]))
    rows = table.methods
    cells = [[body[r][c] for c in columns] for r in rows]
    corner = "method"
    if transpose:
        rows, columns, cells, corner = columns, rows, [list(col) for col in zip(*cells, strict=True)], "dataset"
    return rows, columns, cells, corner


def _title(table: GroupTable, std: bool) -> str:
    return (f"test {table.metric.upper()} ({table.group}); configuration chosen on validation "
            f"{table.metric.upper()}; {'mean ± std' if std else 'mean'} over seeds")


# ------------------------------------------------------------------------------------------ markdown

def _md_cell(cell: _Cell) -> str:
    if cell.text is not None:
        return cell.text
    text = number(cell.mean)
    if text != MISSING and np.isfinite(cell.std):
        text += f" ± {cell.std:.2f}"
    if cell.bold and text != MISSING:
        text = f"**{text}**"
    return text + (INCOMPLETE_MARK if cell.incomplete else "") + (FLAGGED_MARK if cell.flagged else "")


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def to_markdown(tables: list[GroupTable], std: bool = True, transpose: bool = False) -> str:
    """One "### title" section and pipe table per group, notes below each."""
    parts = []
    for table in tables:
        rows, columns, cells, corner = _grid(table, std, transpose)
        lines = [f"### {_title(table, std)}", "",
                 "| " + " | ".join(_md_escape(c) for c in [corner, *columns]) + " |",
                 "|" + "---|" + ":---:|" * len(columns)]
        for label, row in zip(rows, cells, strict=True):
            lines.append("| " + " | ".join([_md_escape(label), *(_md_cell(c) for c in row)]) + " |")
        if table.notes:
            lines += [""] + [f"- {note}" for note in table.notes]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------- html

def _html_cell(cell: _Cell) -> str:
    if cell.text is not None:
        return html.escape(cell.text)
    text = number(cell.mean)
    if text != MISSING and np.isfinite(cell.std):
        text += f" ± {cell.std:.2f}"
    text = html.escape(text)
    if cell.bold and text != MISSING:
        text = f"<strong>{text}</strong>"
    return text + (INCOMPLETE_MARK if cell.incomplete else "") + (FLAGGED_MARK if cell.flagged else "")


def to_html(tables: list[GroupTable], std: bool = True, transpose: bool = False) -> str:
    """The Markdown tables as HTML (for the report page): a heading, a ``<table>`` and the notes per group."""
    parts = []
    for table in tables:
        rows, columns, cells, corner = _grid(table, std, transpose)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [corner, *columns])
        body = "".join(f"<tr><th>{html.escape(str(label))}</th>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row)
                       + "</tr>" for label, row in zip(rows, cells, strict=True))
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in table.notes)
        parts.append(f'<h3>{html.escape(_title(table, std))}</h3>\n<table class="main"><thead><tr>{head}</tr>'
                     f"</thead><tbody>{body}</tbody></table>" + (f'\n<ul class="notes">{notes}</ul>' if notes else ""))
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------- latex

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def drop_leading_zero(text: str) -> str:
    """The seeds' style: "0.93" -> ".93" (only a lone leading zero, so 10.5 stays 10.5)."""
    return re.sub(r"(?<![\d.])0\.(?=\d)", ".", text)


def _tex_cell(cell: _Cell) -> str:
    if cell.text is not None:
        return drop_leading_zero(latex_escape(cell.text))
    if not np.isfinite(cell.mean):
        return MISSING
    body = drop_leading_zero(f"{cell.mean:.2f}")
    if np.isfinite(cell.std):
        body += r" \scriptscriptstyle \pm " + drop_leading_zero(f"{cell.std:.2f}")
    text = f"${body}$"
    if cell.bold:
        text = r"\textbf{\boldmath" + text + "}"
    marks = (r"\dag" if cell.incomplete else "") + (r"\ddag" if cell.flagged else "")
    return text + (r"\textsuperscript{" + marks + "}" if marks else "")


def to_latex(tables: list[GroupTable], std: bool = True, transpose: bool = False) -> str:
    """One booktabs ``tabular`` per group, preceded by a comment line naming it."""
    parts = []
    for table in tables:
        rows, columns, cells, corner = _grid(table, std, transpose)
        lines = [f"% {_title(table, std)}".replace("±", "+-"),
                 "% best per column in bold; \\dag: fewer seeds than expected; \\ddag: a degenerate seed; "
                 "needs \\usepackage{booktabs}",
                 r"\begin{tabular}{l" + "c" * len(columns) + "}", r"\toprule",
                 " & ".join(latex_escape(c) for c in [corner, *columns]) + r" \\", r"\midrule"]
        for label, row in zip(rows, cells, strict=True):
            lines.append(" & ".join([latex_escape(label), *(_tex_cell(c) for c in row)]) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        lines += [f"% {note}".replace(INCOMPLETE_MARK, "\\dag").replace(FLAGGED_MARK, "\\ddag")
                  for note in table.notes]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


# ----------------------------------------------------------------------------------------------- csv

def to_frame(tables: list[GroupTable], std: bool = True, transpose: bool = False) -> pd.DataFrame:
    """Unrounded numbers: per group, rows methods, columns <unit> (mean) and "<unit> std", mean, p, p_holm.

    Transposed: rows units (and "mean", "p", "p_holm"), columns <method> and "<method> std".
    """
    frames = []
    for table in tables:
        wide = {}
        for unit in table.units:
            wide[unit] = table.mean[unit]
            if std:
                wide[f"{unit} std"] = table.std[unit]
        wide[AVERAGE] = table.average
        if table.p is not None:
            wide[PVALUE] = table.p
            wide["p_holm"] = table.p_holm
        frame = pd.DataFrame(wide, index=table.methods)
        if transpose:
            means = frame[[*table.units, AVERAGE] + ([PVALUE, "p_holm"] if table.p is not None else [])].T
            out = {}
            for m in table.methods:
                out[m] = means[m]
                if std:
                    out[f"{m} std"] = table.std.T[m].reindex(means.index)
            frame = pd.DataFrame(out, index=means.index)
            frame.index.name = "dataset"
        else:
            frame.index.name = "method"
        frame = frame.reset_index()
        frame.insert(0, "group", table.group)
        frame.insert(0, "metric", table.metric)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def to_csv(tables: list[GroupTable], std: bool = True, transpose: bool = False) -> str:
    buffer = io.StringIO()
    to_frame(tables, std, transpose).to_csv(buffer, index=False)
    return buffer.getvalue()


RENDERERS = {"md": to_markdown, "latex": to_latex, "csv": to_csv}
SUFFIX = {"md": "md", "latex": "tex", "csv": "csv"}


# ------------------------------------------------------------------------------------ metrics side by side

LABELS = {"auc": "AUC", "ap": "AP", "accuracy": "Acc", "precision": "Pre", "recall": "Rec", "f1": "F1",
          "precision_macro": "mPre", "recall_macro": "mRec", "f1_macro": "mF1"}


def metrics_frame(cells: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per (group, method, dataset unit): test mean and std of each metric, side by side (the
    chosen configuration is the same for every metric: the one chosen for the report's main metric)."""
    test = cells[(cells["split"] == "test") & cells["metric"].isin(metrics)]
    if test.empty:
        return pd.DataFrame(columns=["group", "method", "unit", "n", *metrics])
    wide = test.pivot_table(index=["group", "method", "unit"], columns="metric", values=["mean", "std"],
                            aggfunc="first", dropna=False)
    out = pd.DataFrame(index=wide.index)
    for metric in metrics:
        out[metric] = wide["mean"].get(metric, np.nan)
        out[f"{metric} std"] = wide["std"].get(metric, np.nan)
    n = test.groupby(["group", "method", "unit"])["n"].max()
    out.insert(0, "n", n.reindex(out.index))
    return out.reset_index()


def metrics_markdown(frame: pd.DataFrame, metrics: list[str]) -> str:
    """``| method | dataset | n | mPre | mRec | ... |`` per setting group, mean ± std over seeds."""
    parts = []
    for group in group_order(frame["group"]):
        header = ["method", "dataset", "n", *(LABELS.get(m, m) for m in metrics)]
        lines = [f"### test metrics ({group}); configuration as in the main table", "",
                 "| " + " | ".join(header) + " |", "|---|---|---:|" + ":---:|" * len(metrics)]
        for row in frame[frame["group"] == group].to_dict("records"):
            cells = [_mean_std(row[m], row[f"{m} std"]) for m in metrics]
            n = "-" if pd.isna(row["n"]) else str(int(row["n"]))
            lines.append(f"| {_md_escape(row['method'])} | {_md_escape(row['unit'])} | {n} | " + " | ".join(cells)
                         + " |")
        lines += ["", "- " + ", ".join(f"{LABELS.get(m, m)} = {m}" for m in metrics)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _mean_std(mean: float, std: float) -> str:
    text = number(mean)
    return text + (f" ± {std:.2f}" if text != MISSING and std is not None and np.isfinite(std) else "")
