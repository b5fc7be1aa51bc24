"""The benchmark suite, one command: every figure is a ratio measured side by side in one run.

    adray bench all            # the full suite (about 10 minutes on 2 cores)
    adray bench all --quick    # smaller sizes, to check that everything runs (about 3 minutes)

Runs, each in its own process (no shared caches or imports), and collects their CSVs under results/bench/:
1. orchestration overhead: 100 short trials through adray vs the same fits in a plain loop (``overhead``);
2. data sharing: 1, 2, 4, 8 concurrent trials reading one large dataset through the object store vs
   each loading it itself: time to first batch and memory (``data``);
3. scaling: trials per minute at concurrency 1 and 2 for a real detector (the AE on digits, below);
4. GPU packing: 1, 2, 4, 8 concurrent small-tabular trainings on one GPU vs one at a time, and GPU
   utilisation (``gpu``; CPU rows only where there is no CUDA; needs no Ray);
5. analysis: collecting and reporting a 10,000-trial sweep (``report``).
Prints the machine and versions, a summary table, and writes results/bench/suite.csv.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adray.bench.common import print_table, results_dir, write_csv


def script(name: str, *args: str) -> None:
    """Run benchmark ``name`` (a module of adray.bench) in its own process; stop the suite if it fails."""
    print(f"\n=== {name} {' '.join(args)}", flush=True)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([sys.executable, "-m", f"adray.bench.{name}", *args], check=True, env=env)


def read(name: str) -> list[dict]:
    """The rows of a CSV a benchmark of the suite wrote."""
    with open(results_dir() / name, newline="") as fh:
        return list(csv.DictReader(fh))


def scaling(trials: int, epochs: int) -> list[dict]:
    """Trials per minute of a real detector (the AE on digits) at 1 and 2 concurrent trials."""
    import ray

    from adray.sweep.request import SweepRequest
    from adray.tune.runner import run_sweep

    folder = Path(tempfile.mkdtemp(prefix="adray-scaling-"))
    rows = []
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for concurrency, cpus in ((1, 2.0), (2, 1.0)):
            request = SweepRequest(methods=["ae"], datasets=["digits"], seeds=list(range(trials)),
                                   overrides={"epochs": [epochs], "batch_size": [32]}, cpus_per_trial=cpus,
                                   storage=str(folder), name=f"c{concurrency}", verbose=0)
            start = time.perf_counter()
            run_sweep(request)
            seconds = time.perf_counter() - start
            rows.append({"measure": f"AE on digits, {concurrency} concurrent", "trials": trials,
                         "wall_s": round(seconds, 1), "trials_per_min": round(60 * trials / seconds, 2)})
    finally:
        ray.shutdown()
    rows[1]["speedup_vs_1"] = round(rows[1]["trials_per_min"] / rows[0]["trials_per_min"], 2)
    write_csv(results_dir() / "scaling.csv", rows)
    return rows


def machine_line() -> str:
    """The machine and versions the suite ran on (printed and written with every row)."""
    import ray
    import torch

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"{platform.node()}: {os.cpu_count()} cpu, {memory_gib:.0f} GiB, GPU {gpu}; python "
            f"{platform.python_version()}, ray {ray.__version__}, torch {torch.__version__}")


def overhead_rows() -> list[dict]:
    """Overhead per trial of an adray sweep over a plain loop, 1 and 2 trials at a time."""
    overhead = {r["measure"]: r for r in read("overhead.csv")}
    return [{"benchmark": "overhead", "measure": key, "value": f"{overhead[key]['overhead_ms_per_trial']} ms/trial",
             "ratio": f"{overhead[key]['vs_plain_loop']}x the plain loop"}
            for key in ("adray sweep, 1 concurrent trial", "adray sweep, 2 concurrent trials")]


def data_rows() -> list[dict]:
    """Time to the data and memory of N readers: object store against loading it in each reader."""
    data = {r["measure"]: r for r in read("data.csv")}
    rows = []
    for n in (1, 2, 4, 8):
        shared, own = data[f"{n} concurrent readers: object store"], data[f"{n} concurrent readers: independent loads"]
        less = float(own["pss_mib_total"]) / max(float(shared["pss_mib_total"]), 0.1)
        rows.append({"benchmark": "data sharing", "measure": f"{n} readers: time to X, private MiB/reader",
                     "value": f"{shared['get_s_max']} s vs {own['get_s_max']} s; "
                              f"{shared['private_mib_per_reader']} vs {own['private_mib_per_reader']} MiB",
                     "ratio": f"{less:.1f}x less memory (PSS)"})
    return rows


def gpu_rows() -> list[dict]:
    """AE trials per minute with 1, 2, 4, 8 trials packed on one GPU."""
    return [{"benchmark": "gpu", "measure": f"{row['trials_per_gpu']} AE trials per GPU",
             "value": f"{row['trials_per_min']} trials/min",
             "ratio": f"{row.get('speedup_vs_1') or '-'}x; GPU util {row.get('gpu_util_pct') or '-'}%"}
            for row in read("gpu.csv")]


def report_rows() -> list[dict]:
    """Seconds and peak memory of collecting and reporting the generated sweep."""
    return [{"benchmark": "analysis", "measure": f"{row['measure']} ({row['trials']} trials)",
             "value": f"{row['seconds']} s", "ratio": f"peak {row['peak_rss_mib']} MiB"}
            for row in read("report.csv")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="adray bench all", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes: checks that the suite runs")
    args = parser.parse_args(argv)
    from adray.bench.gpu import can_measure

    machine = machine_line()
    print(f"machine: {machine}")
    quick = args.quick
    script("overhead", "--trials", "30" if quick else "100")
    script("data", "--rows", "200000" if quick else "1000000", "--readers", "1", "2", "4", "8")
    print("\n=== scaling", flush=True)
    scale = scaling(trials=4 if quick else 10, epochs=20 if quick else 100)
    gpu = can_measure()  # else the GPU benchmark says so and measures nothing (no stale gpu.csv rows)
    script("gpu", *(["--trials", "4", "--epochs", "10"] if quick else []))
    script("report", *(["--datasets", "4", "--settings", "2"] if quick else []))

    summary = [*overhead_rows(), *data_rows(),
               {"benchmark": "scaling", "measure": "AE trials/min at 1 vs 2 concurrent",
                "value": f"{scale[0]['trials_per_min']} vs {scale[1]['trials_per_min']}",
                "ratio": f"{scale[1]['speedup_vs_1']}x"},
               *(gpu_rows() if gpu else []), *report_rows()]
    print(f"\nmachine: {machine}")
    print_table(summary, ["benchmark", "measure", "value", "ratio"])
    write_csv(results_dir() / "suite.csv", summary, {"machine": machine, "quick": quick})


if __name__ == "__main__":
    main()
