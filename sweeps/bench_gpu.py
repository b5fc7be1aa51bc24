"""Benchmark: AE training on GPU versus CPU, and k trainings packed onto one GPU.

    python sweeps/bench_gpu.py [--rows 50000] [--features 64] [--epochs 5] [--concurrency 1 2 4 8]

Runs without Ray (plain processes), so it works on any CUDA machine with torch and adray installed:
- seconds per epoch and test AUC of the AE on CPU and, when CUDA is present, on the GPU;
- throughput of k concurrent trainings on one GPU (k processes, each capped at 1/k of the GPU's
  memory, as adray's fractional-GPU trials are) versus one at a time, and the mean GPU utilisation
  sampled with nvidia-smi while they run.
Without CUDA the GPU rows are skipped and said so. Prints a table, writes results/bench/gpu.csv.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "sweeps"))

from benchlib import print_table, write_csv  # noqa: E402


def make_data(rows: int, features: int):
    import numpy as np

    from adray.data.synthetic import make_synthetic
    from adray.sweep.trial import minmax_scale

    raw = make_synthetic(n_normal=int(rows * 0.95), n_anomalous=rows - int(rows * 0.95), n_features=features, seed=0)
    anomalous = np.char.startswith(raw.labels.astype(str), "a")
    order = np.random.default_rng(0).permutation(len(raw.X))
    train = order[: int(0.8 * len(order))]
    train = train[~anomalous[train]]
    test = order[int(0.8 * len(order)):]
    X_train, X_test = minmax_scale(raw.X, train, train, test)
    return X_train, X_test, anomalous[test].astype(int)


def train_once(args: tuple) -> dict:
    """One AE training (run in its own process for the packing measurement)."""
    device, rows, features, epochs, fraction, seed = args
    import torch

    from adray.detectors import build
    from adray.metrics import auc

    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    if device == "cuda" and fraction < 1:
        torch.cuda.set_per_process_memory_fraction(fraction, 0)
    X_train, X_test, y_test = make_data(rows, features)
    detector = build("ae", epochs=epochs, batch_size=256)
    start = time.perf_counter()
    detector.fit(X_train, seed=seed, device=device)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "auc": auc(y_test, detector.decision_function(X_test))}


class GpuSampler:
    """Mean GPU utilisation from nvidia-smi while a block runs (None without nvidia-smi)."""

    def __enter__(self):
        self.proc = None
        if shutil.which("nvidia-smi"):
            self.proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200"],
                stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc):
        self.mean = None
        if self.proc is not None:
            self.proc.terminate()
            values = [float(v) for v in self.proc.communicate()[0].split() if v.strip().replace(".", "").isdigit()]
            self.mean = round(sum(values) / len(values), 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--out", default=str(REPO / "results" / "bench" / "gpu.csv"))
    args = parser.parse_args()
    import torch

    cuda = torch.cuda.is_available()
    device_name = torch.cuda.get_device_name(0) if cuda else "none"
    machine = f"{platform.node()}, {os.cpu_count()} cpu, GPU: {device_name}, torch {torch.__version__}"
    print(f"machine: {machine}")
    rows = []
    base = (args.rows, args.features, args.epochs, 1.0, 0)
    for device in ["cpu", *(["cuda"] if cuda else [])]:
        train_once((device, *base))  # warm-up: imports, CUDA context, kernels
        result = train_once((device, *base))
        rows.append({"measure": f"AE fit on {device}", "concurrency": 1, "wall_s": round(result["seconds"], 2),
                     "s_per_epoch": round(result["seconds"] / args.epochs, 3), "auc": round(result["auc"], 4),
                     "trainings_per_min": round(60 / result["seconds"], 1), "gpu_util_pct": ""})
    if not cuda:
        print("no CUDA device: the GPU and packing rows are skipped (run this script on a GPU machine)")
    else:
        ctx = mp.get_context("spawn")
        single = None
        for k in args.concurrency:
            jobs = [("cuda", args.rows, args.features, args.epochs, 1.0 / k, seed) for seed in range(k)]
            with GpuSampler() as sampler, ctx.Pool(k) as pool:
                start = time.perf_counter()
                results = pool.map(train_once, jobs)
                wall = time.perf_counter() - start
            throughput = 60 * k / wall
            single = single or throughput
            rows.append({"measure": f"{k} AE fits packed on 1 GPU", "concurrency": k, "wall_s": round(wall, 2),
                         "s_per_epoch": round(max(r["seconds"] for r in results) / args.epochs, 3),
                         "auc": round(sum(r["auc"] for r in results) / k, 4),
                         "trainings_per_min": round(throughput, 1), "gpu_util_pct": sampler.mean,
                         "speedup_vs_1": round(throughput / single, 2)})
    columns = ["measure", "concurrency", "wall_s", "s_per_epoch", "auc", "trainings_per_min", "gpu_util_pct",
               "speedup_vs_1"]
    print_table(rows, columns)
    write_csv(args.out, rows, {"rows": args.rows, "features": args.features, "epochs": args.epochs, "machine": machine})

if __name__ == "__main__":
    main()
