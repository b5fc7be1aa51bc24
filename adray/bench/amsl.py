"""Benchmark: one CPU training epoch of AMSL's default network on DSADS-shaped windows, and what makes it faster.

    adray bench amsl [--rounds 5] [--threads 1] [--no-compile]

Random windows of 125 x 45 (DSADS), the default network (7 views, 500 + 7 x 500 memory slots,
filters 32/64/128: 3.3 M parameters), batch 16. The epoch is the ``dsads:amsl`` protocol's: of
6,720 normal windows 40 % test, 20 % of the rest validation, so 3,225 train (202 steps) and the
807 validation windows are scored after every epoch (their mean score is the label-free
validation loss). An epoch is not run: its time is extrapolated from the measured seconds per
step and per scored window (steps x s/step + validation windows x s/window + their views).

Variants, all with the same weights, timed round-robin in one run so machine load hits them alike:
  plain              the first port (``adray.detectors.amsl.reference``), NCHW
  plain+channels-last  the same with the network and its activations channels-last
  less work          entropy from the read-out, convolutions that crop inside the kernel, no slicing
  adray (cpu)        less work + channels-last: what ``AMSL`` trains with on a CPU now
  adray+compile      that network under ``torch.compile`` (inductor); its compile time is shown apart
It also times each part of one step (encoder, memories, decoders, classifier, rest) for ``plain``
and ``adray (cpu)``, and the numpy transforms (made once per fit for training, once per
validation for the validation windows). Times are CPU seconds of this process (``time.process_time``,
so other load on the machine counts less); wall seconds are in the CSV. Prints tables and writes
``results/bench/amsl.csv``.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from adray.bench.common import print_table, results_dir, write_csv
from adray.detectors.amsl.loss import amsl_loss, reconstruction_score
from adray.detectors.amsl.network import AMSLNetwork
from adray.detectors.amsl.reference import ReferenceNetwork
from adray.detectors.amsl.transforms import ViewScaler, make_views, view_generators
from adray.detectors.components import keras_like

LENGTH, CHANNELS, VIEWS, BATCH = 125, 45, 7, 16
DSADS_NORMAL = 14 * 8 * 60  # 14 normal activities x 8 subjects x 60 segments


def protocol_sizes() -> tuple[int, int]:
    """(train, validation) windows of ``dsads:amsl``, split as ``adray.data.settings.make_split`` does."""
    pool, _ = train_test_split(np.arange(DSADS_NORMAL), test_size=0.4, random_state=0)
    train, val = train_test_split(pool, test_size=0.2, random_state=0)
    return len(train), len(val)


def variants(compile_too: bool) -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    plain = ReferenceNetwork(LENGTH, CHANNELS, VIEWS)
    fast = AMSLNetwork(LENGTH, CHANNELS, VIEWS)
    fast.load_state_dict(plain.state_dict())
    nets = {"plain": plain, "plain+channels-last": copy.deepcopy(plain).to(memory_format=torch.channels_last),
            "less work": fast, "adray (cpu)": copy.deepcopy(fast).to(memory_format=torch.channels_last)}
    if compile_too:
        nets["adray+compile"] = copy.deepcopy(nets["adray (cpu)"])
    return nets


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


class Runner:
    """One variant's training step and scoring pass, with its own optimiser."""

    def __init__(self, name: str, net: torch.nn.Module, windows: torch.Tensor, score_chunk: int) -> None:
        self.name, self.net, self.windows, self.score_chunk = name, net, windows, score_chunk
        self.model = torch.compile(net) if name.endswith("compile") else net
        self.optimizer = keras_like.adam(list(net.parameters()), 1e-3)
        self.steps: list[tuple[float, float]] = []
        self.scores: list[tuple[float, float]] = []
        self.batch = windows[:BATCH]

    def step(self) -> None:
        self.net.train()
        out = self.model(self.batch)
        loss = amsl_loss(self.batch, out, 1.0, 2e-4)["loss"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def score(self) -> torch.Tensor:
        self.net.eval()
        with torch.no_grad():
            return torch.cat([reconstruction_score(chunk, self.model(chunk, classify=False)["reconstruction"])
                              for chunk in self.windows.split(self.score_chunk)])


def part_times(net: torch.nn.Module, windows: torch.Tensor, rounds: int) -> dict[str, float]:
    """CPU seconds of forward + backward of each part of one training step (median over rounds)."""
    batch = windows[:BATCH]
    n, r = BATCH, VIEWS
    with torch.no_grad():
        z0 = net.encode(batch)
        positions0 = z0.flatten(-2).transpose(-1, -2)
        fused0 = net.read_memory(net.global_memory, positions0)[0]
        code0 = torch.cat([z0, fused0.transpose(-1, -2).reshape(z0.shape)], dim=2)

    def encoder():
        net.encode(batch).sum().backward()

    def memories():
        positions = positions0.detach().requires_grad_()
        total = 0
        for memory in (net.global_memory, net.local_memory):
            read, entropy = net.read_memory(memory, positions)
            total = total + read.sum() + entropy.sum()
        total.backward()

    def decoders():
        net.decode(code0.detach().requires_grad_()).sum().backward()

    def classifier():
        net.classifier(z0.detach().requires_grad_().reshape(n * r, *net.code_shape)).sum().backward()

    parts = {"encoder": encoder, "memories": memories, "decoders": decoders, "classifier": classifier}
    net.train()
    out = {}
    for name, fn in parts.items():
        fn()  # warm-up
        out[name] = statistics.median(timed(fn)[0] for _ in range(rounds))
        net.zero_grad(set_to_none=True)
    return out


def transform_times(train: int, val: int) -> list[dict]:
    """CPU seconds of the numpy views: the training set's (plus fitting the scaler) and the validation set's."""
    rng = np.random.default_rng(0)
    X_train, X_val = (rng.random((n, LENGTH, CHANNELS), dtype=np.float32) for n in (train, val))
    scaler = None

    def training_views():
        nonlocal scaler
        views = make_views(X_train, view_generators(np.random.default_rng(1)))
        scaler = ViewScaler.fit(views)
        scaler.transform(views)

    train_s, _ = timed(training_views)
    val_s, _ = timed(lambda: scaler.transform(make_views(X_val, view_generators(np.random.default_rng(2)))))
    return [{"table": "transforms", "variant": "training views + scaler", "windows": train, "when": "once per fit",
             "cpu_s": round(train_s, 2)},
            {"table": "transforms", "variant": "validation views", "windows": val, "when": "every epoch",
             "cpu_s": round(val_s, 2)}]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adray bench amsl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed training steps per variant (median)")
    parser.add_argument("--score-windows", type=int, default=64, help="windows scored per round (default 64)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: what a sweep trial with --cpus-per-trial 1 gets)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    parser.add_argument("--out", default=str(results_dir() / "amsl.csv"))
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    train, val = protocol_sizes()
    steps = math.ceil(train / BATCH)
    windows = torch.rand(args.score_windows, VIEWS, LENGTH, CHANNELS, generator=torch.Generator().manual_seed(0))
    runners = []
    for name, net in variants(not args.no_compile).items():
        chunk = 64 if name.startswith("plain") else 16  # the scoring chunk before / after this change
        runners.append(Runner(name, net, windows, chunk))
    print(f"AMSL default network ({sum(p.numel() for p in runners[0].net.parameters()):,} parameters), "
          f"{LENGTH} x {CHANNELS} windows, batch {BATCH}, {args.threads} thread(s); dsads:amsl epoch: {train} "
          f"training windows ({steps} steps) + {val} validation windows scored", flush=True)

    reference = runners[0].score()
    compile_s, failed, diffs = {}, {}, {}
    for runner in runners:  # scores before any training step (same weights), then a warm-up step
        try:
            _, wall = timed(lambda runner=runner: diffs.__setitem__(runner.name, runner.score()))
            _, wall_step = timed(runner.step)
            if runner.name.endswith("compile"):  # the first calls compile the inference and training graphs
                compile_s[runner.name] = wall + wall_step
        except Exception as exc:  # noqa: BLE001 - torch.compile may be unavailable: report, do not stop
            failed[runner.name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    runners = [r for r in runners if r.name not in failed]
    diffs = {name: float((scores - reference).abs().max() / reference.abs().max()) for name, scores in diffs.items()}
    for _ in range(args.rounds):
        for runner in runners:
            runner.steps.append(timed(runner.step))
    for _ in range(max(1, args.rounds // 2)):
        for runner in runners:
            runner.scores.append(timed(runner.score))

    transforms = transform_times(train, val)
    val_views_s = transforms[1]["cpu_s"]
    rows = []
    for runner in runners:
        step_cpu = statistics.median(c for c, _ in runner.steps)
        step_wall = statistics.median(w for _, w in runner.steps)
        window = statistics.median(c for c, _ in runner.scores) / len(windows)
        epoch = steps * step_cpu + val * window + val_views_s
        rows.append({"table": "step", "variant": runner.name, "s_per_step": round(step_cpu, 3),
                     "wall_s_per_step": round(step_wall, 3), "score_chunk": runner.score_chunk,
                     "s_per_scored_window": round(window, 4), "epoch_s": round(epoch, 1),
                     "epoch_min": round(epoch / 60, 2), "max_rel_score_diff": f"{diffs[runner.name]:.1e}",
                     "compile_s": round(compile_s[runner.name], 1) if runner.name in compile_s else ""})
    base = rows[0]
    for row in rows:
        row["step_speedup"] = round(base["s_per_step"] / row["s_per_step"], 2)
        row["epoch_speedup"] = round(base["epoch_s"] / row["epoch_s"], 2)
    print()
    print_table(rows, ["variant", "s_per_step", "step_speedup", "score_chunk", "s_per_scored_window", "epoch_s",
                       "epoch_min", "epoch_speedup", "max_rel_score_diff", "compile_s"])
    for name, reason in failed.items():
        print(f"{name}: failed ({reason})")
        rows.append({"table": "step", "variant": name, "notes": f"failed: {reason}"})

    parts = []
    for runner in runners:
        if runner.name in ("plain", "adray (cpu)"):
            times = part_times(runner.net, windows, args.rounds)
            step_cpu = next(r["s_per_step"] for r in rows if r["variant"] == runner.name)
            times["rest (fusion, loss, Adam)"] = max(0.0, step_cpu - sum(times.values()))
            parts += [{"table": "parts", "variant": runner.name, "part": part, "cpu_s": round(s, 3),
                       "share": f"{s / step_cpu:.0%}"} for part, s in times.items()]
    print("\nwhere one training step goes (forward + backward of each part, CPU s):")
    print_table(parts, ["variant", "part", "cpu_s", "share"])
    print("\nnumpy view transforms (not part of a training step):")
    print_table(transforms, ["variant", "windows", "when", "cpu_s"])
    print(f"\nepoch = {steps} steps x s_per_step + {val} x s_per_scored_window + validation views "
          f"({val_views_s} s); extrapolated from {args.rounds} timed steps per variant, not a full epoch")

    extra = {"threads": args.threads, "rounds": args.rounds, "train_windows": train, "val_windows": val,
             "steps_per_epoch": steps, "torch": torch.__version__, "python": platform.python_version(),
             "cpu": cpu_name(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    write_csv(args.out, rows + parts + transforms, extra)
    return 0


def cpu_name() -> str:
    """The processor's model name (for the CSV), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
