"""``make_report``: a sweep folder in, ``<sweep>/report/`` out (tables, stats, plots, summary).

Why one entry point that keeps going: a sweep is rarely perfect (killed trials, a crashed method, a
typo in the reference name), and a report that stops at the first problem hides everything else. So
each step writes what it can, problems become warnings in ``summary.md``, and only input that makes
a report meaningless raises :class:`AdrayError`: a folder with no trials (before anything is
written), a reference method the sweep does not have (raised after the rest is written, listing the
methods present), a metric that is not a score.

Order: collect -> select on validation -> merge seeds -> tests -> tables -> plots -> summary.md and
the page (``index.html``, :mod:`adray.analysis.page`). Several sweep folders are reported as one
(:mod:`adray.analysis.combine`, which refuses folders whose settings or data differ).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from adray import __version__, artifacts
from adray.analysis import page as page_mod
from adray.analysis import tables as tables_mod
from adray.analysis.collect import METRICS, REPORT_DIR, STATUSES, collect, group_order, looks_like_sweep
from adray.analysis.combine import collect_sweeps
from adray.analysis.merge import add_units, merge_seeds
from adray.analysis.select import CELL, select_configs, selected_runs
from adray.analysis.stats import compare
from adray.errors import AdrayError

SCORE_METRICS = tuple(m for m in METRICS if m not in ("threshold", "loss"))  # higher is better
FORMATS = tuple(tables_mod.RENDERERS)
_MAX_LISTED = 30


@dataclass
class ReportResult:
    """What :func:`make_report` produced: the main table text (in ``fmt``), files and warnings."""

    report_dir: Path
    table: str
    fmt: str
    reference: str | None
    metric: str
    methods: list[str]
    counts: dict[str, int]
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def page(self) -> Path:
        """The report as one self-contained HTML page."""
        return self.report_dir / page_mod.PAGE


def _slug(group: str) -> str:
    """``p_contamination=0.01, n_train_anomalies=0`` -> ``p0.01_n0`` (file names)."""
    match = re.match(r"p_contamination=([^,]+), n_train_anomalies=(.+)", group)
    text = f"p{match.group(1)}_n{match.group(2)}" if match else group
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


@dataclass
class _Folder:
    """The report folder being written, with what went into it so far: every step adds its files and
    warnings here, in order, so summary.md and the page list them as they were made."""

    path: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def frame(self, name: str, frame: pd.DataFrame) -> None:
        artifacts.write_frame(self.path / name, frame)
        self.files.append(self.path / name)

    def text(self, name: str, text: str) -> None:
        artifacts.write_text(self.path / name, text)
        self.files.append(self.path / name)


def _check_args(metric: str, fmt: str) -> None:
    if metric not in SCORE_METRICS:
        raise AdrayError(f"metric {metric!r} is not one of the scores trials record: {', '.join(SCORE_METRICS)}")
    if fmt not in FORMATS:
        raise AdrayError(f"format {fmt!r} is unknown; use one of {', '.join(FORMATS)}")


def make_report(sweep_dir, reference: str | None = None, metric: str = "auc", fmt: str = "md",
                std: bool = True, transpose: bool = False, plots: bool = True, columns=None,
                paper: bool = False, out=None) -> ReportResult:
    """Write the report of ``sweep_dir`` into ``sweep_dir/report/`` and return the main table and warnings.

    ``sweep_dir``: a sweep folder, or a list of them reported as one (the first folder's ``report/``
    unless ``out`` names the report folder).

    ``reference``: the method every other is tested against (default: first alphabetically).
    ``metric``: selects configurations (on validation) and fills the main table (on test); any score
    trials record (auc, ap, accuracy, precision, recall, f1 and their macro averages).
    ``fmt``: the format of the returned table (all three are written). ``std=False`` drops "± std".
    ``columns``: metrics to print side by side for the same configurations (``metrics.md``/``.csv``);
    ``paper=True`` adds the metrics each method's paper reports (e.g. AMSL: mPre, mRec, mF1, Acc).
    """
    for name in (metric, *(columns or ())):
        _check_args(name, fmt)
    folders = _folders(sweep_dir)
    name = " + ".join(map(str, folders))
    report = _Folder(Path(out) if out is not None else folders[0] / REPORT_DIR)
    runs = _collect(folders, report)
    report.frame("runs.parquet", runs)
    counts = {s: int((runs["status"] == s).sum()) for s in STATUSES}
    problems = _problems(runs, counts, report)
    methods = sorted(runs["method"].dropna().unique())
    if not methods:
        raise _no_method(report, name, runs, counts, metric, problems)
    reference, reference_error = _reference(reference, methods, report)

    selected, merged, units = _select_and_merge(runs, metric, report)
    chosen = selected_runs(runs, selected)
    per_seed = chosen[chosen["status"] == "ok"].merge(units, on=CELL, how="left")
    comparison = _compare(merged, per_seed, reference, metric, report)
    tables = tables_mod.build_tables(merged, comparison.stats, metric, reference)
    texts = _main_tables(tables, std, transpose, report)
    _side_by_side(merged, [*(columns or ()), *(_paper_metrics(runs) if paper else ())], report)
    searched = _searched(runs, folders)
    figures = _plots(report, merged, per_seed, comparison, metric, searched) if plots else []

    facts, picked = _facts(counts, methods, reference, metric), chosen_frame(selected, chosen)
    report.files.append(_summary(report, name, facts, problems, chosen_lines(picked)))
    report.files.append(_page(report, name, facts, tables_mod.to_html(tables, std=std, transpose=transpose),
                              picked, problems, figures, group_order(merged["group"])))
    _remove_stale(report.path, report.files)
    if reference_error:
        raise AdrayError(reference_error)
    return ReportResult(report_dir=report.path, table=texts[fmt], fmt=fmt, reference=reference, metric=metric,
                        methods=methods, counts=counts, files=report.files, warnings=report.warnings)


def _folders(sweep_dir) -> list[Path]:
    """The sweep folders to report as one: a folder, or a list of them (at least one)."""
    folders = [Path(d) for d in sweep_dir] if isinstance(sweep_dir, list | tuple) else [Path(sweep_dir)]
    if not folders:
        raise AdrayError("no sweep folder given; pass one or more folders such as results/<sweep>")
    return folders


def _collect(folders: list[Path], report: _Folder) -> pd.DataFrame:
    """The runs table of one folder, or of several merged (their warnings go to the report). A sweep
    folder that cannot be read still gets a summary.md saying why, before the error is raised."""
    try:
        runs, warnings = collect_sweeps(folders) if len(folders) > 1 else (collect(folders[0]), [])
    except AdrayError as exc:
        sweep_dir = folders[0]
        if len(folders) == 1 and sweep_dir.is_dir() and looks_like_sweep(sweep_dir):
            artifacts.write_text(report.path / "summary.md", f"# Report of {sweep_dir}\n\nNo report: {exc}\n")
        raise
    report.warnings.extend(warnings)
    return runs


def _problems(runs: pd.DataFrame, counts: dict[str, int], report: _Folder) -> pd.DataFrame:
    """The trials that are not ok (or ok with a degenerate result): problems.csv and the warnings
    that count them; also warns when nothing finished or a configuration cannot be read."""
    flagged = (runs["status"] == "ok") & runs["flags"].notna()
    problems = runs[(runs["status"] != "ok") | flagged].assign(
        status=lambda f: f["status"].where(f["status"] != "ok", "ok, flagged"),
        error=lambda f: f["error"].fillna(f["flags"]))
    problems = problems[["status", "method", "dataset", "setting_name", "seed", "config_id", "error", "trial_dir"]]
    if len(problems):
        report.frame("problems.csv", problems)
        report.warnings.append(_problem_line(counts, int(flagged.sum())))
    if counts["ok"] == 0:
        report.warnings.insert(0, f"none of the {len(runs)} trials finished ok: the tables have no numbers")
    unusable = runs[runs[CELL + ["config_id"]].isna().any(axis=1)]
    if len(unusable):
        report.warnings.append(f"{len(unusable)} trial(s) have no readable configuration (method/dataset/setting "
                               "unknown) and are left out of the tables")
    return problems


def _no_method(report: _Folder, name: str, runs: pd.DataFrame, counts: dict[str, int], metric: str,
               problems: pd.DataFrame) -> AdrayError:
    """No trial names its method: write the summary and page that say so, and the error to raise."""
    facts = _facts(counts, [], None, metric)
    _summary(report, name, facts, problems)
    _page(report, name, facts, "", pd.DataFrame(), problems, [], [])
    return AdrayError(f"{name}: none of the {len(runs)} trials has a readable configuration "
                      f"(config.json), so no method is known; see {report.path / 'problems.csv'}")


def _reference(reference: str | None, methods: list[str], report: _Folder) -> tuple[str | None, str | None]:
    """(the reference method, the error to raise once the rest is written): the first method when none
    is given; a name the sweep lacks becomes a warning, no reference (no p-values) and that error."""
    if reference is None:
        return methods[0], None
    if reference in methods:
        return reference, None
    error = (f"reference method {reference!r} is not in the sweep; methods present: {', '.join(methods)}. The "
             f"rest of the report (without p-values) was written to {report.path}")
    report.warnings.append(error)
    return None, error


def _select_and_merge(runs: pd.DataFrame, metric: str, report: _Folder):
    """(selected, merged, units): each cell's configuration chosen on validation (selected.csv) and its
    seeds merged (merged.csv), with warnings for cells chosen by a fallback or short of seeds."""
    selected = select_configs(runs, metric)
    for note in selected["note"].dropna().unique():
        n = int((selected["note"] == note).sum())
        report.warnings.append(f"{n} cell(s): {note}")
    merged = add_units(merge_seeds(runs, selected))
    units = merged.drop_duplicates(CELL)[[*CELL, "unit"]]
    report.frame("selected.csv", selected.merge(units, on=CELL, how="left"))
    report.frame("merged.csv", merged)
    short = merged.drop_duplicates(CELL)
    short = short[short["n_ok"] < short["n_expected"]]
    if len(short):
        report.warnings.append(f"{len(short)} cell(s) have fewer ok seeds than the sweep ran; merged.csv column "
                               "seeds_missing lists them with the reason")
    return selected, merged, units


def _compare(merged: pd.DataFrame, per_seed: pd.DataFrame, reference: str | None, metric: str, report: _Folder):
    """The significance tests and ranks against the reference (stats.csv, ranks.csv)."""
    comparison = compare(merged, per_seed, reference, tuple(dict.fromkeys((metric, "auc", "ap"))))
    report.warnings.extend(comparison.warnings)
    report.frame("stats.csv", comparison.stats)
    report.frame("ranks.csv", comparison.ranks)
    return comparison


def _main_tables(tables, std: bool, transpose: bool, report: _Folder) -> dict[str, str]:
    """The main table in every format (main.md, main.tex, main.csv); the texts by format."""
    texts = {f: render(tables, std=std, transpose=transpose) for f, render in tables_mod.RENDERERS.items()}
    for f, text in texts.items():
        report.text(f"main.{tables_mod.SUFFIX[f]}", text)
    return texts


def _side_by_side(merged: pd.DataFrame, metrics: list[str], report: _Folder) -> None:
    """The asked-for metrics of the chosen configurations side by side (metrics.csv, metrics.md)."""
    metrics = list(dict.fromkeys(metrics))
    if metrics:
        frame = tables_mod.metrics_frame(merged, metrics)
        report.frame("metrics.csv", frame)
        report.text("metrics.md", tables_mod.metrics_markdown(frame, metrics))


def _paper_metrics(runs: pd.DataFrame) -> list[str]:
    """The metrics the sweep's methods' papers report, in the order the methods declare them."""
    declared = runs["paper_metrics"].dropna().drop_duplicates() if "paper_metrics" in runs else []
    return list(dict.fromkeys(m for text in declared for m in str(text).split(",") if m in SCORE_METRICS))


def _problem_line(counts: dict, flagged: int) -> str:
    parts = [f"{counts['error']} failed", f"{counts['incomplete']} incomplete (no, unreadable or damaged files)",
             f"{counts['not started']} not started"]
    if counts["stopped"]:
        parts.append(f"{counts['stopped']} stopped early with their configuration (a decision, not a failure)")
    if counts["duplicate"] or counts["foreign"]:
        parts.append(f"{counts['duplicate']} duplicate and {counts['foreign']} foreign folder(s) not counted")
    if flagged:
        parts.append(f"{flagged} ok with a degenerate result")
    return "trials: " + ", ".join(parts) + "; listed in problems.csv"


def _searched(runs: pd.DataFrame, folders: list[Path]) -> pd.DataFrame | None:
    """The runs of a searched sweep (a searcher chose its configurations), for the search plots; else None."""
    from adray.sweep.ledger import read_ledger

    ledgers = [read_ledger(f) for f in folders]
    return runs if any(b is not None and b.request.get("search", "grid") != "grid" for b in ledgers) else None


def _plots(report: _Folder, merged, per_seed, comparison, metric, searched=None) -> list[page_mod.Figure]:
    """Every plot per setting group; a plot that fails becomes a warning, never a lost report.
    Returns what the page shows: each plot drawn, and each one not drawn with the reason."""
    from adray.analysis import plots as plots_mod  # matplotlib only when plots are drawn

    figures, planned = [], []
    files, warnings = report.files, report.warnings
    folder = report.path / "plots"
    colour = plots_mod.colours(merged["method"].unique())
    test = merged[merged["split"] == "test"]
    for group in group_order(test["group"]):
        slug, seeds = _slug(group), per_seed[per_seed["group"] == group]
        cells = test[(test["group"] == group) & (test["metric"] == metric)]
        auc_cells = test[(test["group"] == group) & (test["metric"] == "auc")]
        roc = partial(plots_mod.plot_roc, seeds, auc_cells, folder / f"roc_{slug}.png",
                      f"test ROC, mean over seeds ({group})", colour)
        history = partial(_history, seeds, metric, folder / f"history_{slug}.png", group, colour)
        spread = partial(plots_mod.plot_spread, seeds, f"test_{metric}", folder / f"spread_{slug}.png",
                         f"test {metric} per seed ({group})", colour)
        jobs = [("ROC curves on the test split: mean over seeds, band ± 1 std", roc),
                (f"validation {metric} over training: mean over seeds", history),
                (f"test {metric} of each seed of the chosen configurations", spread)]
        if searched is not None:
            points = plots_mod.search_points(searched[searched["group"] == group])
            jobs += [("the search: best seed-mean validation score so far (x: stopped early)",
                      partial(plots_mod.plot_search_progress, points, folder / f"search_{slug}.png",
                              f"best configuration so far ({group})", colour)),
                     ("the search: seed-mean validation score against each hyperparameter",
                      partial(plots_mod.plot_search_params, points, folder / f"params_{slug}.png",
                              f"validation score of every configuration ({group})", colour))]
        cd = f"critical-difference diagram: average ranks of test {metric} and the Nemenyi critical difference"
        fr = comparison.friedman.get((metric, group))
        if fr is not None and fr.ranks is not None and math.isfinite(fr.p):  # only where the Friedman test ran
            title = f"average rank, test {metric} over {fr.n_datasets} datasets ({group}); Friedman p={fr.p:.3g}"
            jobs.append((cd, partial(plots_mod.plot_cd, fr.ranks, fr.cd, folder / f"cd_{slug}.png", title)))
        planned.append((group, cells, fr, cd, jobs))
    results = iter(_draw([job for *_, jobs in planned for job in jobs]))
    for group, cells, fr, cd, jobs in planned:
        for what, _ in jobs:
            path, failure = next(results)
            if failure is not None:
                warnings.append(f"{what} ({group}) failed: {failure}")
                figures.append(page_mod.Figure(group, what, None, f"It failed: {failure}"))
                continue
            if path is not None:
                files.append(path)
                figures.append(page_mod.Figure(group, what, path))
            elif len(cells):
                warnings.append(f"{what} ({group}): no trial of a chosen configuration has the files for it")
                figures.append(page_mod.Figure(group, what, None, "No trial of a chosen configuration has the "
                                                                  "files for it."))
        if len(cells) and not (fr is not None and math.isfinite(fr.p)):
            why = "; ".join(fr.notes) if fr is not None and fr.notes else "no Friedman test for this group"
            figures.append(page_mod.Figure(group, cd, None, f"The Friedman test did not run: {why}."))
    return figures


def _draw_one(job) -> tuple[Path | None, str | None]:
    """Draw one plot: (its path or None when there is nothing to draw, the failure or None)."""
    try:
        return job[1](), None
    except Exception as exc:  # noqa: BLE001 - a broken plot must not cost the report
        return None, f"{type(exc).__name__}: {exc}"


def _draw(jobs: list) -> list[tuple[Path | None, str | None]]:
    """Draw the plots, in parallel processes when there are many (drawing is most of a large report's
    time); forked workers inherit the loaded data and modules, so they start at once."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    workers = min(len(jobs), os.cpu_count() or 1, 8)
    if workers < 2 or len(jobs) < 6 or "fork" not in multiprocessing.get_all_start_methods():
        return [_draw_one(job) for job in jobs]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_draw_one, jobs))


def _remove_stale(report_dir: Path, files: list[Path]) -> None:
    """Drop what an earlier report wrote and this one did not (old plots, an old problems.csv)."""
    written = {Path(f) for f in files}
    for stale in [report_dir / "problems.csv", report_dir / "metrics.csv", report_dir / "metrics.md",
                  report_dir / page_mod.PAGE,
                  *(report_dir / "plots").glob("*.png")]:
        if stale.exists() and stale not in written:
            stale.unlink()


def _history(seeds, metric, path, group, colour):
    """The validation metric over training; val_auc when the histories do not record val_<metric>."""
    from adray.analysis import plots as plots_mod

    for column in dict.fromkeys((f"val_{metric}", "val_auc")):
        found = plots_mod.plot_history(seeds, column, path, f"{column} over training ({group})", colour)
        if found is not None:
            return found
    return None


def chosen_frame(selected: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Each cell's chosen configuration, how it was chosen, and what its fit resolved (one row per cell)."""
    columns = ["method", "dataset", "setting", "group", "config", "chosen by", "hyperparameters", "fit"]
    if selected.empty:
        return pd.DataFrame(columns=columns)
    info = chosen.dropna(subset=["fit_info"]).groupby(CELL)["fit_info"].agg(lambda v: "; ".join(sorted(set(v))))
    rows = []
    for row in selected.itertuples(index=False):
        key = (row.method, row.dataset, row.setting_key)
        rows.append([row.method, row.dataset, row.setting_name or "-", row.group,
                     "-" if pd.isna(row.config_id) else str(row.config_id)[:6], row.selected_by or "-",
                     "" if pd.isna(row.params) else str(row.params), info.get(key, "") if len(info) else ""])
    return pd.DataFrame(rows, columns=columns)


def chosen_lines(frame: pd.DataFrame) -> list[str]:
    """Markdown of :func:`chosen_frame` for summary.md."""
    if frame.empty:
        return []
    lines = ["## Chosen configurations", "", "| method | dataset | setting | config | chosen by | hyperparameters "
             "| fit |", "|---|---|---|---|---|---|---|"]
    for row in frame.to_dict("records"):
        params, fit = row["hyperparameters"].replace("|", "\\|"), row["fit"].replace("|", "/")
        lines.append(f"| {row['method']} | {row['dataset']} | {row['setting']} | {row['config']} | "
                     f"{row['chosen by']} | {params} | {fit} |")
    return [*lines, ""]


def _facts(counts, methods, reference, metric) -> list[str]:
    """The report's key facts, one line each (summary.md and the page)."""
    planned = sum(counts[s] for s in ("ok", "error", "incomplete", "not started"))
    return [f"trials: {planned} ({counts['ok']} ok, {counts['error']} error, {counts['incomplete']} incomplete, "
            f"{counts['not started']} not started)"
            + (f"; not counted: {counts['duplicate']} duplicate and {counts['foreign']} foreign folder(s)"
               if counts["duplicate"] or counts["foreign"] else ""),
            f"methods: {', '.join(methods) or '-'}; reference: {reference or '-'}",
            f"configurations chosen on validation {metric}; tables show test {metric}",
            "selection rule: per method, dataset and setting, only the configurations with the most ok seeds "
            f"compete, and the highest mean validation {metric} among them wins"]


def _page(report: _Folder, name, facts, tables_html, chosen, problems, figures, groups) -> Path:
    """The report as one HTML page (index.html): facts, warnings, tables, choices, problems, plots, files."""
    return page_mod.write_page(report.path / page_mod.PAGE, title=f"Report of {name}", facts=facts,
                               warnings=report.warnings, tables_html=tables_html, chosen=chosen, problems=problems,
                               figures=figures, groups=groups, files=report.files, version=__version__)


def _summary(report: _Folder, name: str, facts: list[str], problems: pd.DataFrame, chosen=()) -> Path:
    """summary.md: the facts, the files written so far, the warnings, the chosen configurations and the
    first trials that are not ok."""
    lines = [f"# Report of {name}", "", *(f"- {fact}" for fact in facts), ""]
    lines += _files_section(report)
    lines += ["## Warnings", ""] + ([f"- {w}" for w in report.warnings] or ["- none"]) + [""] + list(chosen)
    lines += _problems_section(problems)
    artifacts.write_text(report.path / "summary.md", "\n".join(lines) + "\n")
    return report.path / "summary.md"


def _files_section(report: _Folder) -> list[str]:
    """summary.md's list of the report's files (those written so far, this file and the page)."""
    return ["## Files", "", *(f"- `{p.relative_to(report.path)}`" for p in report.files),
            "- `summary.md` (this file)", f"- `{page_mod.PAGE}` (everything on one page, plots included)", ""]


def _problems_section(problems: pd.DataFrame) -> list[str]:
    """summary.md's table of the first trials that are not ok (all of them are in problems.csv)."""
    if not len(problems):
        return []
    lines = [f"## Trials that are not ok ({len(problems)}; all in problems.csv)", "",
             "| status | method | dataset | seed | message | trial |", "|---|---|---|---|---|---|"]
    for row in problems.head(_MAX_LISTED).itertuples(index=False):
        message = "" if pd.isna(row.error) else str(row.error).replace("|", "\\|")[:120]
        lines.append(f"| {row.status} | {row.method} | {row.dataset} | "
                     f"{'' if pd.isna(row.seed) else row.seed} | {message} | {Path(row.trial_dir).name} |")
    if len(problems) > _MAX_LISTED:
        lines.append(f"\n... and {len(problems) - _MAX_LISTED} more in problems.csv")
    return lines
