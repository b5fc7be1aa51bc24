"""``report/index.html``: the whole report on one page that opens from disk with no network.

Why one self-contained file: a report gets mailed, copied to a laptop or opened on a cluster's login
node, and a page that fetches a stylesheet, a script, a font or an image breaks in all three. So the
plots are PNGs embedded as base64 ``data:`` URIs, the style is an inline ``<style>``, and there is no
script. The page shows what :func:`adray.analysis.report.make_report` already computed (its frames
and plot files are passed in) and computes nothing itself, so it cannot disagree with the CSV files.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import webbrowser
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from adray import artifacts

PAGE = "index.html"

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em auto;
       max-width: 1400px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .55em; vertical-align: top; }
thead th { background: #f0f0f0; }
table.main td { text-align: center; white-space: nowrap; }
table.main tbody th { text-align: left; }
td.text { min-width: 22em; max-width: 48em; white-space: pre-wrap; word-break: break-word;
          font-family: ui-monospace, monospace; font-size: .88em; }
td.path { max-width: 26em; word-break: break-all; font-size: .82em; color: #555; }
div.wide { overflow-x: auto; }
ul.warnings li { color: #8a4b00; }
ul.notes { font-size: .9em; color: #555; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
nav a { margin-right: 1em; }
.status-error { color: #b00020; font-weight: bold; } .status-incomplete, .status-not-started { color: #8a4b00; }
"""


@dataclass
class Figure:
    """One plot of the page: its setting group, what it shows, and the PNG (None: not drawn, ``why``)."""

    group: str
    caption: str
    path: Path | None = None
    why: str = ""


def _cell(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def frame_table(frame: pd.DataFrame, text_columns=(), status_column: str | None = None,
                path_columns=()) -> str:
    """A DataFrame as an HTML table; ``text_columns`` (messages, JSON) wrap in a monospace cell,
    ``path_columns`` in a small one, and the ``status_column`` is coloured by status."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            css = ' class="text"' if column in text_columns else ' class="path"' if column in path_columns else ""
            if column == status_column:
                css = f' class="status-{re.sub(r"[^a-z]+", "-", str(value))}"'
            cells.append(f"<td{css}>{_cell(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _without_empty(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` without ``column`` when no row has a value there (most methods record no fit info)."""
    empty = column in frame and not frame[column].fillna("").astype(str).str.strip().any()
    return frame.drop(columns=column) if empty else frame


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figures(figures: list[Figure], groups: list[str]) -> str:
    if not figures:
        return "<p>No plots were drawn (<code>plots=False</code>).</p>"
    parts = []
    for group in groups:
        mine = [f for f in figures if f.group == group]
        if not mine:
            continue
        parts.append(f"<h3>{html.escape(group)}</h3>")
        for figure in mine:
            if figure.path is not None and Path(figure.path).exists():
                parts.append(f"<figure>{_image(figure.path, figure.caption)}<figcaption>{html.escape(figure.caption)}"
                             f" (<code>{html.escape(Path(figure.path).name)}</code>)</figcaption></figure>")
            else:
                parts.append(f"<p><em>{html.escape(figure.caption)}: not drawn.</em> {html.escape(figure.why)}</p>")
    return "\n".join(parts)


def _problems(problems: pd.DataFrame) -> str:
    if problems.empty:
        return "<p>None: every trial finished ok.</p>"
    counts = problems["status"].value_counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    shown = pd.DataFrame({
        "status": problems["status"], "method": problems["method"], "dataset": problems["dataset"],
        "setting": problems["setting_name"], "seed": problems["seed"],
        "config": problems["config_id"].map(lambda c: c[:6] if isinstance(c, str) else c),
        "error": problems["error"].map(lambda e: e if isinstance(e, str) and e else "(no message)"),
        "trial folder": problems["trial_dir"].map(lambda d: f"{Path(d).parent.name}/{Path(d).name}"),
    })
    return (f"<p>{len(problems)} trial(s) are not ok: {html.escape(summary)}. Failed trials show the error the trial "
            "recorded; <em>incomplete</em> trials were killed, are still running or have damaged files; "
            "<em>not started</em> trials are in the sweep's ledger with no folder. All of them are in "
            "<code>problems.csv</code>.</p>" + frame_table(shown, text_columns=("error",), status_column="status",
                                                          path_columns=("trial folder",)))


def write_page(path: Path, *, title: str, facts: list[str], warnings: list[str], tables_html: str,
               chosen: pd.DataFrame, problems: pd.DataFrame, figures: list[Figure], groups: list[str],
               files: list[Path], version: str = "") -> Path:
    """Write the page to ``path`` (a temporary name renamed into place) and return ``path``."""
    path = Path(path)
    made = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    links = "".join(f'<li><a href="{html.escape(p.relative_to(path.parent).as_posix())}">'
                    f"{html.escape(p.relative_to(path.parent).as_posix())}</a></li>"
                    for p in files if Path(p).is_relative_to(path.parent))
    sections = [
        ("overview", "Overview", "<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in facts) + "</ul>"
         + ("<h3>Warnings</h3><ul class=\"warnings\">" + "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
            + "</ul>" if warnings else "<p>No warnings.</p>")),
        ("results", "Main table", f'<div class="wide">{tables_html}</div>' if tables_html
         else "<p>No results: no trial finished ok.</p>"),
        ("configurations", "Chosen configurations",
         frame_table(_without_empty(chosen, "fit"), text_columns=("hyperparameters", "fit")) if len(chosen)
         else "<p>None.</p>"),
        ("plots", "Plots", _figures(figures, groups)),
        ("problems", "Problems", _problems(problems)),
        ("files", "Files", f"<ul>{links}</ul>"),
    ]
    nav = "<nav>" + "".join(f'<a href="#{key}">{name}</a>' for key, name, _ in sections) + "</nav>"
    body = "\n".join(f'<h2 id="{key}">{name}</h2>\n{content}' for key, name, content in sections)
    text = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
            f"<p>made {made}{' by adray ' + html.escape(version) if version else ''}</p>\n{nav}\n{body}\n"
            "</body>\n</html>\n")
    artifacts.write_text(path, text)
    return path


def open_page(path: Path) -> bool:
    """Open the page in the user's browser; False (and the path printed by the caller) when there is none.

    Never raises: a report that was written must not fail because no browser could show it.
    """
    try:
        return bool(webbrowser.open(Path(path).resolve().as_uri()))
    except Exception:  # noqa: BLE001 - webbrowser can raise anything its backends raise
        return False
