"""The ``adray`` command: ``adray sweep`` (also ``python sweeps/grid.py``), ``adray report SWEEP_DIR``,
``adray methods``, ``adray datasets``, ``adray download NAME``, ``adray prepare NAME``, and
``adray check-cluster`` / ``adray cluster-policy`` for cluster.yaml, and ``adray bench NAME`` (the benchmarks,
:mod:`adray.bench`).

User mistakes (a missing file, an unknown name, an impossible setting) are :class:`AdrayError`s:
printed as one message, exit code 2, no traceback. ``ADRAY_DEBUG=1`` shows the traceback anyway.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adray.errors import AdrayError, run_guarded
from adray.tables import format_table

# the scores a report can select on and tabulate (adray.metrics.evaluate without threshold and loss)
SCORES = ("auc", "ap", "accuracy", "precision", "recall", "f1", "precision_macro", "recall_macro", "f1_macro")


def _classes_text(counts: dict[str, int], limit: int = 48) -> str:
    text = ", ".join(counts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is below it (``data/nsl_kdd``), else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def dataset_rows(data_dir: Path) -> list[dict]:
    """One record per known dataset: status, size and where its files go."""
    from adray.data.cache import cache_path, cached_meta, find_raw_files, fingerprint, raw_dir
    from adray.data.catalog import all_specs

    records = []
    for spec in all_specs(data_dir).values():
        record = {"name": spec.name, "title": spec.title, "url": spec.url, "rows": "-", "shape": "-",
                  "classes": "-", "files": "(none: shipped with a package)" if spec.embedded else
                  f"{_shown(raw_dir(spec, data_dir))}/"
                  + ", ".join(p.split("|")[0] for p in spec.files)}
        files, missing = find_raw_files(spec, data_dir)
        if spec.embedded:  # listing builds nothing: a cache that exists tells the size, else it is built on use
            path = cache_path(spec, fingerprint(spec, files, data_dir), data_dir)
            record["status"] = "embedded" if path.exists() else "embedded (prepared on first use)"
            meta, rows = cached_meta(path) if path.exists() else (None, "-")
        elif missing:
            record["status"] = "missing"
            meta = None
        else:
            path = cache_path(spec, fingerprint(spec, files, data_dir), data_dir)
            if path.exists():
                record["status"] = "ready"
                meta, rows = cached_meta(path)
            else:
                record["status"] = "present (run adray prepare)"
                meta = None
        if meta is not None:
            record.update(rows=str(rows), shape="x".join(map(str, meta.shape)),
                          classes=_classes_text(meta.extra.get("class_counts", {})))
        records.append(record)
    return records


def cmd_datasets(args) -> int:
    from adray.data.catalog import default_data_dir

    data_dir = Path(args.data_dir).resolve() if args.data_dir else default_data_dir()
    records = dataset_rows(data_dir)
    header = ["name", "status", "rows", "shape", "classes", "put the files in"]
    rows = [[r["name"], r["status"], r["rows"], r["shape"], r["classes"], r["files"]] for r in records]
    print(f"datasets (data folder: {data_dir})\n")
    print(format_table(rows, header))
    print("\nwhere to get them:")
    for r in records:
        print(f"  {r['name']:<14} {r['title']}: {r['url']}")
    print("\nAny ODDS .mat / ADBench .npz file (arrays X, y) in data/odds/ becomes dataset odds:<file stem>.")
    return 0


def cmd_methods(args) -> int:
    from adray.sweep import listing

    print(listing.markdown_table() if args.markdown else listing.methods_text())
    return 0


def cmd_bench(args) -> int:
    from adray import bench

    if args.name is None:
        print(bench.listing())
        return 0
    return bench.run(args.name, args.args)


def cmd_check_cluster(args) -> int:
    from adray.tune.cluster_config import check_cluster_file

    print(check_cluster_file(args.file))
    return 0


def cmd_cluster_policy(args) -> int:
    from adray.tune import cluster_iam
    from adray.tune.cluster_config import read_cluster_file

    paths = cluster_iam.write(read_cluster_file(Path(args.file)), args.bucket, args.ssh_cidr, Path(args.out))
    print("wrote " + ", ".join(_shown(p.resolve()) for p in paths))
    print(f"read {_shown(paths[-1].resolve())}, run it once, put the security group id it prints into cluster.yaml, "
          f"then `adray check-cluster {args.file}`")
    return 0


def cmd_prepare(args) -> int:
    from adray.data.cache import prepare

    data_dir = Path(args.data_dir).resolve() if args.data_dir else None
    for name in args.names:
        result = prepare(name, data_dir, rebuild=args.rebuild)
        ds = result.dataset
        verb = "prepared" if result.built else "already prepared"
        print(f"{name}: {verb} in {result.seconds:.2f} s -> {result.path}")
        print(f"  rows {len(ds)}, shape {ds.meta.shape}, official test split: {ds.meta.has_official_test}, "
              f"groups: {ds.meta.has_groups}")
        print(f"  classes: {', '.join(f'{c} ({n})' for c, n in ds.class_counts().items())}")
    return 0


def cmd_download(args) -> int:
    from adray.data.download import download

    data_dir = Path(args.data_dir).resolve() if args.data_dir else None
    for name in args.names:
        download(name, data_dir, trust_first_download=args.trust_first_download)
    return 0


def cmd_report(args) -> int:
    from adray.analysis.page import open_page
    from adray.analysis.report import make_report

    folders = [Path(s) for s in args.sweep]
    result = make_report(folders if len(folders) > 1 else folders[0], reference=args.reference, metric=args.metric,
                         fmt=args.format, std=args.std, transpose=args.transpose, columns=args.columns,
                         paper=args.paper, out=Path(args.out) if args.out else None)
    print(result.table, end="")
    side = result.report_dir / "metrics.md"
    if (args.columns or args.paper) and side.exists():
        print("\n" + side.read_text(), end="")
    for warning in result.warnings:
        print(f"adray: warning: {warning}", file=sys.stderr)
    print(f"\nreport written to {_shown(result.report_dir.resolve())}/ (summary.md lists every file; "
          f"{result.page.name} shows it all on one page)", file=sys.stderr)
    if args.open and not open_page(result.page):
        print(f"adray: no web browser to open it with; open {result.page.resolve()} yourself", file=sys.stderr)
    return 0


SWEEP_HELP = """Run a sweep: methods x hyperparameters x datasets x settings x seeds, as Ray Tune trials.

    adray sweep --method ae                          # default dataset and grid, 5 seeds
    adray sweep --method ae --method iforest --dataset breast_cancer --seeds 110 210
    adray sweep --method ae --set learning_rate=1e-3,1e-4 --set p_contamination=0,0.05
    adray sweep --method ae --gpus-per-trial 0.25     # 4 trials share each GPU
    adray sweep --name my-sweep --resume              # continue an interrupted sweep (its own request)
    adray sweep --method ae --address auto --storage s3://bucket/adray   # on a cluster

``--set`` keys are the method's hyperparameters or setting fields (setting, p_contamination,
n_train_anomalies, p_test, p_val, split_seed); several values make an axis of the grid.
Exit codes: 0 every trial has an outcome; 1 stopped early (storage full, trials that cannot start);
2 bad input; 130 / 143 interrupted by SIGINT / SIGTERM (continue with --resume).
"""


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    """The sweep's options. Defaults are the SweepRequest's (stated once there); an option left out is
    None here, so that a --config file's value is used unless the command gives one."""
    from adray.sweep.request import SCHEDULERS, SEARCHES, SweepRequest

    d = SweepRequest()
    p.add_argument("--config", metavar="FILE", help="a sweep file (YAML, e.g. sweeps/argue.yaml); flags override it")
    p.add_argument("--dry-run", action="store_true",
                   help="print the expanded trials, their resources, the work and the missing data; run nothing")
    p.add_argument("--method", action="append", help="detector name (repeat for several); `adray methods` lists them")
    p.add_argument("--dataset", action="append",
                   help="dataset or dataset:setting (repeat); default: each method's embedded default")
    p.add_argument("--seeds", type=int, nargs="+", help=f"trial seeds (default: {' '.join(map(str, d.seeds))})")
    p.add_argument("--set", action="append", metavar="KEY=V1,V2",
                   help="a grid axis (values), or a distribution the searcher samples: loguniform(a,b), uniform(a,b), "
                        "randint(a,b) (b excluded), choice(v1,v2,...); METHOD.KEY for one method (repeat)")
    p.add_argument("--search", choices=SEARCHES,
                   help="grid: every combination; random or optuna (TPE): --samples configurations per method, "
                        f"dataset and grid point, each run on every seed (default: {d.search})")
    p.add_argument("--samples", type=int, help=f"configurations sampled per cell (default: {d.samples})")
    p.add_argument("--search-seed", type=int, help=f"seeds the searcher (default: {d.search_seed})")
    p.add_argument("--scheduler", choices=SCHEDULERS,
                   help="asha: seed-aware successive halving on the validation metric, stopping a configuration's "
                        f"seeds together (default: {d.scheduler})")
    p.add_argument("--gpus-per-trial", type=float,
                   help=f"GPU share per trial, e.g. 0.25 (default: {d.gpus_per_trial:g})")
    p.add_argument("--cpus-per-trial", type=float, help=f"CPUs per trial (default: {d.cpus_per_trial:g})")
    p.add_argument("--address", help="Ray cluster address (auto: the cluster `ray start` runs on this machine); "
                   "default: $RAY_ADDRESS, else a new local Ray")
    p.add_argument("--storage", help=f"results folder or URI (s3://, gs://) (default: {d.storage}, or $ADRAY_RESULTS)")
    p.add_argument("--name", help="sweep name: letters, digits, . _ - (default: methods + timestamp)")
    p.add_argument("--resume", action="store_true", default=None,
                   help="continue an interrupted sweep (default: the newest unfinished one); finished trials are "
                        "not run again")
    p.add_argument("--max-failures", type=int,
                   help=f"retries of a crashed trial, from its checkpoint (default: {d.max_failures})")
    p.add_argument("--checkpoint-every", type=int, help=f"checkpoint every K epochs (default: {d.checkpoint_every})")
    p.add_argument("--smoke", action="store_true", default=None, help="tiny epochs: a fast end-to-end check")
    p.add_argument("--autoscale", action="store_true", default=None,
                   help="the cluster adds nodes on demand: skip the capacity check")
    p.add_argument("--pending-timeout", type=float,
                   help=f"end the sweep when no trial could start for this many seconds "
                        f"(default: {d.pending_timeout:g})")
    p.add_argument("--tuner-size", type=int,
                   help=f"trials per Ray Tune Tuner; larger sweeps run as successive Tuners in one folder "
                        f"(default: {d.tuner_size})")
    p.add_argument("--mlflow", nargs="?", const="", metavar="URI",
                   help="log every trial as an MLflow run (params, per-epoch and final metrics, artifacts), one "
                        "experiment per sweep; URI: a tracking server or folder (default: <storage>/mlruns)")
    p.add_argument("--no-report", action="store_true", help="skip the report at the end")
    p.add_argument("--verbose", type=int, help=f"0 quiet, 1 progress table, 2 also trial logs (default: {d.verbose})")


# command-line options that are SweepRequest fields of the same name
_REQUEST_OPTIONS = ("datasets", "seeds", "search", "samples", "search_seed", "scheduler", "gpus_per_trial",
                    "cpus_per_trial", "address", "storage", "name", "resume", "max_failures", "checkpoint_every",
                    "smoke", "autoscale", "pending_timeout", "tuner_size", "verbose")


def sweep_request(args):
    """The SweepRequest of a command: the dataclass defaults, then the --config file, then the flags given."""
    from adray.sweep.request import SweepRequest, parse_set
    from adray.sweep.sweepfile import load_sweep_file

    fields = load_sweep_file(args.config) if args.config else {}
    given = {"methods": args.method, "datasets": args.dataset,
             **{k: getattr(args, k, None) for k in _REQUEST_OPTIONS if k != "datasets"}}
    fields.update({k: v for k, v in given.items() if v is not None})
    fields["overrides"] = {**fields.get("overrides", {}), **parse_set(args.set or [])}
    if args.mlflow is not None:
        fields["mlflow"] = args.mlflow or str(Path(fields.get("storage") or SweepRequest().storage) / "mlruns")
    if args.config:
        fields["config_file"] = str(Path(args.config).resolve())
    return SweepRequest(**fields)


def cmd_sweep(args) -> int:
    import logging

    from adray.sweep.preview import missing_datasets, preview
    from adray.tune.runner import run_sweep

    request = sweep_request(args)
    if not request.methods and not request.resume:
        raise AdrayError("no method given: pass --method NAME (see `adray methods`), --config FILE, or --resume to "
                         "continue a sweep")
    if request.resume and not request.methods and (args.seeds is not None or args.set or args.dataset):
        raise AdrayError("--resume with --seeds, --set or --dataset must also repeat --method: restate the sweep's "
                         "command (it may add seeds and values), or give only --name and --resume")
    if args.config and request.methods:  # a sweep file runs on the data that is present
        missing = missing_datasets(request)
        by_message: dict[str, list[str]] = {}  # one line per missing dataset, naming each of its settings
        for name, message in missing.items():
            by_message.setdefault(message, []).append(name)
        for message, names in by_message.items():
            print(f"adray: skipping {', '.join(names)}: {message}", file=sys.stderr)
        if missing:
            kept = [d for d in (request.datasets or []) if d not in missing]
            if not kept and args.dry_run:  # still show what the file asks for, so it can be sized before downloading
                print(f"none of the datasets of {args.config} is present (see the messages above); with their files "
                      "it would run:")
                print(preview(request, require_files=False))
                return 0
            if not kept:
                raise AdrayError(f"none of the datasets of {args.config} is present; see the messages above "
                                 "(--dry-run shows what it would run)")
            request.datasets = kept
    if args.dry_run:
        print(preview(request))
        return 0
    logger = logging.getLogger("adray")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if request.verbose > 0 else logging.WARNING)
    result = run_sweep(request)
    print(result.summary(), flush=True)
    if not result.local:
        print(f"artifacts are in {result.folder}; copy the folder locally and run `adray report <folder>`")
    elif result.outcome != "complete":
        print(f"a partial report (every trial listed with its status): adray report {_shown(result.folder)}")
    elif not args.no_report:
        _sweep_report(result.folder)
    return result.exit_code


def winners_text(report_dir: Path) -> str:
    """The chosen configuration of each method, dataset and setting, one line each."""
    import pandas as pd

    selected = pd.read_csv(report_dir / "selected.csv")
    lines = ["chosen configurations (per method, dataset and setting):"]
    for row in selected.itertuples(index=False):
        where = f"{row.dataset}" + (f":{row.setting_name}" if isinstance(row.setting_name, str) else "")
        if pd.isna(row.config_id):
            lines.append(f"  {row.method} on {where}: none ({row.note})")
            continue
        lines.append(f"  {row.method} on {where}: #{str(row.config_id)[:6]} {row.params} (by {row.selected_by})")
    return "\n".join(lines) + "\n"


def _sweep_report(folder: Path) -> None:
    """The sweep's report: method x dataset, mean ± std of test AUC over seeds (configuration chosen on
    validation), plus tables, tests and plots under <sweep>/report/."""
    from adray.analysis.report import make_report

    try:
        result = make_report(folder)
    except AdrayError as exc:
        print(f"adray: the sweep finished but its report could not be made: {exc}", file=sys.stderr)
        return
    print(f"\ntest AUC, mean ± std over seeds, of each method's best-validation configuration:\n\n{result.table}")
    print(winners_text(result.report_dir))
    print(f"artifacts: {_shown(folder)}/<trial>/ (config.json, trial.json, metric.csv, roc.csv, scores.parquet, "
          "history.csv)")
    print(f"report:    {_shown(result.report_dir)}/ (tables, Wilcoxon tests, ROC and training plots; summary.md "
          "lists all)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adray", description="Ray-distributed anomaly-detection sweeps")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sweep", help="run or resume a sweep (the same as python sweeps/grid.py)",
                       description=SWEEP_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sweep_arguments(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("datasets", help="list every dataset, whether its files are present, and where to get them")
    p.add_argument("--data-dir", help="raw data folder (default: $ADRAY_DATA or ./data)")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("methods", help="list the detectors: supervision, summary, default dataset and grid")
    p.add_argument("--markdown", action="store_true", help="print the README's methods table instead")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("bench", help="run a benchmark (adray bench lists them; adray bench all runs the suite)",
                       description="Run a benchmark: adray bench NAME [its arguments] (adray bench NAME --help for "
                                   "them). Without NAME, list the benchmarks; 'all' runs the suite.")
    p.add_argument("name", nargs="?", metavar="NAME", help="a benchmark, or 'all' for the suite")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="...", help="the benchmark's own arguments")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("check-cluster", help="validate a Ray cluster-launcher file (YAML + Ray's schema) before ray up")
    p.add_argument("file", nargs="?", default="cluster.yaml")
    p.set_defaults(func=cmd_check_cluster)

    p = sub.add_parser("cluster-policy", help="least-privilege IAM roles and an SSH-limited security group for "
                       "cluster.yaml: policy JSON files and the aws commands that create them")
    p.add_argument("file", nargs="?", default="cluster.yaml")
    p.add_argument("--bucket", required=True, help="the S3 bucket of --storage s3://<bucket>/...")
    p.add_argument("--ssh-cidr", required=True, help="who may SSH to the cluster, e.g. your address as a /32")
    p.add_argument("--out", required=True, help="folder for trust.json, head-policy.json, worker-policy.json, setup.sh")
    p.set_defaults(func=cmd_cluster_policy)

    p = sub.add_parser("prepare", help="convert a dataset's raw files into the Parquet cache")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--rebuild", action="store_true", help="rebuild even if a current cache exists")
    p.add_argument("--data-dir", help="raw data folder (default: $ADRAY_DATA or ./data)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("download", help="fetch a dataset's files (SHA-256 checked, resumable) into data/<folder>/")
    p.add_argument("names", nargs="+", metavar="NAME", help="e.g. mnist, dsads, odds:cardio, adbench:cardio, adbench")
    p.add_argument("--trust-first-download", action="store_true",
                   help="also fetch files with no pinned SHA-256, recording theirs in data/<folder>/SHA256SUMS")
    p.add_argument("--data-dir", help="raw data folder (default: $ADRAY_DATA or ./data)")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("report", help="tables, significance tests and plots of a finished (or partial) sweep")
    p.add_argument("sweep", metavar="SWEEP_DIR", nargs="+",
                   help="the sweep folder, e.g. results/<sweep>; several folders are reported as one (refused when "
                        "their settings or data differ)")
    p.add_argument("--out", metavar="DIR", help="the report folder (default: report/ in the first SWEEP_DIR)")
    p.add_argument("--open", action="store_true", help="open the report page (report/index.html) in a web browser")
    p.add_argument("--reference", metavar="METHOD", help="method tested against all others (default: first by name)")
    p.add_argument("--metric", choices=SCORES, default="auc", metavar="METRIC",
                   help="selects configurations on validation and fills the table with test values (default auc; "
                        f"any of {', '.join(SCORES)})")
    p.add_argument("--columns", type=lambda text: [m.strip() for m in text.split(",") if m.strip()],
                   metavar="M1,M2", help="also print these test metrics side by side (report/metrics.md)")
    p.add_argument("--paper", action="store_true",
                   help="also print the metrics each method's paper reports, side by side (e.g. AMSL: mPre, mRec, "
                        "mF1, Acc)")
    p.add_argument("--format", choices=["md", "latex", "csv"], default="md", help="format printed (all are written)")
    p.add_argument("--std", action=argparse.BooleanOptionalAction, default=True, help="show ± std over seeds")
    p.add_argument("--transpose", action="store_true", help="datasets as rows, methods as columns")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    interrupted = "interrupted; continue with the same command plus --resume" if args.command == "sweep" \
        else "interrupted"
    return run_guarded("adray", lambda: args.func(args), interrupted)


if __name__ == "__main__":
    sys.exit(main())
