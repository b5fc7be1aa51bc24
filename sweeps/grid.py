"""Run a grid sweep: methods x hyperparameters x datasets x settings x seeds, as Ray Tune trials.

    python sweeps/grid.py --method ae                          # default dataset and grid, 5 seeds
    python sweeps/grid.py --method ae --method iforest --dataset breast_cancer --seeds 110 210
    python sweeps/grid.py --method ae --set learning_rate=1e-3,1e-4 --set p_contamination=0,0.05
    python sweeps/grid.py --method ae --gpus-per-trial 0.25     # 4 trials share each GPU
    python sweeps/grid.py --method ae --name my-sweep --resume  # continue an interrupted sweep
    python sweeps/grid.py --method ae --address auto --storage s3://bucket/adray   # on a cluster

``--set`` keys are the method's hyperparameters or setting fields (setting, p_contamination,
n_train_anomalies, p_test, p_val, split_seed); several values make an axis of the grid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from adray.errors import AdrayError, run_guarded  # noqa: E402
from adray.tune import spaces  # noqa: E402
from adray.tune.sweep import SweepRequest, parse_set, run_sweep  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", action="append", required=True, help="detector name (repeat for several)")
    p.add_argument("--dataset", action="append", help="dataset or dataset:setting (repeat); default: each method's embedded default")
    p.add_argument("--seeds", type=int, nargs="+", default=spaces.DEFAULT_SEEDS, help="trial seeds (default: %(default)s)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2", help="grid axis (repeat)")
    p.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPU share per trial, e.g. 0.25")
    p.add_argument("--cpus-per-trial", type=float, default=1.0)
    p.add_argument("--address", help="Ray cluster address (e.g. auto); default: start a local Ray")
    p.add_argument("--storage", default=str(REPO / "results"), help="results folder or URI (s3://, gs://)")
    p.add_argument("--name", help="sweep name (default: methods + timestamp)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep (default: the latest one)")
    p.add_argument("--max-failures", type=int, default=2, help="retries of a crashed trial (from its checkpoint)")
    p.add_argument("--checkpoint-every", type=int, default=5, help="checkpoint every K epochs")
    p.add_argument("--smoke", action="store_true", help="tiny epochs: a fast end-to-end check")
    p.add_argument("--autoscale", action="store_true", help="the cluster adds nodes on demand: skip the capacity check")
    p.add_argument("--no-report", action="store_true", help="skip the report at the end")
    p.add_argument("--verbose", type=int, default=1, help="0 quiet, 1 progress table, 2 also trial logs")
    return p


def report(folder) -> None:
    """The sweep's report: method x dataset, mean ± std of test AUC over seeds (configuration chosen on
    validation), plus tables, tests and plots under <sweep>/report/."""
    if isinstance(folder, str):  # cloud storage: the analysis reads local files
        print(f"artifacts are in {folder}; copy the folder locally and run `adray report <folder>`")
        return
    from adray.analysis.report import make_report

    try:
        result = make_report(folder)
    except AdrayError as exc:
        print(f"grid.py: the sweep finished but its report could not be made: {exc}", file=sys.stderr)
        return
    print(f"\ntest AUC, mean ± std over seeds, of each method's best-validation configuration:\n\n{result.table}")
    print(f"artifacts: {folder}/<trial>/ (params.json, trial.json, metric.csv, roc.csv, scores.parquet, history.csv)")
    print(f"report:    {result.report_dir}/ (tables, Wilcoxon tests, ROC and training plots; summary.md lists all)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def sweep() -> None:
        request = SweepRequest(
            methods=args.method, datasets=args.dataset, seeds=args.seeds, overrides=parse_set(args.set),
            gpus_per_trial=args.gpus_per_trial, cpus_per_trial=args.cpus_per_trial, address=args.address,
            storage=args.storage, name=args.name, resume=args.resume, max_failures=args.max_failures,
            smoke=args.smoke, checkpoint_every=args.checkpoint_every, autoscale=args.autoscale,
            verbose=args.verbose,
        )
        folder = run_sweep(request)
        if not args.no_report:
            report(folder)

    return run_guarded("grid.py", sweep, "interrupted; continue with the same command plus --resume")

if __name__ == "__main__":
    sys.exit(main())
