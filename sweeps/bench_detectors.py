"""Benchmark detectors: seconds per epoch and test metrics, methods side by side, CPU and GPU.

    python sweeps/bench_detectors.py --method a3 --method ae --dataset digits --dataset breast_cancer
    python sweeps/bench_detectors.py --method amsl --dataset basic_motions --device cuda
    python sweeps/bench_detectors.py --method ae --set epochs=50
    python sweeps/bench_detectors.py --method ae --method iforest --dataset default   # each method's own default

Each method runs with the first configuration of its default sweep grid (the class's ``default_grid``; what
`sweeps/grid.py --method NAME` runs), updated by ``--set``, on the dataset's default setting (or
``dataset:setting``), split with seed 110 and scaled exactly as a trial is. Per-epoch time is the
median time between two epoch reports (the first epoch, which pays start-up costs, is excluded when
there are several). Test AUC, AP and AMSL's macro F1 (98th-percentile threshold) are reported. No
Ray needed. ``--device`` defaults to cpu plus cuda when present. Prints a table and writes a CSV.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "sweeps"))

from benchlib import print_table, write_csv  # noqa: E402


def run_one(method: str, dataset_arg: str, device: str, overrides: dict, seed: int = 110) -> dict:
    import numpy as np

    from adray import metrics
    from adray.data import get_spec, load, make_split
    from adray.detectors import build
    from adray.sweep.request import grid_for, split_dataset_arg
    from adray.sweep.trial import THRESHOLD_PERCENTILE, prepare_arrays

    name, preset = split_dataset_arg(dataset_arg)
    dataset, setting = load(name), get_spec(name).setting(preset)
    split = make_split(dataset, setting, seed)
    arrays = prepare_arrays(dataset, split)
    params = grid_for(method, overrides)[0]
    stamps: list[float] = []
    detector = build(method, **params)
    start = time.perf_counter()
    detector.fit(arrays["train"], split.y_train, subclass=split.subclass_train, seed=seed, device=device,
                 callbacks=[lambda report: stamps.append(time.perf_counter())])
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
    fit_s = time.perf_counter() - start
    gaps = np.diff([start, *stamps])
    per_epoch = statistics.median(gaps[1:] if len(gaps) > 2 else gaps) if len(gaps) else fit_s
    train_scores = detector.decision_function(arrays["train"])
    test_scores = detector.decision_function(arrays["test"])
    threshold = metrics.percentile_threshold(train_scores[split.y_train == 0], THRESHOLD_PERCENTILE)
    result = metrics.evaluate(split.y_test, test_scores, threshold)
    return {
        "method": method, "dataset": dataset_arg, "device": getattr(detector, "device_", device),
        "reports": len(stamps), "s_per_epoch": round(per_epoch, 4), "fit_s": round(fit_s, 2),
        "test_auc": round(result["auc"], 4), "test_ap": round(result["ap"], 4),
        "test_f1_macro": round(result["f1_macro"], 4), "params": params,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", action="append", required=True)
    parser.add_argument("--dataset", action="append",
                        help="dataset or dataset:setting, or 'default' (each method's default; the default)")
    parser.add_argument("--device", action="append", choices=["cpu", "cuda"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default=str(REPO / "results" / "bench" / "detectors.csv"))
    args = parser.parse_args()
    import torch

    from adray.sweep.request import parse_set

    overrides = {k: v[:1] for k, v in parse_set(args.set).items()}
    devices = args.device or ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    machine = f"{platform.node()}, {os.cpu_count()} cpu, GPU: {gpu}, torch {torch.__version__}"
    print(f"machine: {machine}")
    from adray.sweep.request import default_dataset

    def datasets_for(method):  # "default": the dataset (and setting) the method's default sweep uses
        return [default_dataset(method) if d == "default" else d for d in (args.dataset or ["default"])]

    rows = [run_one(m, d, dev, overrides) for m in args.method for d in datasets_for(m) for dev in devices]
    print_table(rows, ["method", "dataset", "device", "reports", "s_per_epoch", "fit_s", "test_auc", "test_ap",
                       "test_f1_macro", "params"])
    write_csv(args.out, rows, {"machine": machine})


if __name__ == "__main__":
    main()
