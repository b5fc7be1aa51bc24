"""Benchmark: trials packed onto one GPU through real sweeps: 1, 2, 4 and 8 trials per GPU.

    adray bench gpu                        # about 5 minutes on one GPU
    adray bench gpu --trials 8 --epochs 60 --packing 1 2 4 8

For each packing k, one real sweep (``adray sweep``, a fresh local Ray that sees one GPU) of the
same ``--trials`` trainings of the reconstruction autoencoder on ``digits`` with ``--gpus-per-trial
1/k``: Ray runs k trials at once on the GPU, each capped at 1/k of its memory. Measured while it
runs, with nvidia-smi every half second: the GPU's utilisation (mean over the sweep) and each trial
process's GPU memory (its peak). Reported: trials per minute (first trial start to last trial end),
the packing speed-up over one trial per GPU, utilisation, memory per trial, and that every trial
really ran on CUDA. Needs a CUDA GPU; without one it says so and measures nothing. Prints a table,
writes results/bench/gpu.csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

from adray.bench.common import print_table, results_dir, write_csv


class GpuSampler:
    """nvidia-smi every ``period`` seconds while a block runs: GPU utilisation and memory per process."""

    def __init__(self, period: float = 0.5):
        self.period, self.util, self.memory = period, [], defaultdict(float)
        self._stop = threading.Event()

    def _query(self, what: str, fields: str) -> list[list[str]]:
        out = subprocess.run(["nvidia-smi", f"--query-{what}={fields}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True).stdout
        return [[v.strip() for v in line.split(",")] for line in out.strip().splitlines() if line.strip()]

    def _run(self) -> None:
        while not self._stop.is_set():
            for (util,) in self._query("gpu", "utilization.gpu")[:1]:
                self.util.append(float(util))
            for pid, used in self._query("compute-apps", "pid,used_memory"):
                if used.replace(".", "").isdigit():
                    self.memory[pid] = max(self.memory[pid], float(used))
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def packed_sweep(k: int, args, folder: Path) -> dict:
    from adray import artifacts

    name = f"gpu-pack{k}"
    command = [sys.executable, "-m", "adray.cli", "sweep", "--method", "ae", "--dataset", "digits",
               "--seeds", *map(str, range(1, args.trials + 1)), "--set", f"epochs={args.epochs}",
               "--set", f"batch_size={args.batch_size}", "--gpus-per-trial", f"{1 / k:g}",
               "--cpus-per-trial", f"{max(1, (os.cpu_count() or k) // k):g}", "--storage", str(folder),
               "--name", name, "--no-report", "--verbose", "0"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "CUDA_VISIBLE_DEVICES": os.environ.get(
        "CUDA_VISIBLE_DEVICES", "0")}
    with GpuSampler() as sampler:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the k={k} sweep failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    outcomes = [artifacts.read_json(p) for p in (folder / name).glob(f"*/{artifacts.TRIAL}")]
    span = max(o["end_time"] for o in outcomes) - min(o["start_time"] for o in outcomes)
    per_trial = sorted(sampler.memory.values())[-len(outcomes):] if sampler.memory else []
    return {"trials_per_gpu": k, "trials": len(outcomes), "on_cuda": sum(o.get("device") == "cuda" for o in outcomes),
            "span_s": round(span, 1), "trials_per_min": round(60 * len(outcomes) / span, 2),
            "gpu_util_pct": round(sum(sampler.util) / len(sampler.util), 1) if sampler.util else None,
            "mib_per_trial": round(sum(per_trial) / len(per_trial)) if per_trial else None,
            "test_auc_mean": round(sum(o["test"]["auc"] for o in outcomes) / len(outcomes), 4)}


def can_measure() -> bool:
    """Whether this machine has what the benchmark needs: a CUDA GPU and nvidia-smi."""
    import torch

    return torch.cuda.is_available() and shutil.which("nvidia-smi") is not None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="adray bench gpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--packing", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--out", default=str(results_dir() / "gpu.csv"))
    args = parser.parse_args(argv)
    import torch

    if not can_measure():
        print("adray bench gpu: no CUDA GPU (or no nvidia-smi) on this machine: nothing measured; "
              "run it on a GPU machine")
        return
    machine = (f"{platform.node()}, {os.cpu_count()} cpu, GPU: {torch.cuda.get_device_name(0)}, "
               f"torch {torch.__version__}")
    print(f"machine: {machine}; {args.trials} AE trainings on digits ({args.epochs} epochs) per sweep")
    folder = Path(tempfile.mkdtemp(prefix="adray-gpu-"))
    rows = []
    for k in args.packing:
        rows.append(packed_sweep(k, args, folder))
        rows[-1]["speedup_vs_1"] = round(rows[-1]["trials_per_min"] / rows[0]["trials_per_min"], 2)
        print(rows[-1], flush=True)
    print_table(rows, ["trials_per_gpu", "trials", "on_cuda", "span_s", "trials_per_min", "speedup_vs_1",
                       "gpu_util_pct", "mib_per_trial", "test_auc_mean"])
    write_csv(args.out, rows, {"machine": machine, "epochs": args.epochs})


if __name__ == "__main__":
    main()
