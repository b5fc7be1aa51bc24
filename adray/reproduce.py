"""AMSL's paper run on DSADS, next to the paper's Table 3: the code behind ``sweeps/reproduce_amsl.py``.

The protocol is AMSL's own (``dsads:amsl``: 60 % of the normal windows train, the rest and every
anomalous window test, 20 % of the training windows held out as all-normal validation) with the
published budget: the default network, 100 epochs, batch 16, Adam at 1e-3, and adray's five default
seeds. It is GPU work: one epoch of the default network takes about ten CPU-minutes
(``adray bench amsl``), so the five seeds share one GPU as fractional Ray trials. Everything
else is the ordinary sweep and report; this module only checks that the run can start, runs it and
prints the report's test metrics beside the paper's.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from adray.errors import AdrayError

PAPER = "Zhang et al., Adaptive Memory Networks with Self-supervised Learning, TKDE 2021, Table 3 (DSADS)"
# the paper's AMSL row on DSADS: macro precision, macro recall, mF1 (F1 of those two), accuracy
PAPER_TABLE3 = {"precision_macro": 0.9407, "recall_macro": 0.9298, "f1_macro": 0.9352, "accuracy": 0.9332}
LABELS = {"precision_macro": "mPre", "recall_macro": "mRec", "f1_macro": "mF1", "accuracy": "Acc"}
PAPER_BUDGET = {"epochs": 100, "batch_size": 16, "learning_rate": 1e-3}  # the published code's training
DATASET = "dsads:amsl"
DSADS_FILES = 19 * 8 * 60  # activities x subjects x 5-second segments
GPUS_PER_TRIAL = 0.2  # the five seeds train side by side on one GPU


class NotReadyError(AdrayError):
    """The paper run cannot start here: no CUDA device, or no DSADS files."""


def check_ready(cpu: bool, smoke: bool) -> None:
    """Refuse, in one message naming every missing piece and how to get it, before anything starts.

    ``cpu``: train on the CPU (no CUDA needed). ``smoke``: a tiny budget, so any number of DSADS
    files will do; the paper run needs all 9,120.
    """
    problems = []
    if not cpu:
        import torch

        if not torch.cuda.is_available():
            why = ("this torch is a CPU-only build" if torch.version.cuda is None
                   else "torch sees no CUDA device")
            problems.append(f"a CUDA GPU ({why}; torch {torch.__version__}): 100 epochs of AMSL's default network "
                            "take about 17 CPU-hours per seed (adray bench amsl), so run this on a CUDA "
                            "machine, or add --cpu --smoke to check the whole flow here on a tiny budget")
    problem = _dsads_problem(smoke)
    if problem:
        problems.append(problem)
    if problems:
        raise NotReadyError("cannot reproduce AMSL's paper run here: it needs " + "; and ".join(problems))


def _dsads_problem(smoke: bool) -> str | None:
    from adray.data.cache import find_raw_files, raw_dir
    from adray.data.catalog import default_data_dir, get_spec

    data_dir = default_data_dir()
    spec = get_spec("dsads", data_dir)
    files, _ = find_raw_files(spec, data_dir)
    folder = raw_dir(spec, data_dir)
    get = ("get them with `adray download dsads --trust-first-download` (UCI publishes no checksum; the flag "
           f"records the archive's), or put the a01..a19 folders of {spec.url} there (ADRAY_DATA chooses another "
           "data folder)")
    if not files:
        return f"the DSADS files (a01..a19/p1..p8/s01..s60.txt, {DSADS_FILES:,} files) in {folder}/, found none: {get}"
    if len(files) != DSADS_FILES and not smoke:
        return (f"all {DSADS_FILES:,} DSADS files in {folder}/ (the paper's protocol uses every segment), "
                f"found {len(files):,}: {get}")
    return None


def sweep_request(args: argparse.Namespace):
    from adray.sweep.request import SweepRequest

    return SweepRequest(
        methods=["amsl"], datasets=[DATASET], seeds=list(args.seeds),
        overrides={key: [value] for key, value in PAPER_BUDGET.items()},
        gpus_per_trial=0.0 if args.cpu else args.gpus_per_trial, storage=args.storage, name=args.name,
        resume=args.resume, smoke=args.smoke, verbose=args.verbose,
    )


def command_line(args: argparse.Namespace) -> str:
    """The ``adray sweep`` command this run is (also what ``--dry-run`` prints)."""
    gpus = 0.0 if args.cpu else args.gpus_per_trial
    sets = " ".join(f"--set {key}={value:g}" for key, value in PAPER_BUDGET.items())
    parts = [f"adray sweep --method amsl --dataset {DATASET} --seeds {' '.join(map(str, args.seeds))} {sets}",
             f"--gpus-per-trial {gpus:g}" if gpus else "", "--smoke" if args.smoke else "",
             f"--name {args.name}" if args.name else "", "--resume" if args.resume else ""]
    return " ".join(p for p in parts if p)


def comparison(metrics_csv: Path) -> pd.DataFrame:
    """Rows mPre, mRec, mF1, Acc: the paper's value, adray's test mean and std over seeds, the difference."""
    frame = pd.read_csv(metrics_csv)
    rows = frame[frame["method"] == "amsl"]
    if len(rows) != 1:
        raise AdrayError(f"{metrics_csv} has {len(rows)} AMSL rows, expected one (the dsads:amsl cell)")
    row = rows.iloc[0]
    records = []
    for metric, paper in PAPER_TABLE3.items():
        mean, std = float(row[metric]), float(row[f"{metric} std"])
        records.append({"metric": LABELS[metric], "name": metric, "paper": paper, "adray_mean": mean,
                        "adray_std": std, "difference": mean - paper, "seeds": int(row["n"])})
    return pd.DataFrame(records)


def comparison_text(table: pd.DataFrame, budget: str) -> str:
    def number(value: float, signed: bool = False) -> str:
        return "-" if not math.isfinite(value) else f"{value:+.4f}" if signed else f"{value:.4f}"

    lines = [f"AMSL on DSADS ({DATASET}), {budget}: adray's test metrics beside {PAPER}", "",
             "| metric | paper | adray (mean ± std) | difference |", "|---|---:|---:|---:|"]
    for row in table.to_dict("records"):
        adray = f"{number(row['adray_mean'])} ± {number(row['adray_std'])}"
        lines.append(f"| {row['metric']} | {row['paper']:.4f} | {adray} | {number(row['difference'], True)} |")
    lines += ["", f"mean ± std over {int(table['seeds'].max())} seed(s); difference = adray mean - paper; "
              "threshold at the 98th percentile of the training scores, as in the paper"]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Check, run the sweep, report; returns the exit code (the sweep's when it did not complete)."""
    if not args.cpu and not 0 < args.gpus_per_trial <= 1:
        raise AdrayError(f"--gpus-per-trial must be above 0 and at most 1 (got {args.gpus_per_trial:g}): the share "
                         "of one GPU each seed trains on; use --cpu to train on the CPU")
    check_ready(args.cpu, args.smoke)
    print(command_line(args), flush=True)
    if args.dry_run:
        print(f"dry run: the GPU and the DSADS files are ready; {len(args.seeds)} trial(s) would run "
              f"({'tiny smoke budget' if args.smoke else 'the paper budget, ' + _budget_text()}), nothing was started")
        return 0
    from adray.analysis.report import make_report
    from adray.tune.runner import run_sweep

    _show_progress(args.verbose)
    result = run_sweep(sweep_request(args))
    print(result.summary(), flush=True)
    if not result.local:
        print(f"artifacts are in {result.folder}; copy the folder here and run `adray report <folder> --paper`")
        return result.exit_code
    if result.outcome != "complete":
        print(f"continue with the same command plus --resume --name {result.name}; a partial report: "
              f"adray report {result.folder} --paper")
        return result.exit_code
    report = make_report(result.folder, paper=True)
    for warning in report.warnings:
        print(f"adray: warning: {warning}")
    table = comparison(report.report_dir / "metrics.csv")
    text = comparison_text(table, "smoke budget (not the paper's)" if args.smoke else _budget_text())
    (report.report_dir / "paper_table3.md").write_text(text)
    table.to_csv(report.report_dir / "paper_table3.csv", index=False)
    print("\n" + text + f"\nwritten to {report.report_dir}/paper_table3.md and .csv (the whole report: summary.md)")
    return 0


def _show_progress(verbose: int) -> None:
    """The sweep's progress lines on stdout, as ``adray sweep`` prints them."""
    import logging
    import sys

    logger = logging.getLogger("adray")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose > 0 else logging.WARNING)


def _budget_text() -> str:
    return ", ".join(f"{key} {value:g}" for key, value in PAPER_BUDGET.items())


def build_parser() -> argparse.ArgumentParser:
    from adray.sweep.request import DEFAULT_SEEDS, DEFAULT_STORAGE

    parser = argparse.ArgumentParser(
        prog="reproduce_amsl.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="AMSL's paper run on DSADS (5 seeds, 100 epochs, fractional GPUs) and its report beside "
                    "the paper's Table 3 (mPre .9407, mRec .9298, mF1 .9352, Acc .9332).\n\n"
                    "    python sweeps/reproduce_amsl.py                 # on a CUDA machine with data/dsads/\n"
                    "    python sweeps/reproduce_amsl.py --dry-run       # check GPU and files, start nothing\n"
                    "    python sweeps/reproduce_amsl.py --cpu --smoke   # the whole flow on a CPU, tiny budget")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS),
                        help=f"trial seeds (default: {' '.join(map(str, DEFAULT_SEEDS))})")
    parser.add_argument("--gpus-per-trial", type=float, default=GPUS_PER_TRIAL,
                        help="GPU share per trial (default: %(default)g, five seeds on one GPU)")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU (no CUDA needed; slow at the paper "
                        "budget)")
    parser.add_argument("--smoke", action="store_true", help="tiny network and 2 epochs: checks the flow, not the "
                        "paper's numbers; any number of DSADS files will do")
    parser.add_argument("--dry-run", action="store_true", help="check the GPU and the files, print the sweep, "
                        "start nothing")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help="results folder (default: %(default)s)")
    parser.add_argument("--name", help="sweep name (default: method + timestamp)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run (with its --name)")
    parser.add_argument("--verbose", type=int, default=1, help="0 quiet, 1 progress table, 2 also trial logs")
    return parser


def main(argv: list[str] | None = None) -> int:
    from adray.errors import run_guarded

    args = build_parser().parse_args(argv)
    return run_guarded("reproduce_amsl", lambda: run(args),
                       "interrupted; continue with the same command plus --resume --name <the sweep's name>")
