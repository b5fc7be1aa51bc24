"""Benchmark R2-AD2's per-sample gradient extraction: torch.func (vmap + grad) vs a Python loop.

    adray bench r2ad2_gradients                 # CPU (and CUDA when present)
    adray bench r2ad2_gradients --n 512 --device cuda --batch-size 256

Both methods compute the same (n, P) matrix of reconstruction-BCE gradients of the same target
network (the autoencoder whose gradients R2-AD2's alarm reads): the MNIST conv target with code 8
(P = 9657) and a tabular dense target (D = 121, dims (40, 20, 10): NSL-KDD's DIM_TARGET, P = 11931).
Throughput = samples / second after one warm-up call; ``max_abs_diff`` checks that both agree.
Prints a table, writes results/bench/r2ad2_gradients.csv.
"""

from __future__ import annotations

import argparse
import platform
import time
from functools import partial

from adray.bench.common import print_table, results_dir, write_csv

TARGETS = {"mnist_conv8": ((28, 28), 8), "tabular_121": ((121,), (40, 20, 10))}


def loop_gradients(model, x, names):
    import torch

    from adray.detectors.components import keras_like

    params = dict(model.named_parameters())
    rows = []
    for sample in x:
        batch = sample.unsqueeze(0)
        loss = keras_like.bce(model(batch), batch.flatten(1))
        rows.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, [params[n] for n in names])]))
    return torch.stack(rows)


def timed(fn, device):
    import torch

    fn()  # warm-up
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device != "cpu":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adray bench r2ad2_gradients", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=256, help="samples per measurement")
    parser.add_argument("--batch-size", type=int, default=256, help="gradient_batch_size of the vmapped version")
    parser.add_argument("--device", action="append", help="cpu / cuda (repeatable); default cpu (+cuda if present)")
    parser.add_argument("--out", default=str(results_dir() / "r2ad2_gradients.csv"))
    args = parser.parse_args(argv)

    import torch

    from adray.detectors.r2ad2.gradients import n_gradient_features, per_sample_gradients, select_parameters
    from adray.detectors.r2ad2.network import make_target

    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    rows = []
    for device in devices:
        for name, (shape, dims) in TARGETS.items():
            torch.manual_seed(0)
            target = make_target(shape, dims, 0.4).to(device).eval()
            names = select_parameters(target)
            x = torch.rand(args.n, *shape, device=device)
            fast, t_fast = timed(partial(per_sample_gradients, target, x, names, args.batch_size), device)
            slow, t_slow = timed(partial(loop_gradients, target, x, names), device)
            diff = float((fast - slow).abs().max())
            for method, seconds in (("torch.func", t_fast), ("python loop", t_slow)):
                rows.append({"device": device, "target": name, "P": n_gradient_features(target, names),
                             "method": method, "n": args.n, "seconds": round(seconds, 3),
                             "samples_per_s": round(args.n / seconds, 1), "speedup": round(t_slow / seconds, 1),
                             "max_abs_diff": f"{diff:.1e}"})
    print_table(rows, ["device", "target", "P", "method", "n", "seconds", "samples_per_s", "speedup",
                       "max_abs_diff"])
    extra = {"torch": torch.__version__, "machine": platform.node(),
             "threads": torch.get_num_threads(), "batch_size": args.batch_size}
    if "cuda" in devices:
        extra["gpu"] = torch.cuda.get_device_name(0)
    write_csv(args.out, rows, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
