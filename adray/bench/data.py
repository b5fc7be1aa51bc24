"""Benchmark: prepare, load and share a 1,000,000 x 50 dataset.

    adray bench data [--rows 1000000] [--cols 50] [--readers 1 2 4 8]

Measures, side by side in one run:
- cold prepare: CSV -> Parquet cache (parse, convert, write) and read back;
- warm load: reading the Parquet cache;
- object-store put, and get inside a Ray worker (time to first byte of X);
- memory of N concurrent trial readers that take the dataset from the object store versus N workers
  that each load it from the cache themselves: growth of private memory per worker (RssAnon) and the sum
  of proportional set sizes (PSS: shared pages counted once across processes), each measured inside a fresh
  worker process around the load (``get_s`` is the time to the first usable X; the wall time of a
  round also includes starting the worker processes).
Prints a table and writes results/bench/data.csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from adray.bench.common import print_table, results_dir, write_csv
from adray.data import cache

MIB = 2**20


def memory_kib() -> dict[str, int]:
    """RssAnon (private) and Pss (proportional, shared pages split) of this process."""
    out = {}
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            out["rss_anon"] = int(line.split()[1])
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("Pss:"):
            out["pss"] = int(line.split()[1])
    return out


def generate_csv(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    chunk = 200_000
    names = [f"f{i}" for i in range(cols)] + ["label"]
    with pacsv.CSVWriter(str(path), pa.schema([(n, pa.float32()) for n in names[:-1]] + [("label", pa.int8())])) as w:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            X = rng.normal(size=(n, cols)).astype(np.float32)
            y = (rng.random(n) < 0.05).astype(np.int8)
            w.write_table(pa.table({**{names[i]: X[:, i] for i in range(cols)}, "label": y}))


def shared_reader(refs):
    """A trial's view of the dataset from the object store (runs in a fresh Ray worker)."""
    from adray.tune.store import get_dataset

    before = memory_kib()
    t0 = time.perf_counter()
    X = get_dataset(refs[0]).X
    got = time.perf_counter() - t0
    checksum = float(X.sum(dtype=np.float64))  # touch every byte
    return {"get_s": got, "before": before, "after": memory_kib(), "checksum": checksum}


def independent_reader(data_dir):
    """A trial that loads the dataset from the Parquet cache itself."""
    before = memory_kib()
    t0 = time.perf_counter()
    X = cache.load("csv:bench", Path(data_dir)).X
    got = time.perf_counter() - t0
    checksum = float(X.sum(dtype=np.float64))
    return {"get_s": got, "before": before, "after": memory_kib(), "checksum": checksum}


def run(rows: int, cols: int, readers: list[int]) -> list[dict]:
    import ray

    from adray.tune.store import put_dataset

    workdir = Path(tempfile.mkdtemp(prefix="adray-bench-"))
    os.environ["ADRAY_DATA"] = str(workdir)
    (workdir / "csv").mkdir()
    csv_path = workdir / "csv" / "bench.csv"
    t = time.perf_counter()
    generate_csv(csv_path, rows, cols)
    print(f"generated {csv_path.stat().st_size / MIB:.0f} MiB CSV ({rows} x {cols}) in {time.perf_counter() - t:.1f} s")
    results = []

    def record(what, seconds, **extra):
        results.append({"measure": what, "seconds": round(seconds, 4), **extra})

    cold = cache.prepare("csv:bench", workdir)
    record("cold prepare (CSV -> Parquet -> Arrow)", cold.seconds,
           note=f"{cold.path.stat().st_size / MIB:.0f} MiB parquet")
    warm = cache.prepare("csv:bench", workdir)
    assert not warm.built
    record("warm load (Parquet cache -> Arrow)", warm.seconds)
    dataset = warm.dataset
    nbytes = dataset.X.nbytes

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=int(max(4 * nbytes, 1 << 30)))
    try:
        t = time.perf_counter()
        ref = put_dataset(dataset)
        record("object store put (driver)", time.perf_counter() - t)

        shared = ray.remote(max_calls=1)(shared_reader)
        independent = ray.remote(max_calls=1)(independent_reader)
        for n in readers:
            for name, task, arg in (("object store", shared, [ref]), ("independent loads", independent, str(workdir))):
                t = time.perf_counter()
                out = ray.get([task.options(num_cpus=2 / n).remote(arg) for _ in range(n)])
                wall = time.perf_counter() - t
                private = [o["after"]["rss_anon"] - o["before"]["rss_anon"] for o in out]
                pss = [o["after"]["pss"] - o["before"]["pss"] for o in out]
                record(f"{n} concurrent readers: {name}", wall, readers=n,
                       get_s_max=round(max(o["get_s"] for o in out), 4),
                       private_mib_per_reader=round(float(np.mean(private)) / 1024, 1),
                       pss_mib_total=round(sum(pss) / 1024, 1),
                       note=f"dataset X = {nbytes / MIB:.0f} MiB")
    finally:
        ray.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="adray bench data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--readers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--out", default=str(results_dir() / "data.csv"))
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    import ray

    machine = (f"{platform.node()} {os.cpu_count()} cpu, python {platform.python_version()}, "
               f"ray {ray.__version__}, pyarrow {pa.__version__}")
    print(f"machine: {machine}")
    results = run(args.rows, args.cols, args.readers)
    columns = ["measure", "seconds", "readers", "get_s_max", "private_mib_per_reader", "pss_mib_total", "note"]
    print_table(results, columns)
    write_csv(args.out, results, {"rows": args.rows, "cols": args.cols, "machine": machine})

if __name__ == "__main__":
    main()
