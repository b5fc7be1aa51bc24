"""The ``adray`` command: ``adray datasets``, ``adray methods``, ``adray prepare NAME``,
``adray report SWEEP_DIR``, and ``adray check-cluster`` / ``adray cluster-policy`` for cluster.yaml.

User mistakes (a missing file, an unknown name, an impossible setting) are :class:`AdrayError`s:
printed as one message, exit code 2, no traceback. ``ADRAY_DEBUG=1`` shows the traceback anyway.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adray.errors import run_guarded


def _format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


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
    from adray.data.cache import cache_path, cached_meta, find_raw_files, fingerprint, prepare, raw_dir
    from adray.data.catalog import all_specs

    records = []
    for spec in all_specs(data_dir).values():
        record = {"name": spec.name, "title": spec.title, "url": spec.url, "rows": "-", "shape": "-",
                  "classes": "-", "files": "(none: shipped with a package)" if spec.embedded else
                  f"{_shown(raw_dir(spec, data_dir))}/"
                  + ", ".join(p.split("|")[0] for p in spec.files)}
        files, missing = find_raw_files(spec, data_dir)
        if spec.embedded:
            prepared = prepare(spec.name, data_dir)
            record["status"] = "embedded"
            meta, rows = prepared.dataset.meta, len(prepared.dataset)
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
    print(_format_table(rows, header))
    print("\nwhere to get them:")
    for r in records:
        print(f"  {r['name']:<14} {r['title']}: {r['url']}")
    print("\nAny ODDS .mat / ADBench .npz file (arrays X, y) in data/odds/ becomes dataset odds:<file stem>.")
    return 0


def cmd_methods(args) -> int:
    import inspect

    from adray.detectors import get, names
    from adray.tune import spaces

    for name in names():
        cls = get(name)
        doc = (inspect.getdoc(cls) or "").splitlines()[0] if inspect.getdoc(cls) else ""
        params = inspect.signature(cls.__init__).parameters
        defaults = ", ".join(f"{k}={p.default!r}" for k, p in params.items() if k != "self")
        grid = spaces.default_grid(name)
        print(f"{name}: {doc}")
        print(f"  supervision: {cls.supervision}; GPU: {'yes' if cls.uses_gpu else 'no'}; "
              f"default dataset: {spaces.default_dataset(name)}")
        print(f"  hyperparameters: {defaults}")
        print(f"  default grid: {grid or '(defaults only)'}")
    return 0


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


def cmd_report(args) -> int:
    from adray.analysis.report import make_report

    result = make_report(Path(args.sweep), reference=args.reference, metric=args.metric, fmt=args.format,
                         std=args.std, transpose=args.transpose)
    print(result.table, end="")
    for warning in result.warnings:
        print(f"adray: warning: {warning}", file=sys.stderr)
    print(f"\nreport written to {_shown(result.report_dir.resolve())}/ (summary.md lists every file)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adray", description="Ray-distributed anomaly-detection sweeps")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list every dataset, whether its files are present, and where to get them")
    p.add_argument("--data-dir", help="raw data folder (default: $ADRAY_DATA or ./data)")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("methods", help="list the detectors, their hyperparameters and default sweep grids")
    p.set_defaults(func=cmd_methods)

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

    p = sub.add_parser("report", help="tables, significance tests and plots of a finished (or partial) sweep")
    p.add_argument("sweep", metavar="SWEEP_DIR", help="the sweep folder, e.g. results/<sweep>")
    p.add_argument("--reference", metavar="METHOD", help="method tested against all others (default: first by name)")
    p.add_argument("--metric", choices=["auc", "ap"], default="auc",
                   help="selects configurations on validation and fills the table with test values (default auc)")
    p.add_argument("--format", choices=["md", "latex", "csv"], default="md", help="format printed (all are written)")
    p.add_argument("--std", action=argparse.BooleanOptionalAction, default=True, help="show ± std over seeds")
    p.add_argument("--transpose", action="store_true", help="datasets as rows, methods as columns")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded("adray", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
