"""Pick each method's configuration on the VALIDATION metric; the report then shows its TEST metric.

Why: choosing the configuration with the best test score and reporting that same score is selection
on the test set (a leak some published benchmarks have); it inflates every method by its grid size.
Here a cell is (method, dataset, setting); within it each configuration's score is the mean
validation metric over its ``ok`` seeds (seeds whose validation metric is NaN do not count).

The rule: only the configurations with the most such seeds in the cell compete (all seeds, when any
configuration has them), and among those the highest mean wins, ties broken by config_id (so the
choice is deterministic). A configuration with fewer ok seeds never beats one with more: its mean
over fewer, possibly luckier, seeds is not comparable. A cell with a single configuration uses it
even without a validation metric; a cell whose configurations all lack one gets no selection (and a
note) rather than a guess.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CELL = ["method", "dataset", "setting_key"]
EXCLUDED = ("duplicate", "foreign")
# descriptive columns carried along with a cell (constant within it)
CELL_INFO = ["setting_name", "group", "p_contamination", "n_train_anomalies", "normal", "anomalous",
             "anomalous_train"]


def usable(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows that belong to a cell (their configuration told method, dataset and setting), without the
    folders that are not counted (duplicates of a counted trial, trials of another sweep)."""
    counted = runs[~runs["status"].isin(EXCLUDED)] if "status" in runs else runs
    return counted.dropna(subset=[*CELL, "config_id"])


def cells(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell with its descriptive columns and how many configurations it has."""
    runs = usable(runs)
    info = runs.groupby(CELL, sort=True, dropna=False)[CELL_INFO].first()
    info["n_configs"] = runs.groupby(CELL, sort=True)["config_id"].nunique()
    return info.reset_index()


def _winners(runs: pd.DataFrame, column: str, higher: bool) -> pd.DataFrame:
    """Per cell the best configuration by ``column`` (mean over ok seeds), among those with the most seeds."""
    ok = runs[(runs["status"] == "ok") & np.isfinite(runs[column].astype(float))]
    scored = ok.groupby([*CELL, "config_id"], sort=False)[column].agg(val_mean="mean", val_n="count").reset_index()
    scored = scored[scored["val_n"] == scored.groupby(CELL)["val_n"].transform("max")]  # the most ok seeds only
    scored = scored.sort_values([*CELL, "val_mean", "config_id"], ascending=[True, True, True, not higher, True],
                                kind="mergesort")
    return scored.drop_duplicates(CELL, keep="first")


def select_configs(runs: pd.DataFrame, metric: str = "auc") -> pd.DataFrame:
    """Per cell: the chosen ``config_id`` and its ``params``, validation mean and n, and how it was chosen.

    ``selected_by`` says which criterion chose it: ``validation`` (the mean validation ``metric``),
    ``validation loss`` (when no seed of the cell has that metric because its validation split holds
    no anomaly, as in AMSL's protocol: the lowest mean score of the held-out normal rows), or
    ``only configuration``.
    """
    runs = usable(runs)
    table = cells(runs)
    out = table.merge(_winners(runs, f"val_{metric}", higher=True), on=CELL, how="left")
    out["selected_by"] = np.where(out["config_id"].notna(), "validation", None)
    out["note"] = None
    if "val_loss" in runs and out["config_id"].isna().any():
        by_loss = _winners(runs, "val_loss", higher=False).set_index(CELL)
        for i in out.index[out["config_id"].isna()]:
            key = tuple(out.loc[i, CELL])
            if key in by_loss.index:
                out.loc[i, ["config_id", "val_mean", "val_n"]] = by_loss.loc[key, ["config_id", "val_mean", "val_n"]]
                out.loc[i, "selected_by"] = "validation loss"
                out.loc[i, "note"] = (f"no validation {metric} (the validation split has no anomaly): chosen by the "
                                      "lowest mean validation loss (score of held-out normal rows)")

    # a cell with one configuration and no usable validation metric still uses that configuration
    single = out["config_id"].isna() & (out["n_configs"] == 1)
    if single.any():
        only = runs.drop_duplicates(CELL)[[*CELL, "config_id"]].rename(columns={"config_id": "_only"})
        out = out.merge(only, on=CELL, how="left")
        out.loc[single, "config_id"] = out.loc[single, "_only"]
        out.loc[single, "selected_by"] = "only configuration"
        out.loc[single, "note"] = f"no ok seed with a validation {metric}; its only configuration is used"
        out = out.drop(columns="_only")
    none = out["config_id"].isna()
    out.loc[none, "note"] = (f"no configuration has an ok seed with a validation {metric} or loss; "
                             "nothing selected (see runs.parquet for the errors)")
    params = runs.drop_duplicates([*CELL, "config_id"])[[*CELL, "config_id", "params"]]
    out = out.merge(params, on=[*CELL, "config_id"], how="left")
    out["val_n"] = out["val_n"].fillna(0).astype(int)
    by_loss = out["selected_by"] == "validation loss"
    out["val_loss_mean"] = out["val_mean"].where(by_loss)
    out["val_mean"] = out["val_mean"].where(~by_loss)
    return out.rename(columns={"val_mean": f"val_{metric}_mean", "val_n": f"val_{metric}_n"})


def selected_runs(runs: pd.DataFrame, selected: pd.DataFrame) -> pd.DataFrame:
    """The trials (every seed, any status) of each cell's chosen configuration."""
    chosen = selected.dropna(subset=["config_id"])[[*CELL, "config_id"]]
    return usable(runs).merge(chosen, on=[*CELL, "config_id"], how="inner")
