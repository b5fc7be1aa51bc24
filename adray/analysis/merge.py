"""Merge seeds: mean, std (ddof=1, as the seeds' pandas code) and n per cell, and which seeds are missing.

Why the seed bookkeeping: the published scripts skipped missing result files with a message that
scrolled away, so a mean over 3 seeds looked like a mean over 5. Here the expected seeds of a cell are
all seeds the sweep ran or was asked to run (its ledger) for its (dataset, setting), by any method;
every expected seed that is not ``ok`` in the chosen configuration is listed in ``seeds_missing``
with the reason (``error: <message>``, ``incomplete``, ``not started``, ``absent``). Ok seeds whose
result is degenerate (tied scores, a one-class split) are listed in ``seeds_flagged``. ``n`` counts
the ok seeds with a finite value of that metric; ``std`` is NaN when n = 1 (undefined, never 0).
"""

from __future__ import annotations

import pandas as pd

from adray.analysis.collect import METRICS, SPLITS
from adray.analysis.select import CELL, selected_runs, usable

_REASON_CHARS = 60


def expected_seeds(runs: pd.DataFrame) -> pd.Series:
    """Sorted seeds seen per (dataset, setting_key), over every method and configuration."""
    runs = usable(runs).dropna(subset=["seed"])
    return runs.groupby(["dataset", "setting_key"])["seed"].agg(lambda s: sorted({int(v) for v in s}))


def _reason(status: str, error) -> str:
    if status == "error":
        text = "" if error is None or pd.isna(error) else str(error)
        text = text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."
        return f"error: {text}" if text else "error"
    return status


def seed_status(runs: pd.DataFrame, selected: pd.DataFrame) -> pd.DataFrame:
    """Per cell: expected seeds, ok seeds and the missing ones with their reasons (strings and counts)."""
    expected = expected_seeds(runs).to_dict()
    chosen = selected_runs(runs, selected)
    status: dict[tuple, dict[int, tuple]] = {}
    flagged: dict[tuple, list[str]] = {}
    flags = chosen["flags"] if "flags" in chosen else pd.Series([None] * len(chosen), index=chosen.index)
    columns = [chosen[c].tolist() for c in (*CELL, "seed", "status", "error")] + [flags.tolist()]
    for method, dataset, key, seed, state, error, flag in zip(*columns, strict=True):
        if seed is None or pd.isna(seed):
            continue
        seeds = status.setdefault((method, dataset, key), {})
        seeds[int(seed)] = (state, error)
        if state == "ok" and isinstance(flag, str) and flag:
            flagged.setdefault((method, dataset, key), []).append(f"{int(seed)} ({flag})")
    records = []
    for method, dataset, key, config in zip(*(selected[c].tolist() for c in (*CELL, "config_id")), strict=True):
        seeds = expected.get((dataset, key), [])
        found = status.get((method, dataset, key), {})
        ok = [s for s in seeds if found.get(s, ("absent",))[0] == "ok"]
        if config is None or pd.isna(config):
            missing = [f"{s} (no configuration selected)" for s in seeds]
        else:
            missing = [f"{s} ({_reason(*found[s]) if s in found else 'absent'})" for s in seeds if s not in ok]
        marked = flagged.get((method, dataset, key), []) if config is not None and not pd.isna(config) else []
        records.append({"method": method, "dataset": dataset, "setting_key": key, "n_expected": len(seeds),
                        "n_ok": len(ok), "seeds_expected": ",".join(map(str, seeds)),
                        "seeds_ok": ",".join(map(str, ok)), "seeds_missing": ", ".join(missing),
                        "n_flagged": len(marked), "seeds_flagged": "; ".join(marked)})
    return pd.DataFrame.from_records(records, columns=[*CELL, "n_expected", "n_ok", "seeds_expected",
                                                       "seeds_ok", "seeds_missing", "n_flagged", "seeds_flagged"])


def merge_seeds(runs: pd.DataFrame, selected: pd.DataFrame) -> pd.DataFrame:
    """Long table: one row per (cell, split, metric) with mean, std, n and the seed bookkeeping.

    Cells without a chosen configuration are kept (mean NaN, n 0) so they show up as missing.
    """
    cols = [f"{s}_{m}" for s in SPLITS for m in METRICS]
    chosen = selected_runs(runs, selected)
    ok = chosen[chosen["status"] == "ok"]
    if ok.empty:
        long = pd.DataFrame(columns=[*CELL, "split", "metric", "mean", "std", "n"])
    else:
        grouped = ok.groupby(CELL, sort=False)[cols]
        stats = pd.concat({"mean": grouped.mean(), "std": grouped.std(ddof=1), "n": grouped.count()}, axis=1)
        stats.columns.names = ["stat", "column"]
        long = stats.stack("column", future_stack=True).reset_index()
        long[["split", "metric"]] = long["column"].str.split("_", n=1, expand=True)
        long = long.drop(columns="column")

    info = selected[[*CELL, "setting_name", "group", "p_contamination", "n_train_anomalies", "config_id", "params"]]
    grid = info.merge(pd.DataFrame({"split": [s for s in SPLITS for _ in METRICS],
                                    "metric": [m for _ in SPLITS for m in METRICS]}), how="cross")
    merged = grid.merge(long, on=[*CELL, "split", "metric"], how="left")
    merged["n"] = pd.to_numeric(merged["n"]).fillna(0).astype(int)
    merged["mean"], merged["std"] = pd.to_numeric(merged["mean"]), pd.to_numeric(merged["std"])
    merged = merged.merge(seed_status(runs, selected), on=CELL, how="left")
    return merged.sort_values([*CELL, "split", "metric"], kind="mergesort").reset_index(drop=True)


def cell_values(merged: pd.DataFrame, metric: str, split: str = "test") -> pd.DataFrame:
    """One row per cell for one metric: mean, std, n and the seed columns (what tables and tests use)."""
    return merged[(merged["metric"] == metric) & (merged["split"] == split)].reset_index(drop=True)


def add_units(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``unit``: the column a cell occupies in a table (and the pairing unit of the tests).

    Within a setting group a unit is the dataset, or ``dataset (setting name)`` when the group holds
    several settings of that dataset (e.g. transfer settings next to the default one).
    """
    frame = frame.copy()
    if frame.empty:
        frame["unit"] = pd.Series(dtype="string")
        return frame
    distinct = frame.drop_duplicates(["group", "dataset", "setting_key"])
    labels = {}
    for (group, dataset), part in distinct.groupby(["group", "dataset"], sort=False):
        names = part["setting_name"].fillna("").tolist()
        for key, name in zip(part["setting_key"], names, strict=True):
            if len(part) == 1:
                label = dataset
            elif name and names.count(name) == 1:
                label = f"{dataset} ({name})"
            else:
                label = f"{dataset} ({name + ' ' if name else ''}{key[:6]})"
            labels[(group, dataset, key)] = label
    frame["unit"] = [labels[k] for k in zip(frame["group"], frame["dataset"], frame["setting_key"], strict=True)]
    return frame
