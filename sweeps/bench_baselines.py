"""Benchmark (issue 7): adray's AE, Deep-SVDD and DevNet next to PyOD's implementation of the same method.

    python sweeps/bench_baselines.py [--dataset breast_cancer digits] [--epochs 20] [--batch-size 64]
                                     [--device cpu cuda] [--seed 0] [--out results/bench/baselines.csv]

For every dataset (the embedded sets' default settings, scaled like a trial) and device, each pair is fitted
side by side in one run with matched epochs and batch size, and the table gives seconds per epoch, test
AUC, the ratio of epoch times (adray / PyOD) and the AUC difference (adray - PyOD):

- AE: ``ae`` vs ``pyod.models.auto_encoder.AutoEncoder`` (epoch_num, batch_size);
- Deep-SVDD: ``deepsvdd`` (``pretrain_epochs`` = ``epochs`` = E: its time per epoch is over both stages)
  vs ``pyod.models.deep_svdd.DeepSVDD`` (epochs = E, no AE pre-training);
- DevNet: ``devnet`` with ``steps_per_epoch = ceil(n / batch)`` (one epoch sees n rows, as in PyOD) vs
  ``pyod.models.devnet.DevNet`` (if the installed PyOD has it; it trains on the CPU whatever the device).
  Note: PyOD 3.6.7's DevNet calls ``deviation_loss(outputs, labels)`` against its signature
  ``deviation_loss(y_true, y_pred)`` (labels and scores swapped), draws no balanced batches and uses a
  1000-unit layer for ``network_depth=2``; its AUC is therefore not the paper's method.

The methods are not identical (PyOD standardises inputs and uses its own architectures and defaults);
the comparison is of the same method family at the same training budget. Unsupervised methods get no
labels; DevNet gets the setting's known anomalies (y = 1). CUDA rows run only where CUDA is available.
Writes the rows to ``--out`` with the machine in every row.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "sweeps"))

from benchlib import print_table, write_csv  # noqa: E402


def load_arrays(name: str):
    from adray.data import get_spec, load, make_split
    from adray.sweep.trial import prepare_arrays

    dataset = load(name)
    split = make_split(dataset, get_spec(name).setting(), 0)
    arrays = prepare_arrays(dataset, split)
    return arrays["train"], split.y_train, arrays["test"], split.y_test


def pairs(epochs: int, batch: int, n_train: int, device: str) -> list[tuple[str, callable, callable, int, int]]:
    """(method, adray factory, PyOD factory or None, adray epochs, PyOD epochs)."""
    from adray.detectors.ae import AutoEncoder
    from adray.detectors.deepsvdd import DeepSVDD
    from adray.detectors.devnet import DevNet

    def pyod(module, cls, **kwargs):
        try:
            return getattr(__import__(f"pyod.models.{module}", fromlist=[cls]), cls), kwargs
        except ImportError:
            return None, kwargs

    ae_cls, ae_kw = pyod("auto_encoder", "AutoEncoder", epoch_num=epochs, batch_size=batch, verbose=0,
                         device=device)
    svdd_cls, svdd_kw = pyod("deep_svdd", "DeepSVDD", epochs=epochs, batch_size=batch, verbose=0)
    dev_cls, dev_kw = pyod("devnet", "DevNet", epochs=epochs, batch_size=batch, device=device)
    steps = math.ceil(n_train / batch)
    return [
        ("AE", lambda: AutoEncoder(epochs=epochs, batch_size=batch), ae_cls and (lambda: ae_cls(**ae_kw)),
         epochs, epochs),
        ("Deep-SVDD", lambda: DeepSVDD(pretrain_epochs=epochs, epochs=epochs, batch_size=batch),
         svdd_cls and (lambda n_features: svdd_cls(n_features=n_features, **svdd_kw)), 2 * epochs, epochs),
        ("DevNet", lambda: DevNet(epochs=epochs, batch_size=batch, steps_per_epoch=steps),
         dev_cls and (lambda: dev_cls(**dev_kw)), epochs, epochs),
    ]


def timed(fit, *args, **kwargs) -> float:
    """Seconds that ``fit(*args, **kwargs)`` takes (its prints swallowed: PyOD prints per-epoch lines)."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        fit(*args, **kwargs)
    return time.perf_counter() - start


def bench(dataset: str, device: str, epochs: int, batch: int, seed: int) -> list[dict]:
    import numpy as np

    from adray.metrics import auc

    X, y, X_test, y_test = load_arrays(dataset)
    flat, flat_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)
    rows = []
    for method, make_adray, make_pyod, adray_epochs, pyod_epochs in pairs(epochs, batch, len(X), device):
        semi = method == "DevNet"
        det = make_adray()
        seconds = timed(det.fit, X, y if semi else None, seed=seed, device=device)
        row = {"dataset": dataset, "device": det.device_, "method": method, "epochs": epochs, "batch_size": batch,
               "adray_s_per_epoch": round(seconds / adray_epochs, 4),
               "adray_auc": round(auc(y_test, det.decision_function(X_test)), 4)}
        if make_pyod is None:
            row["note"] = "PyOD implementation not installed"
        else:
            import torch

            torch.manual_seed(seed)
            np.random.seed(seed)
            model = make_pyod(flat.shape[1]) if method == "Deep-SVDD" else make_pyod()
            seconds = timed(model.fit, *((flat, y) if semi else (flat,)))
            row["pyod_s_per_epoch"] = round(seconds / pyod_epochs, 4)
            row["pyod_auc"] = round(auc(y_test, np.asarray(model.decision_function(flat_test), dtype=float)), 4)
            row["time_ratio"] = round(row["adray_s_per_epoch"] / row["pyod_s_per_epoch"], 2)
            row["auc_diff"] = round(row["adray_auc"] - row["pyod_auc"], 4)
        rows.append(row)
        print(row, flush=True)
    return rows


def warm_up() -> None:
    """One tiny fit of each library first, so that no timed row pays torch's start-up costs."""
    import numpy as np

    from adray.detectors.ae import AutoEncoder

    X = np.random.default_rng(0).random((64, 8), dtype=np.float32)
    AutoEncoder(epochs=1).fit(X)
    with contextlib.suppress(ImportError), contextlib.redirect_stdout(io.StringIO()):
        from pyod.models.auto_encoder import AutoEncoder as PyODAutoEncoder

        PyODAutoEncoder(epoch_num=1, verbose=0).fit(X)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", nargs="+", default=["breast_cancer", "digits"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", nargs="+", default=["cpu", "cuda"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: comparable on shared CPUs)")
    parser.add_argument("--out", default=str(REPO / "results" / "bench" / "baselines.csv"))
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    devices = [d for d in args.device if d == "cpu" or torch.cuda.is_available()]
    skipped = sorted(set(args.device) - set(devices))
    if skipped:
        print(f"skipping {', '.join(skipped)}: CUDA is not available on this machine")
    warm_up()
    rows = [r for dataset in args.dataset for device in devices
            for r in bench(dataset, device, args.epochs, args.batch_size, args.seed)]
    columns = ["dataset", "device", "method", "epochs", "batch_size", "adray_s_per_epoch", "pyod_s_per_epoch",
               "time_ratio", "adray_auc", "pyod_auc", "auc_diff", "note"]
    print_table(rows, columns)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""
    write_csv(args.out, rows, {"machine": platform.node(), "cpu": platform.processor() or platform.machine(),
                               "gpu": gpu, "torch_threads": args.threads, "cpus": os.cpu_count()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
