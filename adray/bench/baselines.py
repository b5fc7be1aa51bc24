"""Benchmark: adray's baselines against PyOD's own detectors on real ODDS/ADBench tabular data.

    adray bench baselines [--data-dir FOLDER] [--seeds 110 210 310] [--datasets NAME ...]
                          [--methods ae deepsvdd ...] [--set deepsvdd.n_branches=1 ...]
                          [--out results/bench/baselines.csv]

``--data-dir`` is a folder of ODDS (.mat) / ADBench (.npz) files (default: ``data/odds/`` of adray's data
directory). Each file is read by adray's ODDS/ADBench reader (``odds:<stem>``), split by ``make_split`` in
its default setting (``clean``: unsupervised, trained on normal rows only; 40% of the rows test, redrawn per
seed) and scaled as a trial scales it (``prepare_arrays``: MinMax on the training rows). On those very
arrays, in one process, it fits:

- adray's ``ae``, ``deepsvdd``, ``deepsad``, ``iforest``, each with the first configuration of its default
  sweep grid (what ``adray sweep --method NAME`` runs: one default per method, never tuned per dataset),
  updated by ``--set`` as a sweep's is (``KEY=VALUE`` or ``METHOD.KEY=VALUE``; one value each), e.g. to
  set a named configuration next to the default (give it its own ``--out``: a method's rows are replaced
  when its configuration changes);
- PyOD's ``AutoEncoder``, ``DeepSVDD``, ``IForest``, ``ECOD`` through adray's ``pyod:`` adapter with PyOD's
  defaults (the seed as ``random_state``; ``n_features`` filled in by the adapter).

Pairs compared: ae / AutoEncoder, deepsvdd / DeepSVDD, deepsad / DeepSVDD (no labelled anomaly in this
setting: Deep-SAD is Deep-SVDD with its own loss offset), iforest / IForest; ECOD is a reference column.
Per pair: mean test AUC and AP of each side over datasets (each dataset the mean over seeds), the mean
difference, the worst dataset, wins/ties/losses (a tie is a per-dataset mean difference within
``TIE_MARGIN``) and the two-sided Wilcoxon signed-rank p-value over the per-dataset means.

Results are cached: one CSV row per (dataset, method, seed) with the configuration and the data file's
size and time stamp; a rerun skips the rows already there with the same configuration and data, so an
interrupted run continues where it stopped. Writes ``--out`` (the rows) and ``<out>_summary.csv`` (the
pairs), and prints Markdown tables. Torch runs on one CPU thread (``--threads``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

from adray.bench.common import results_dir
from adray.tables import format_table

ADRAY_METHODS = ["ae", "deepsvdd", "deepsad", "iforest"]
PYOD_METHODS = ["pyod:AutoEncoder", "pyod:DeepSVDD", "pyod:IForest", "pyod:ECOD"]
PAIRS = [("ae", "pyod:AutoEncoder"), ("deepsvdd", "pyod:DeepSVDD"), ("deepsad", "pyod:DeepSVDD"),
         ("iforest", "pyod:IForest")]
SEEDS = [110, 210, 310]
TIE_MARGIN = 0.005  # |per-dataset mean AUC (AP) difference| up to this counts as a tie
SETTING = "clean"
COLUMNS = ["dataset", "method", "seed", "auc", "ap", "fit_s", "n_train", "n_test", "test_anomalies", "config",
           "data_stamp"]


# ------------------------------------------------------------------------------------------ data
def odds_folder(files_dir: Path, work: Path) -> Path:
    """An adray data directory whose ``odds/`` links to the files of ``files_dir`` (any folder name)."""
    odds = work / "odds"
    odds.mkdir(parents=True, exist_ok=True)
    for path in sorted(files_dir.iterdir()):
        if path.suffix.lower() in (".npz", ".mat"):
            (odds / path.name).symlink_to(path.resolve())
    return work


def stamp(path: Path) -> str:
    info = path.stat()
    return f"{info.st_size}-{int(info.st_mtime)}"


def split_arrays(name: str, data_dir: Path, seed: int):
    """(X_train, y_train, X_test, y_test) of ``odds:<name>``: default setting, scaled as in a trial."""
    from adray.data import get_spec, load, make_split
    from adray.sweep.trial import prepare_arrays

    dataset = load(f"odds:{name}", data_dir)
    split = make_split(dataset, get_spec(f"odds:{name}", data_dir).setting(SETTING), seed)
    arrays = prepare_arrays(dataset, split)
    return arrays["train"], split.y_train, arrays["test"], split.y_test


# ------------------------------------------------------------------------------------------ methods
def default_config(method: str, overrides: dict | None = None) -> dict:
    """adray: the first configuration of the method's default grid updated by ``overrides`` (``--set``);
    PyOD: its own defaults (empty)."""
    from adray.sweep.request import grid_for

    return {} if method.startswith("pyod:") else grid_for(method, overrides or {})[0]


def run_one(method: str, config: dict, arrays, seed: int) -> dict:
    from adray.detectors import build
    from adray.metrics import auc, average_precision

    X, y, X_test, y_test = arrays
    detector = build(method, **config)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detector.fit(X, y, seed=seed, device="cpu")
        scores = detector.decision_function(X_test)
    return {"auc": round(auc(y_test, scores), 5), "ap": round(average_precision(y_test, scores), 5),
            "fit_s": round(time.perf_counter() - start, 2), "n_train": len(X), "n_test": len(X_test),
            "test_anomalies": int(y_test.sum())}


# ------------------------------------------------------------------------------------------ cache
def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [r for r in csv.DictReader(fh) if all(r.get(c) not in (None, "") for c in ("config", "data_stamp"))]


def write_rows(path: Path, rows: list[dict], fields: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)  # never a half-written cache


def key(row: dict) -> tuple:
    return row["dataset"], row["method"], int(row["seed"]), row["config"], row["data_stamp"]


# ------------------------------------------------------------------------------------------ summary
def per_dataset(rows: list[dict], metric: str):
    """DataFrame dataset x method: the metric's mean over seeds."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame[metric] = frame[metric].astype(float)
    return frame.groupby(["dataset", "method"])[metric].mean().unstack()


def summarize(rows: list[dict], pairs) -> list[dict]:
    import numpy as np
    from scipy.stats import wilcoxon

    out = []
    for metric in ("auc", "ap"):
        table = per_dataset(rows, metric)
        for ours, theirs in pairs:
            if ours not in table or theirs not in table:
                continue
            both = table[[ours, theirs]].dropna()
            diff = both[ours] - both[theirs]
            p = float(wilcoxon(both[ours], both[theirs]).pvalue) if (diff != 0).any() else 1.0
            out.append({
                "metric": metric, "adray": ours, "pyod": theirs, "datasets": len(both),
                "adray_mean": round(both[ours].mean(), 4), "pyod_mean": round(both[theirs].mean(), 4),
                "diff": round(diff.mean(), 4), "worst_diff": round(diff.min(), 4),
                "worst_dataset": diff.idxmin(), "wins": int((diff > TIE_MARGIN).sum()),
                "ties": int((diff.abs() <= TIE_MARGIN).sum()), "losses": int((diff < -TIE_MARGIN).sum()),
                "wilcoxon_p": float(np.round(p, 4)),
            })
    return out


def markdown(rows: list[dict], summary: list[dict], methods: list[str]) -> str:
    """Per metric, the dataset x method table with its mean row, then the pairs' summary (Markdown)."""
    lines = []
    for metric in ("auc", "ap"):
        table = per_dataset(rows, metric)
        cols = [m for m in methods if m in table]
        body = [[dataset, *(f"{v:.3f}" for v in values)] for dataset, values in table[cols].iterrows()]
        body.append(["**mean**", *(f"**{table[c].mean():.3f}**" for c in cols)])
        lines += [f"Test {metric.upper()} (mean over seeds):", "",
                  format_table(body, ["dataset", *cols], markdown=True), ""]
    pairs = [[s["metric"].upper(), s["adray"], s["pyod"], f"{s['adray_mean']:.3f}", f"{s['pyod_mean']:.3f}",
              f"{s['diff']:+.3f}", f"{s['worst_dataset']} ({s['worst_diff']:+.3f})",
              f"{s['wins']}/{s['ties']}/{s['losses']}", f"{s['wilcoxon_p']:.3g}"] for s in summary]
    header = ["metric", "adray", "PyOD", "adray mean", "PyOD mean", "diff", "worst dataset (diff)", "W/T/L",
              "Wilcoxon p"]
    lines.append(format_table(pairs, header, markdown=True))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    from adray.data import default_data_dir

    parser = argparse.ArgumentParser(prog="adray bench baselines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="a folder of ODDS/ADBench .npz/.mat files (default: data/odds/)")
    parser.add_argument("--datasets", nargs="+", default=None, help="file stems (default: every file)")
    parser.add_argument("--methods", nargs="+", default=ADRAY_METHODS + PYOD_METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=SEEDS)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a hyperparameter of adray's methods, as in a sweep (METHOD.KEY=VALUE for one method)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=results_dir() / "baselines.csv")
    args = parser.parse_args(argv)
    from adray.sweep.request import parse_set

    overrides = {key: values[:1] for key, values in parse_set(args.set).items()}  # a bad --set: before any work

    import torch

    torch.set_num_threads(args.threads)
    files_dir = args.data_dir or default_data_dir() / "odds"
    files = {p.stem: p for p in sorted(files_dir.glob("*")) if p.suffix.lower() in (".npz", ".mat")}
    if not files:
        print(f"no ODDS/ADBench .npz or .mat files in {files_dir}", file=sys.stderr)
        return 2
    names = args.datasets or list(files)
    unknown = sorted(set(names) - set(files))
    if unknown:
        print(f"no file for {unknown} in {files_dir}; files: {', '.join(files)}", file=sys.stderr)
        return 2
    machine = {"machine": platform.node(), "cpu": platform.processor() or platform.machine(),
               "cpus": os.cpu_count(), "torch_threads": args.threads}

    cached = read_rows(args.out)
    done = {key(r): r for r in cached}
    rows = list(cached)
    configs = {m: json.dumps(default_config(m, overrides), sort_keys=True) for m in args.methods}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="adray-odds-") as work:
        data_dir = odds_folder(files_dir, Path(work))
        for name in names:
            for seed in args.seeds:
                todo = [m for m in args.methods
                        if (name, m, seed, configs[m], stamp(files[name])) not in done]
                if not todo:
                    continue
                arrays = split_arrays(name, data_dir, seed)
                for method in todo:
                    result = run_one(method, json.loads(configs[method]), arrays, seed)
                    row = {"dataset": name, "method": method, "seed": seed, **result, "config": configs[method],
                           "data_stamp": stamp(files[name]), **machine}
                    rows = [r for r in rows if key(r)[:3] != key(row)[:3]] + [row]  # a new config replaces the old
                    done[key(row)] = row
                    write_rows(args.out, rows, COLUMNS + list(machine))
                    print(f"{name:24s} {method:18s} seed {seed}: AUC {result['auc']:.4f} AP {result['ap']:.4f} "
                          f"({result['fit_s']:.1f} s)", flush=True)
    wanted = [r for r in rows if r["dataset"] in names and r["method"] in args.methods
              and int(r["seed"]) in args.seeds and r["config"] == configs[r["method"]]]
    summary = summarize(wanted, [p for p in PAIRS if p[0] in args.methods and p[1] in args.methods])
    summary_path = args.out.with_name(args.out.stem + "_summary.csv")
    with open(summary_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary[0]) if summary else ["metric"])
        writer.writeheader()
        writer.writerows(summary)
    print(markdown(wanted, summary, args.methods))
    print(f"\nwrote {args.out} and {summary_path} ({time.perf_counter() - started:.0f} s this run; "
          f"{len(names)} datasets x {len(args.seeds)} seeds; tie margin {TIE_MARGIN})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
