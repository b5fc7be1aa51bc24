"""Benchmark: does search (and seed-aware early stopping) find the grid's best configuration for less work?

    adray bench search                 # about 10 minutes on 2 cores
    adray bench search --samples 8 --epochs 30 --seeds 110 210 310

The reconstruction autoencoder (``ae``) on the embedded ``digits`` set, side by side in one run, each
configuration on the same seeds:
- grid: every combination of learning rate (4 values), dropout (3) and batch size (2);
- random and TPE (Optuna): ``--samples`` configurations drawn from the ranges the grid spans
  (``loguniform`` learning rate, ``uniform`` dropout, ``choice`` of batch size), seed-aware;
- TPE + seed-aware ASHA: the same, with configurations stopped early on their seed-mean validation AUC.
For each: trials, trial-epochs spent (the epochs every trial actually ran; a stopped trial counts the
epochs it got to), their share of the grid's, wall time, and the test AUC (mean ± std over seeds) of the
configuration chosen on validation. The target: TPE + ASHA within the grid's std of the grid's chosen
test AUC with at most 40% of its trial-epochs. Prints a table, writes results/bench/search.csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from adray.bench.common import print_table, results_dir, write_csv

GRID = ["learning_rate=1e-4,3e-4,1e-3,3e-3", "dropout=0.0,0.15,0.3", "batch_size=32,128"]
SPACE = ["learning_rate=loguniform(1e-4,3e-3)", "dropout=uniform(0,0.3)", "batch_size=choice(32,128)"]


def run(name: str, folder: Path, seeds: list[int], epochs: int, sets: list[str], **options) -> dict:
    import pandas as pd

    from adray import artifacts
    from adray.analysis.report import make_report
    from adray.sweep.request import SweepRequest, parse_set
    from adray.tune.runner import run_sweep

    request = SweepRequest(methods=["ae"], datasets=["digits"], seeds=seeds, storage=str(folder), name=name,
                           verbose=0, overrides=parse_set([f"epochs={epochs}", *sets]), checkpoint_every=epochs,
                           **options)
    start = time.time()
    result = run_sweep(request)
    wall = time.time() - start
    sweep = folder / name
    epochs_run = sum(len(pd.read_csv(p)) for p in sweep.glob(f"*/{artifacts.HISTORY}"))
    report = make_report(sweep, plots=False)
    merged = pd.read_csv(report.report_dir / "merged.csv")
    test = merged[(merged.split == "test") & (merged.metric == "auc")].iloc[0]
    selected = pd.read_csv(report.report_dir / "selected.csv").iloc[0]
    return {"search": name, "trials": sum(result.counts.values()), "stopped": result.counts["stopped"],
            "trial_epochs": epochs_run, "wall_s": round(wall), "test_auc": round(float(test["mean"]), 4),
            "test_auc_std": round(float(test["std"]), 4), "chosen": selected["params"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="adray bench search", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[110, 210, 310])
    parser.add_argument("--out", default=str(results_dir() / "search.csv"))
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    folder = Path(tempfile.mkdtemp(prefix="adray-search-"))
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows = [
            run("grid", folder, args.seeds, args.epochs, GRID),
            run("random", folder, args.seeds, args.epochs, SPACE, search="random", samples=args.samples),
            run("tpe", folder, args.seeds, args.epochs, SPACE, search="optuna", samples=args.samples),
            run("tpe-asha", folder, args.seeds, args.epochs, SPACE, search="optuna", samples=args.samples,
                scheduler="asha"),
        ]
    finally:
        ray.shutdown()
    grid = rows[0]
    for row in rows:
        row["share_of_grid_epochs"] = round(row["trial_epochs"] / grid["trial_epochs"], 3)
        row["within_grid_std"] = row["test_auc"] >= grid["test_auc"] - grid["test_auc_std"]
    machine = f"{platform.node()}, {os.cpu_count()} cpu, python {platform.python_version()}"
    print(f"machine: {machine}; ae on digits, {args.epochs} epochs, seeds {args.seeds}, {args.samples} samples")
    print_table(rows, ["search", "trials", "stopped", "trial_epochs", "share_of_grid_epochs", "wall_s", "test_auc",
                       "test_auc_std", "within_grid_std", "chosen"])
    write_csv(args.out, rows, {"machine": machine, "epochs": args.epochs, "samples": args.samples})


if __name__ == "__main__":
    main()
