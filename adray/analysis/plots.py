"""PNG plots of a sweep (matplotlib figures drawn without pyplot): ROC curves, metric over training, spread,
CD diagram, and for searched sweeps the search's progress.

Why these four: the ROC curve is what the seeds' papers showed per dataset; the
validation metric over training iterations is GANDI's "AUC over training", where AUC was
found to oscillate, so the final number alone can mislead; the spread over seeds shows what a
"± std" hides (one bad seed or a uniform spread); the critical-difference diagram summarises the
Friedman/Nemenyi ranks in one picture.

ROC averaging (documented choice): for each method, the curves of ALL ok seeds of the configuration
chosen on validation are read (``roc.csv``, split "test"; else recomputed from ``scores.parquet``),
each linearly interpolated onto a common grid of 201 false-positive rates (TPR forced to 0 at FPR 0),
and averaged vertically (Fawcett 2006), with a band of ± one standard deviation over seeds. The
legend gives the number of seeds averaged and the mean test AUC of the merged table.

One figure per setting group, one panel per dataset; every method keeps its colour in all plots.
Titles name the setting group in full, so they are wrapped to the figure's width (never cut off), and
figures are at least :data:`MIN_WIDTH` wide, so a sweep of one dataset still gets a readable plot.
"""

from __future__ import annotations

import csv
import json
import math
import textwrap
from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from adray import artifacts, metrics

FPR_GRID = np.linspace(0.0, 1.0, 201)
DPI = 100
PANEL = (4.2, 3.5)  # inches per dataset panel
MIN_WIDTH = 6.0  # inches: a figure of one panel still has room for its title and legend
MAX_COLS = 4
TITLE_SIZE = 11
LEGEND_SIZE = 8
_LINE = 0.24  # inches per line of title or figure legend at these sizes


def colours(methods) -> dict[str, tuple]:
    """A fixed colour per method (sorted names), the same in every plot."""
    cmap = matplotlib.colormaps["tab10" if len(methods) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(sorted(methods))}


def wrap(text: str, width_inches: float, fontsize: float = TITLE_SIZE) -> str:
    """``text`` broken into lines that fit ``width_inches`` at ``fontsize`` (a character is ~0.6 em wide)."""
    chars = max(20, int(width_inches * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.wrap(text, chars, break_on_hyphens=False)) or text


def _legend_layout(n_entries: int, width_inches: float) -> tuple[int, int]:
    """(columns, rows) of a figure legend across the top: as many entries per row as fit (~1.6 in each)."""
    cols = max(1, min(n_entries, int(width_inches // 1.6)))
    return cols, math.ceil(n_entries / cols) if n_entries else 0


def _panels(n: int, title: str, legend_rows: int = 0):
    """A grid of panels with fixed margins (tight_layout would draw every figure twice), the title
    wrapped over as many lines as it needs and room for ``legend_rows`` rows of a figure legend.
    Returns (figure, axes, the height (figure fraction) where that legend's top goes)."""
    cols = max(1, min(MAX_COLS, n))
    rows = math.ceil(n / cols)
    width = max(MIN_WIDTH, PANEL[0] * cols)
    title = wrap(title, width - 0.4)
    top_inches = 0.3 + _LINE * (title.count("\n") + 1 + legend_rows) + 0.25
    height = PANEL[1] * rows + top_inches
    # a bare Figure, not pyplot: drawing a report never changes the caller's matplotlib backend (a notebook's)
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(rows, cols, squeeze=False)
    side = (width - PANEL[0] * cols) / 2  # a lone panel is centred, not stretched
    fig.subplots_adjust(left=(side + 0.75) / width, right=1 - (side + 0.2) / width,
                        bottom=0.55 / height, top=1 - top_inches / height, wspace=0.32, hspace=0.5)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=TITLE_SIZE, y=1 - 0.1 / height, va="top")
    return fig, list(axes.flat[:n]), 1 - (0.15 + _LINE * (title.count("\n") + 1)) / height


def _figure_legend(fig, handles, labels, top: float) -> None:
    cols, _ = _legend_layout(len(handles), fig.get_figwidth())
    fig.legend(handles, labels, loc="upper center", ncol=cols, fontsize=LEGEND_SIZE, frameon=False,
               bbox_to_anchor=(0.5, top))


def _save(fig, path: Path, tight: bool = False) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    # light compression: a large report's PNGs are written a fifth faster for files about a sixth larger
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})
    return path


# ------------------------------------------------------------------------------------------------ ROC

def trial_roc(trial_dir: Path, split: str = "test") -> tuple[np.ndarray, np.ndarray] | None:
    """A trial's ROC curve from roc.csv, else from scores.parquet; None when neither is usable."""
    trial_dir = Path(trial_dir)
    try:
        roc = pd.read_csv(trial_dir / artifacts.ROC)
        roc = roc[roc["split"] == split] if "split" in roc else roc
        if len(roc):
            return roc["fpr"].to_numpy(float), roc["tpr"].to_numpy(float)
    except (OSError, ValueError, KeyError, pd.errors.ParserError):
        pass
    try:
        scores = pd.read_parquet(trial_dir / artifacts.SCORES, columns=["split", "label", "score"])
        scores = scores[scores["split"] == split]
        fpr, tpr, _ = metrics.roc(scores["label"], scores["score"])
        return (fpr, tpr) if len(fpr) else None
    except (OSError, ValueError, KeyError, ImportError):
        return None


def mean_roc(curves) -> tuple[np.ndarray, np.ndarray]:
    """Vertical average of ROC curves on :data:`FPR_GRID`: (mean TPR, std TPR; NaN std for one curve)."""
    interpolated = []
    for fpr, tpr in curves:
        order = np.argsort(fpr, kind="mergesort")
        values = np.interp(FPR_GRID, np.asarray(fpr)[order], np.asarray(tpr)[order])
        values[0] = 0.0
        interpolated.append(values)
    stack = np.vstack(interpolated)
    std = stack.std(axis=0, ddof=1) if len(stack) > 1 else np.full(len(FPR_GRID), np.nan)
    return stack.mean(axis=0), std


def plot_roc(per_seed: pd.DataFrame, cells: pd.DataFrame, path: Path, title: str, colour: dict) -> Path | None:
    """ROC panels per unit for one group. ``per_seed``: ok trials of the chosen configs (unit, method, trial_dir)."""
    curves = {}
    for (unit, method), part in per_seed.groupby(["unit", "method"], sort=True):
        found = [c for c in (trial_roc(d) for d in part["trial_dir"]) if c is not None]
        if found:
            curves[(unit, method)] = found
    if not curves:
        return None
    units = sorted({u for u, _ in curves})
    auc = cells.set_index(["unit", "method"])["mean"] if len(cells) else pd.Series(dtype=float)
    fig, axes, _ = _panels(len(units), title)
    for ax, unit in zip(axes, units, strict=True):
        for (u, method), found in sorted(curves.items()):
            if u != unit:
                continue
            mean, std = mean_roc(found)
            value = auc.get((unit, method), math.nan)
            label = (f"{method} (AUC {value:.2f}, n={len(found)})" if np.isfinite(value)
                     else f"{method} (n={len(found)})")
            ax.plot(FPR_GRID, mean, color=colour.get(method), lw=1.4, label=label)
            if len(found) > 1:
                ax.fill_between(FPR_GRID, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                                color=colour.get(method), alpha=0.15, lw=0)
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="random (AUC 0.50)")
        ax.set(xlabel="False Positive Rate", ylabel="True Positive Rate", xlim=(0, 1), ylim=(0, 1.01))
        ax.set_title(unit, fontsize=10)
        ax.legend(fontsize=LEGEND_SIZE - 0.5, loc="lower right")
    return _save(fig, path)


# ----------------------------------------------------------------------------------- metric over time

def read_history(trial_dir: Path, column: str) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(x, values of ``column``, stages) from history.csv; x is ``iteration``, else ``epoch``, else the row.

    Plain ``csv`` parsing: thousands of small files, where pandas' per-call overhead dominates.
    """
    try:
        with open(Path(trial_dir) / artifacts.HISTORY, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            rows = list(reader)
    except (OSError, StopIteration, csv.Error, UnicodeDecodeError):
        return None
    if column not in header or not rows:
        return None
    at = header.index(column)
    x_at = next((header.index(c) for c in ("iteration", "epoch") if c in header), None)
    stage_at = header.index("stage") if "stage" in header else None
    xs, values, stages = [], [], []
    for i, row in enumerate(rows):
        if len(row) != len(header):
            continue  # a line cut short
        xs.append(_float(row[x_at]) if x_at is not None else float(i))
        values.append(_float(row[at]))
        stages.append(row[stage_at] if stage_at is not None else "")
    x, v = np.asarray(xs), np.asarray(values)
    keep = np.isfinite(x)
    if not np.isfinite(v[keep]).any():
        return None
    return x[keep], v[keep], [s for s, k in zip(stages, keep, strict=True) if k]


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def plot_history(per_seed: pd.DataFrame, column: str, path: Path, title: str, colour: dict) -> Path | None:
    """``column`` (e.g. val_auc) over training iterations: mean over seeds with a ± std band.

    Seeds are aligned on the ``iteration`` column (else ``epoch``, else the row number); dotted lines
    in the method's colour mark where a multi-stage method (A3: target then alarm) changes stage, and
    the legend says so (and what the band is) only when the figure has them.
    """
    series = {}
    stages = {}
    for (unit, method), part in per_seed.groupby(["unit", "method"], sort=True):
        runs = []
        for trial_dir in part["trial_dir"]:
            found = read_history(trial_dir, column)
            if found is None:
                continue
            x, values, stage = found
            one = pd.Series(values, index=x)
            runs.append(one if one.index.is_unique else one.groupby(level=0).last())
            if len(set(stage)) > 1 and (unit, method) not in stages:
                change = np.r_[False, np.asarray(stage[1:]) != np.asarray(stage[:-1])]
                stages[(unit, method)] = x[change]
        if runs:
            series[(unit, method)] = pd.concat(runs, axis=1)
    if not series:
        return None
    units = sorted({u for u, _ in series})
    methods = sorted({m for _, m in series})
    handles = [Line2D([], [], color=colour.get(m), lw=2) for m in methods]
    labels = list(methods)
    if any(frame.shape[1] > 1 for frame in series.values()):
        handles.append(Rectangle((0, 0), 1, 1, color="grey", alpha=0.25, lw=0))
        labels.append("band: ± 1 std over seeds")
    if any(len(x) for x in stages.values()):
        handles.append(Line2D([], [], color="black", ls=":", lw=1))
        labels.append("stage change (e.g. A3: target -> alarm)")
    width = max(MIN_WIDTH, PANEL[0] * min(MAX_COLS, len(units)))
    fig, axes, top = _panels(len(units), title, legend_rows=_legend_layout(len(handles), width)[1])
    _figure_legend(fig, handles, labels, top)
    for ax, unit in zip(axes, units, strict=True):
        counts = []
        for (u, method), frame in sorted(series.items()):
            if u != unit:
                continue
            mean, std = frame.mean(axis=1).to_numpy(), frame.std(axis=1, ddof=1).to_numpy()
            ax.plot(frame.index, mean, color=colour.get(method), lw=1.3)
            if frame.shape[1] > 1:
                ax.fill_between(frame.index, mean - std, mean + std, color=colour.get(method), alpha=0.15, lw=0)
            for x in stages.get((u, method), []):
                ax.axvline(x, color=colour.get(method), ls=":", lw=0.8)
            counts.append(frame.shape[1])
        seeds = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
        ax.set_title(f"{unit} (n={seeds} seeds)", fontsize=10)
        ax.set(xlabel="iteration", ylabel=column)
    return _save(fig, path)


# -------------------------------------------------------------------------------------------- spread

def plot_spread(per_seed: pd.DataFrame, column: str, path: Path, title: str, colour: dict) -> Path | None:
    """Box plot of ``column`` over seeds per (dataset, method), with every seed drawn as a dot."""
    data = per_seed.dropna(subset=[column])
    if data.empty:
        return None
    units, methods = sorted(data["unit"].unique()), sorted(data["method"].unique())
    width = 0.8 / len(methods)
    inches = max(MIN_WIDTH, 0.35 * len(units) * len(methods) + 2)
    fig = Figure(figsize=(inches, 4.2))
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    grouped = {k: v[column].to_numpy(float) for k, v in data.groupby(["unit", "method"])}
    for j, method in enumerate(methods):
        positions, values = [], []
        for i, unit in enumerate(units):
            if (unit, method) in grouped:
                positions.append(i - 0.4 + width * (j + 0.5))
                values.append(grouped[(unit, method)])
        if not values:
            continue
        box = ax.boxplot(values, positions=positions, widths=width * 0.8, patch_artist=True, showfliers=False,
                         manage_ticks=False)
        for patch in box["boxes"]:
            patch.set(facecolor=colour.get(method), alpha=0.35)
        xs = np.concatenate([np.full(len(v), x) for x, v in zip(positions, values, strict=True)])
        ax.scatter(xs + rng.uniform(-width * 0.25, width * 0.25, len(xs)), np.concatenate(values), s=8,
                   color=colour.get(method), zorder=3, label=method)
    ax.set_xticks(range(len(units)))
    ax.set_xlim(-0.6, len(units) - 0.4)  # a slot per dataset, whatever the scatter's autoscaling says
    ax.set_xticklabels(units, rotation=45 if len(units) > 4 else 0, ha="right" if len(units) > 4 else "center")
    ax.set(ylabel=column)
    ax.set_title(wrap(title, inches - 0.4), fontsize=TITLE_SIZE)
    ax.legend(fontsize=LEGEND_SIZE, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # off the dots
    return _save(fig, path, tight=True)


# ---------------------------------------------------------------------------- critical difference

def cliques(ranks: pd.Series, cd: float) -> list[list[str]]:
    """Maximal runs of methods (sorted by rank) whose rank range is below the CD: not told apart."""
    ordered = ranks.sort_values()
    names, values = list(ordered.index), ordered.to_numpy()
    found = []
    for i in range(len(values)):
        j = i
        while j + 1 < len(values) and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in found):
            found.append((i, j))
    return [names[a: b + 1] for a, b in found]


def plot_cd(ranks: pd.Series, cd: float, path: Path, title: str) -> Path:
    """Demšar's critical-difference diagram: average ranks on an axis (1 = best), CD bar, cliques."""
    ordered = ranks.sort_values()
    k = len(ordered)
    fig = Figure(figsize=(7.5, 1.6 + 0.28 * k))
    ax = fig.subplots()
    lo, hi = 1, max(k, 2)
    ax.set_xlim(lo - 0.5, hi + 0.5)
    top = 0.0
    ax.hlines(top, lo, hi, color="black", lw=1)
    for r in range(lo, hi + 1):
        ax.vlines(r, top, top + 0.08, color="black", lw=1)
        ax.text(r, top + 0.12, str(r), ha="center", va="bottom", fontsize=8)
    half = math.ceil(k / 2)
    for i, (method, rank) in enumerate(ordered.items()):
        left = i < half
        y = -0.35 - 0.25 * (i if left else k - 1 - i)
        x_text = lo - 0.4 if left else hi + 0.4
        ax.plot([rank, rank, x_text], [top, y, y], color="black", lw=0.8)
        ax.text(x_text, y, f"{method} ({rank:.2f})", ha="right" if left else "left", va="center", fontsize=8)
    if np.isfinite(cd):
        ax.plot([lo, lo + cd], [top + 0.45, top + 0.45], color="black", lw=1.5)
        ax.text(lo + cd / 2, top + 0.5, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
        for n, members in enumerate(cliques(ordered, cd)):
            y = -0.12 - 0.07 * n
            ax.plot([ordered[members[0]] - 0.03, ordered[members[-1]] + 0.03], [y, y], color="black", lw=3)
    ax.set_ylim(-0.45 - 0.25 * half, 0.9)
    ax.axis("off")
    ax.set_title(wrap(title, 7.1, 10), fontsize=10)
    return _save(fig, path, tight=True)


# ---------------------------------------------------------------------------------------- searched sweeps

def search_points(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration whose seeds have all ended (ok or stopped): its cell, hyperparameters,
    the seed mean of the validation criterion (``score``: AUC, or minus the loss where validation has no
    anomaly, so higher is better), and when it ended (seconds since the sweep's first trial started)."""
    runs = runs.dropna(subset=["method", "dataset", "setting_key", "config_id"])
    runs = runs[~runs["status"].isin(("duplicate", "foreign"))]
    if runs.empty:
        return pd.DataFrame()
    start = pd.to_numeric(runs["start_time"], errors="coerce").min()
    rows = []
    for (method, dataset, key, config), part in runs.groupby(["method", "dataset", "setting_key", "config_id"]):
        if not part["status"].isin(("ok", "stopped")).all():
            continue
        auc = pd.to_numeric(part["val_auc"], errors="coerce")
        loss = pd.to_numeric(part.get("val_loss"), errors="coerce") if "val_loss" in part else auc * np.nan
        score, criterion = (auc.mean(), "validation AUC") if auc.notna().any() else (-loss.mean(), "-validation loss")
        rows.append({"method": method, "dataset": dataset, "setting_key": key, "group": part["group"].iloc[0],
                     "config_id": config, "params": part["params"].iloc[0], "score": score, "criterion": criterion,
                     "stopped": bool((part["status"] == "stopped").any()),
                     "ended": pd.to_numeric(part["end_time"], errors="coerce").max() - start})
    return pd.DataFrame(rows).sort_values("ended", kind="mergesort").reset_index(drop=True) if rows else \
        pd.DataFrame()


def plot_search_progress(points: pd.DataFrame, path: Path, title: str, colour: dict) -> Path | None:
    """Best-so-far seed-mean validation score against configurations finished and against time."""
    if points.empty:
        return None
    fig, axes, top = _panels(2, title, legend_rows=1)
    handles = {}
    for (method, dataset), part in points.groupby(["method", "dataset"], sort=True):
        # a configuration stopped early was judged on its seeds' intermediate scores: it never counts as the best
        best = part["score"].where(~part["stopped"]).cummax().ffill().to_numpy()
        label = f"{method} on {dataset}"
        axes[0].step(np.arange(1, len(part) + 1), best, where="post", color=colour.get(method), label=label)
        handles[label] = axes[1].step(part["ended"].to_numpy() / 60, best, where="post", color=colour.get(method))[0]
        stopped = part["stopped"].to_numpy()
        axes[0].scatter(np.arange(1, len(part) + 1)[stopped], part["score"].to_numpy()[stopped], marker="x",
                        color=colour.get(method), s=16)
    criterion = points["criterion"].iloc[0]
    axes[0].set(xlabel="configurations finished", ylabel=f"best seed-mean {criterion}")
    axes[0].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes[1].set(xlabel="minutes since the first trial", ylabel=f"best seed-mean {criterion}")
    _figure_legend(fig, list(handles.values()), list(handles), top)
    return _save(fig, path)


def plot_search_params(points: pd.DataFrame, path: Path, title: str, colour: dict) -> Path | None:
    """The seed-mean validation score of every configuration against each numeric hyperparameter that
    varies (one small panel each; log scale where the values span more than a factor of 20)."""
    if points.empty:
        return None
    params = pd.DataFrame([json.loads(p) for p in points["params"]], index=points.index)
    varying = [c for c in params.columns if params[c].map(lambda v: isinstance(v, int | float)).all()
               and params[c].nunique() > 1]
    if not varying:
        return None
    fig, axes, _ = _panels(len(varying), title)
    for ax, name in zip(axes, varying, strict=True):
        for method, part in points.groupby("method"):
            ax.scatter(params.loc[part.index, name], part["score"], s=14, color=colour.get(method), label=method)
        values = params[name].astype(float)
        if values.min() > 0 and values.max() / values.min() > 20:
            ax.set_xscale("log")
        ax.set(xlabel=name, ylabel=f"seed-mean {points['criterion'].iloc[0]}")
    return _save(fig, path)
