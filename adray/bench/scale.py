"""Benchmark: does a sweep's cost per trial stay flat from 100 to 10,000 trials (and 100,000)?

    adray bench scale                          # 100, 1,000 and 10,000 trials (about 25 min on 2 cores)
    adray bench scale --sizes 100 1000 10000 100000
    adray bench scale --sizes 100 --kill 2000  # also: kill the driver of a 2,000-trial sweep, resume

Each size is a sweep of a no-op detector (``Sleepy`` with one epoch and no sleep, on ``synthetic``; the
trial still draws its split, scales, fits, scores and writes every artifact), run by a fresh driver
process against a local Ray with 2 CPUs, so memory and caches start equal. Measured per size:
- ms per trial: the sweep's wall time (Ray start-up excluded) / trials, and the steady rate (first
  trial start to last trial end / trials);
- time to the first trial: from the sweep's start (its ledger) to the first trial's start;
- driver peak memory (the driver process's maximum resident set);
- Tune's experiment state: the largest file it wrote, per trial of its Tuner, and the total time spent
  saving it (every call of Tune's checkpoint routine, timed inside the driver).
With ``--kill N``: a real ``adray sweep`` driver of N trials is killed (SIGKILL) once a third of them are
done; ``--resume`` must finish the rest without running any finished trial again (checked on the
trials' end times) and the time it takes to plan the resume (reading N trial folders) is reported.
Prints a table and writes results/bench/scale.csv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adray.bench.common import print_table, results_dir, write_csv

PLUGIN = "sleepy=adray.testing.detectors:Sleepy"
NOOP = {"epochs": [1], "seconds_per_epoch": [0.0]}


def one(n: int, folder: Path) -> dict:
    """One sweep of ``n`` no-op trials in this process (the driver); returns its measurements."""
    import ray
    from ray.tune.execution import tune_controller

    import adray.tune.runner as runner
    from adray import artifacts
    from adray.sweep.request import SweepRequest

    saves: list[float] = []
    checkpoint = tune_controller.TuneController.checkpoint

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return checkpoint(self, *args, **kwargs)
        finally:
            saves.append(time.perf_counter() - start)

    tune_controller.TuneController.checkpoint = timed
    states: list[int] = []
    drop = runner.drop_tune_state

    def measured_drop(sweep_dir: Path) -> None:
        states.extend(p.stat().st_size for p in sweep_dir.glob("experiment_state-*.json"))
        drop(sweep_dir)

    runner.drop_tune_state = measured_drop
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    request = SweepRequest(methods=["sleepy"], datasets=["synthetic"], seeds=list(range(n)), overrides=NOOP,
                           storage=str(folder), name=f"n{n}", verbose=0)
    started = time.time()
    result = runner.run_sweep(request)
    wall = time.time() - started
    outcomes = [artifacts.read_json(p) for p in (folder / f"n{n}").glob(f"*/{artifacts.TRIAL}")]
    first = min(o["start_time"] for o in outcomes)
    last = max(o["end_time"] for o in outcomes)
    tuner = min(n, request.tuner_size)
    return {
        "trials": n, "ok": result.counts["ok"], "tuners": -(-n // request.tuner_size), "wall_s": round(wall, 1),
        "ms_per_trial": round(1000 * wall / n, 1), "steady_ms_per_trial": round(1000 * (last - first) / n, 1),
        "first_trial_s": round(first - started, 1),
        "driver_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "tune_state_max_mib": round(max(states, default=0) / 2**20, 1),
        "tune_state_bytes_per_trial": round(max(states, default=0) / tuner),
        "tune_saves": len(saves), "tune_save_s": round(sum(saves), 1),
    }


def kill_and_resume(n: int, folder: Path) -> dict:
    """Kill a real driver a third of the way through ``n`` trials, resume, check nothing ran twice."""
    from adray.testing.sweeps import finished_seeds

    env = {**os.environ, "ADRAY_DETECTORS": PLUGIN, "RAY_USAGE_STATS_ENABLED": "0"}
    args = [sys.executable, "-m", "adray.cli", "sweep", "--method", "sleepy", "--dataset", "synthetic",
            "--seeds", *map(str, range(n)), "--set", "epochs=1", "--set", "seconds_per_epoch=0", "--name", "killed",
            "--storage", str(folder), "--verbose", "0", "--no-report"]
    sweep = folder / "killed"

    driver = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while driver.poll() is None and len(finished_seeds(sweep)) < n // 3:
        time.sleep(1.0)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    before = finished_seeds(sweep)
    started = time.time()
    resumed = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True)
    after = finished_seeds(sweep)
    rerun = sum(after.get(seed) != end for seed, end in before.items())
    return {"trials": n, "ok_before_kill": len(before), "ok_after_resume": len(after), "rerun": rerun,
            "resume_exit": resumed.returncode, "resume_wall_s": round(time.time() - started, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="adray bench scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--kill", type=int, default=0, help="also kill and resume a sweep of this many trials")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size in this process
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(results_dir() / "scale.csv"))
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["ADRAY_DETECTORS"] = PLUGIN
    if args.one:
        print(json.dumps(one(args.one, Path(args.folder))))
        return
    folder = Path(tempfile.mkdtemp(prefix="adray-scale-"))
    rows = []
    for n in args.sizes:
        print(f"=== {n} trials", flush=True)
        run = subprocess.run([sys.executable, "-m", "adray.bench.scale", "--one", str(n), "--folder", str(folder)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    base = rows[0]["ms_per_trial"]
    for row in rows:
        row["vs_smallest"] = round(row["ms_per_trial"] / base, 2)
    machine = f"{platform.node()}, {os.cpu_count()} cpu, python {platform.python_version()}"
    print(f"machine: {machine}; no-op trials (Sleepy, 1 epoch) on synthetic, local Ray with 2 CPUs")
    print_table(rows, ["trials", "tuners", "wall_s", "ms_per_trial", "vs_smallest", "steady_ms_per_trial",
                       "first_trial_s", "driver_peak_mib", "tune_state_max_mib", "tune_state_bytes_per_trial",
                       "tune_saves", "tune_save_s"])
    if args.kill:
        print(f"=== kill and resume, {args.kill} trials", flush=True)
        killed = kill_and_resume(args.kill, folder)
        print_table([killed], list(killed))
        rows.append({"trials": args.kill, "measure": "kill and resume", **killed})
    write_csv(args.out, rows, {"machine": machine})


if __name__ == "__main__":
    main()
