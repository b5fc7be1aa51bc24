"""The table printed at the end of a sweep: method x dataset, mean ± std of test AUC over seeds.

Per (method, dataset, setting) the configuration with the best mean validation AUC is shown (never
chosen on test), with its number of successful seeds and failures. The full report (tables, tests,
plots) is ``adray report <sweep>``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from adray import artifacts


def trial_rows(sweep: Path) -> pd.DataFrame:
    rows = []
    for folder in sorted(p for p in Path(sweep).iterdir() if p.is_dir()):
        params = artifacts.read_json(folder / artifacts.PARAMS) or {}
        params = params.get("trial", params)
        if "method" not in params:
            continue
        outcome = artifacts.read_json(folder / artifacts.TRIAL) or {}
        rows.append({
            "method": params["method"], "dataset": params["dataset"],
            "setting": (params.get("setting") or {}).get("name", ""), "seed": params.get("seed"),
            "config_id": params.get("config_id") or artifacts.config_id(params["method"], params.get("params", {})),
            "params": json.dumps(params.get("params", {}), sort_keys=True),
            "status": outcome.get("status", "incomplete"), "error": outcome.get("error"),
            "val_auc": (outcome.get("val") or {}).get("auc"), "test_auc": (outcome.get("test") or {}).get("auc"),
        })
    return pd.DataFrame(rows)


def summary_table(sweep: Path) -> pd.DataFrame:
    runs = trial_rows(sweep)
    if runs.empty:
        return runs
    out = []
    for (method, dataset, setting), cell in runs.groupby(["method", "dataset", "setting"], sort=True):
        ok = cell[cell.status == artifacts.STATUS_OK]
        failed = int((cell.status != artifacts.STATUS_OK).sum())
        if ok.empty:
            out.append({"method": method, "dataset": dataset, "setting": setting, "test AUC": "-", "seeds": 0,
                        "failed": failed, "params": ""})
            continue
        best = ok.groupby("config_id").val_auc.mean().idxmax()
        chosen = ok[ok.config_id == best]
        auc = chosen.test_auc.astype(float)
        std = auc.std(ddof=1) if len(auc) > 1 else float("nan")
        out.append({"method": method, "dataset": dataset, "setting": setting,
                    "test AUC": f"{auc.mean():.3f} ± {std:.3f}", "seeds": len(chosen), "failed": failed,
                    "params": chosen.params.iloc[0]})
    return pd.DataFrame(out)


def print_summary(sweep: Path | str) -> None:
    if isinstance(sweep, str) and "://" in sweep:
        print(f"artifacts are in {sweep}; copy the folder locally and run `adray report` on it")
        return
    table = summary_table(Path(sweep))
    if table.empty:
        print(f"no finished trials in {sweep}")
        return
    print("\nmethod x dataset: test AUC of the best-validation configuration, mean ± std over seeds")
    print(table.to_string(index=False))
    print(f"\nartifacts: {sweep}  (per trial: params.json, metric.csv, roc.csv, scores.parquet, history.csv)")
