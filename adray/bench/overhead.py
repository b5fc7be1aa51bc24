"""Benchmark: what does running trials through adray + Ray Tune cost per trial?

    adray bench overhead [--trials 100] [--n-estimators 10]

Side by side in one run, on the embedded ``synthetic`` dataset with a small Isolation Forest:
- plain loop: the same fits (split, scale, fit, score) in a Python loop, no artifacts;
- loop + artifacts: :func:`adray.sweep.trial.run_trial` in a loop (the fits plus every artifact file);
- adray sweep, 1 trial at a time (2 CPUs per trial) and 2 at a time (1 CPU per trial).
The per-trial overhead is (sweep wall - plain loop wall) / trials. Ray's start-up (``ray.init``)
is excluded: it is paid once per sweep, not per trial. Prints a table, writes results/bench/overhead.csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from adray.bench.common import print_table, results_dir, write_csv


def plain_loop(seeds, n_estimators) -> float:
    from adray.data import get_spec, load, make_split
    from adray.detectors import build
    from adray.sweep.trial import prepare_arrays

    dataset, setting = load("synthetic"), get_spec("synthetic").setting()
    start = time.perf_counter()
    for seed in seeds:
        split = make_split(dataset, setting, seed)
        arrays = prepare_arrays(dataset, split)
        detector = build("iforest", n_estimators=n_estimators).fit(arrays["train"], split.y_train, seed=seed)
        for name in ("train", "val", "test"):
            detector.decision_function(arrays[name])
    return time.perf_counter() - start


def loop_with_artifacts(seeds, n_estimators, folder: Path) -> float:
    from adray.data import get_spec, load
    from adray.sweep.trial import TrialConfig, run_trial

    dataset, setting = load("synthetic"), get_spec("synthetic").setting()
    start = time.perf_counter()
    for seed in seeds:
        config = TrialConfig("iforest", "synthetic", setting, seed, {"n_estimators": n_estimators})
        run_trial(config, dataset, folder / str(seed), lambda metrics, state: None)
    return time.perf_counter() - start


def sweep(seeds, n_estimators, cpus: float, folder: Path, name: str) -> float:
    from adray.sweep.request import SweepRequest
    from adray.tune.runner import run_sweep

    request = SweepRequest(methods=["iforest"], datasets=["synthetic"], seeds=list(seeds),
                           overrides={"n_estimators": [n_estimators]}, cpus_per_trial=cpus,
                           storage=str(folder), name=name, verbose=0)
    start = time.perf_counter()
    run_sweep(request)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="adray bench overhead", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--n-estimators", type=int, default=10)
    parser.add_argument("--out", default=str(results_dir() / "overhead.csv"))
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    seeds = list(range(args.trials))
    folder = Path(tempfile.mkdtemp(prefix="adray-overhead-"))
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        plain_loop(seeds[:3], args.n_estimators)  # warm imports and the dataset cache
        timings = {
            "plain loop (fits only)": plain_loop(seeds, args.n_estimators),
            "loop + artifacts (run_trial)": loop_with_artifacts(seeds, args.n_estimators, folder / "loop"),
            "adray sweep, 1 concurrent trial": sweep(seeds, args.n_estimators, 2.0, folder, "c1"),
            "adray sweep, 2 concurrent trials": sweep(seeds, args.n_estimators, 1.0, folder, "c2"),
        }
    finally:
        ray.shutdown()
    base = timings["plain loop (fits only)"]
    machine = (f"{platform.node()}, {os.cpu_count()} cpu, python {platform.python_version()}, "
               f"ray {ray.__version__}")
    rows = []
    for what, seconds in timings.items():
        rows.append({
            "measure": what, "trials": args.trials, "wall_s": round(seconds, 2),
            "ms_per_trial": round(1000 * seconds / args.trials, 1),
            "overhead_ms_per_trial": round(1000 * (seconds - base) / args.trials, 1),
            "trials_per_min": round(60 * args.trials / seconds, 1), "vs_plain_loop": round(seconds / base, 2),
            "machine": machine,
        })
    print(f"machine: {machine}; {args.trials} trials, IsolationForest(n_estimators={args.n_estimators}) on synthetic")
    columns = ["measure", "wall_s", "ms_per_trial", "overhead_ms_per_trial", "trials_per_min", "vs_plain_loop"]
    print_table(rows, columns)
    write_csv(args.out, rows)

if __name__ == "__main__":
    main()
