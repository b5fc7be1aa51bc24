"""Benchmark: collect and report a 10,000-trial sweep folder.

    adray bench report [--methods 5] [--datasets 20] [--configs 4] [--seeds 5] [--settings 5]
                       [--artifact-datasets 4] [--keep]

Generates a synthetic sweep (adray.testing.sweeps: the real trial-file format, with failed and
incomplete trials; every ok trial has params.json, trial.json, metric.csv, history.csv, and the
first ``--artifact-datasets`` datasets also roc.csv and scores.parquet) into a temporary folder,
then times, each in a fresh process so the figures do not share caches or imports:

- ``collect``: the runs table alone (reads params.json / trial.json of every trial);
- ``make_report``: everything (collect, selection, seed merge, tests, tables, every plot);
- ``make_report (no plots)``: the same without the PNGs, to show what the plots cost.

Peak memory is the measuring process's peak resident set (VmHWM; ru_maxrss where /proc is missing),
interpreter and imports included; ``rss_after_import_mib`` is the same figure right after the
imports, so the difference is what the work itself needed.
``seconds`` excludes the imports (``import_s``). Prints a table and writes results/bench/report.csv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adray.bench.common import print_table, results_dir, write_csv

SETTINGS = ((0.0, 0), (0.01, 0), (0.05, 0), (0.1, 0), (0.0, 100))

# run in a child process (the same Python, so it imports this adray): prints one JSON line
# {"seconds", "maxrss_mib", ...}
CHILD = r"""
import json, resource, time


def peak_mib():
    # VmHWM belongs to this process's own address space; ru_maxrss would carry over the parent's
    # peak through fork + exec on Linux
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


what = {what!r}
t0 = time.perf_counter()
if what == "collect":
    from adray.analysis.collect import collect
else:
    from adray.analysis.report import make_report
imported = time.perf_counter() - t0
base = peak_mib()
t = time.perf_counter()
if what == "collect":
    runs = collect({sweep!r})
    extra = {{"rows": len(runs)}}
else:
    result = make_report({sweep!r}, plots=(what == "make_report"))
    extra = {{"files": len(result.files), "warnings": len(result.warnings)}}
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "import_s": imported, "import_rss_mib": base,
                   "maxrss_mib": peak_mib(), **extra}}))
"""


def measure(what: str, sweep: Path) -> dict:
    code = CHILD.format(what=what, sweep=str(sweep))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adray bench report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", type=int, default=5)
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--configs", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--settings", type=int, default=5, choices=range(1, len(SETTINGS) + 1))
    parser.add_argument("--artifact-datasets", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the generated sweep folder")
    args = parser.parse_args(argv)

    from adray.testing.sweeps import make_fake_sweep

    workdir = Path(tempfile.mkdtemp(prefix="adray-bench-report-"))
    sweep = workdir / "bench_sweep"
    methods = ("a3", "ae", "argue", "deepsad", "deepsvdd", "devnet", "gaa", "iforest")[: args.methods]
    datasets = tuple(f"ds{i:02d}" for i in range(args.datasets))
    seeds = tuple(110 + 100 * i for i in range(args.seeds))
    t = time.perf_counter()
    fake = make_fake_sweep(sweep, methods=methods, datasets=datasets, n_configs=args.configs, seeds=seeds,
                           settings=SETTINGS[: args.settings], artifact_datasets=args.artifact_datasets, seed=1)
    generated = time.perf_counter() - t
    size_mib = sum(f.stat().st_size for f in sweep.rglob("*") if f.is_file()) / 2**20
    print(f"generated {fake.n_trials} trials ({fake.statuses}) in {generated:.1f} s, {size_mib:.0f} MiB: {sweep}")

    import matplotlib
    import pandas
    import scipy

    machine = (f"{os.cpu_count()} cpu, python {platform.python_version()}, pandas {pandas.__version__}, "
               f"scipy {scipy.__version__}, matplotlib {matplotlib.__version__}")
    rows = []
    for what in ("collect", "make_report (no plots)", "make_report"):
        key = {"make_report (no plots)": "no_plots"}.get(what, what)
        m = measure(key, sweep)
        rows.append({"measure": what, "seconds": round(m["seconds"], 3), "import_s": round(m["import_s"], 3),
                     "peak_rss_mib": round(m["maxrss_mib"], 1),
                     "rss_after_import_mib": round(m["import_rss_mib"], 1), "trials": fake.n_trials,
                     "trials_per_s": round(fake.n_trials / m["seconds"]),
                     "note": f"{m.get('files', '')} files" if "files" in m else f"{m.get('rows')} rows",
                     "machine": machine})
    header = ["measure", "seconds", "import_s", "peak_rss_mib", "rss_after_import_mib", "trials", "trials_per_s",
              "note"]
    print_table(rows, header)
    write_csv(results_dir() / "report.csv", rows)
    if args.keep:
        print(f"kept {sweep}")
    else:
        shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
