"""Trial resources and the check that the cluster can ever provide them.

Ray leaves a trial PENDING forever when no node can satisfy it; adray refuses such a sweep up front
with a message that says what the cluster has.
"""

from __future__ import annotations

import ray

from adray.errors import AdrayError


def trial_resources(cpus: float, gpus: float) -> dict:
    if cpus <= 0:
        raise AdrayError(f"--cpus-per-trial must be > 0 (got {cpus})")
    if gpus < 0:
        raise AdrayError(f"--gpus-per-trial must be >= 0 (got {gpus})")
    if 0 < gpus < 1 and abs(round(1 / gpus) - 1 / gpus) > 1e-9:
        raise AdrayError(
            f"--gpus-per-trial {gpus} does not divide one GPU evenly; use 1/n (0.5, 0.25, 0.2, 0.125, ...) so no "
            "share of a GPU is left idle"
        )
    return {"cpu": cpus, "gpu": gpus}


def node_capacities() -> list[dict]:
    return [node["Resources"] for node in ray.nodes() if node.get("Alive")]


def check_cluster(cpus: float, gpus: float, autoscale: bool = False) -> str:
    """Raise if no node can run one trial; return a one-line description of the cluster."""
    nodes = node_capacities()
    total_cpu = sum(n.get("CPU", 0) for n in nodes)
    total_gpu = sum(n.get("GPU", 0) for n in nodes)
    summary = f"{len(nodes)} node(s), {total_cpu:g} CPU, {total_gpu:g} GPU"
    if autoscale:
        return summary + " (autoscaling: capacity not checked)"
    if gpus > 0 and total_gpu == 0:
        raise AdrayError(
            f"--gpus-per-trial {gpus:g} asks for GPUs, but the Ray cluster has none ({summary}). Run with "
            "--gpus-per-trial 0 to train on CPU, connect to a GPU cluster with --address, or pass --autoscale "
            "if the cluster adds GPU workers on demand."
        )
    fits = [n for n in nodes if n.get("CPU", 0) >= cpus and n.get("GPU", 0) >= gpus]
    if not fits:
        biggest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
        raise AdrayError(
            f"one trial needs {cpus:g} CPU and {gpus:g} GPU, more than any node has (largest: "
            f"{biggest.get('CPU', 0):g} CPU, {biggest.get('GPU', 0):g} GPU; {summary}). Lower --cpus-per-trial / "
            "--gpus-per-trial, or pass --autoscale if larger nodes are added on demand."
        )
    return summary
