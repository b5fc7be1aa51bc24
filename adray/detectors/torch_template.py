"""``TorchDetector``: the PyTorch training template behind every trainable detector.

The template owns the epoch loop, batching, device placement, seeding, per-epoch reports (with val
AUC), eval-mode batched scoring and checkpoints. A subclass describes its model with hooks:

==========================================  ===============================================================
hook                                        purpose
==========================================  ===============================================================
``_build(feature_shape, n_subclasses)``     **required**: ``{name: nn.Module}``; built on CPU from the seeded
                                            global RNG (so CPU and GPU fits start from the same weights),
                                            then moved to ``device_`` and stored as ``networks_``
``_train_step(stage, batch) -> dict``       **required**: one optimisation step on a batch (a tuple of
                                            tensors on ``device_``); returns metrics with at least
                                            ``"loss"`` (tensors or floats; averaged over the epoch,
                                            weighted by batch size). May use several optimisers.
``_score(batch_X) -> Tensor``               **required**: (b,) scores, higher = more anomalous; runs under
                                            ``torch.no_grad()`` with every network in eval mode (wrap in
                                            ``torch.enable_grad()`` if scoring needs gradients)
``_stages() -> [(name, epochs), ...]``      default ``[("train", self.epochs)]``
``_make_optimizers() -> {name: optim}``     default ``{"main": Keras-Adam(all parameters, learning_rate)}``;
                                            called once after ``_build`` (stored as ``optimizers_``)
``_stage_data(stage, X, y, subclass)``      default ``(X,)``: the numpy arrays (same length) that the stage
                                            batches; y/subclass may be None
``_on_stage_start(stage)``                  default nothing: per-stage set-up (freeze a target, ...);
                                            it and ``_stage_data`` run with every network in eval mode
``_train_networks(stage) -> names``         default all: networks in train mode during the stage; the rest
                                            stay in eval mode (frozen dropout/BatchNorm)
``_run_epoch(stage, data) -> dict``         default: reshuffle (seeded ``generator_``), batch, call
                                            ``_train_step``, average. Override for step-based training
                                            (e.g. GANDI: one "epoch" = N generator steps)
``state_attrs`` (ClassVar)                  names of extra attributes saved in checkpoints once they exist
                                            (tensors or python values, e.g. a Deep-SVDD centre ``c_``)
==========================================  ===============================================================

Helpers for subclasses: ``self._optimize(loss, "main")`` (zero_grad, backward, step),
``self.networks_``, ``self.optimizers_``, ``self.device_``, ``self.generator_`` (CPU torch
generator, checkpointed), ``self.stage_rng_`` (numpy Generator re-derived from (seed, stage index)).

Randomness and resume
    ``fit`` calls ``torch.manual_seed(seed)``: network init, dropout and any draw from the global
    torch RNG (e.g. ``torch.randn(..., device=self.device_)`` for noise) are seeded and
    checkpointed; batch order comes from ``generator_``. Draws made when a stage starts
    (``_on_stage_start``/``_stage_data``) must use ``stage_rng_``, which a resumed fit re-derives
    identically. On resume the template rebuilds the networks, replays ``_on_stage_start`` of the
    stages already begun (so non-state effects such as frozen ``requires_grad`` flags come back),
    then restores networks, optimisers, ``state_attrs``, RNG states and position, calls
    ``_stage_data`` and continues with the next epoch. So anything ``_on_stage_start`` computes
    that later training changes belongs in ``networks_``/``state_attrs``, and expensive
    data-dependent work belongs in ``_stage_data``.

Stage data is converted to tensors on ``device_`` once per stage (zero-copy on CPU: X may be a
read-only view, so never modify stage tensors in place; batches are copies and may be modified).
Batches for ``_score`` are copies too.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors.base import BaseDetector, NotFittedError
from adray.detectors.components import keras_like
from adray.errors import AdrayError


class TorchDetector(BaseDetector):
    """Base class of PyTorch detectors; see the module docstring for the hooks."""

    uses_gpu: ClassVar[bool] = True
    state_attrs: ClassVar[tuple[str, ...]] = ()

    # common hyperparameters (declared by each subclass' __init__): epochs, batch_size, learning_rate

    # ------------------------------------------------------------------ hooks
    def _build(self, feature_shape: tuple[int, ...], n_subclasses: int) -> dict[str, nn.Module]:
        raise NotImplementedError

    def _train_step(self, stage: str, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        raise NotImplementedError

    def _score(self, batch_X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _stages(self) -> list[tuple[str, int]]:
        return [("train", int(self.epochs))]

    def _make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = [p for net in self.networks_.values() for p in net.parameters()]
        return {"main": keras_like.adam(params, self.learning_rate)}

    def _stage_data(self, stage: str, X: np.ndarray, y, subclass) -> tuple[np.ndarray, ...]:
        return (X,)

    def _on_stage_start(self, stage: str) -> None:
        pass

    def _train_networks(self, stage: str) -> Iterable[str]:
        return self.networks_.keys()

    def _run_epoch(self, stage: str, data: tuple[torch.Tensor, ...]) -> dict[str, float]:
        n = len(data[0])
        order = torch.randperm(n, generator=self.generator_).to(self.device_)
        sums: dict[str, Any] = {}
        for start in range(0, n, self.batch_size):
            index = order[start: start + self.batch_size]
            metrics = self._train_step(stage, tuple(t[index] for t in data))
            for key, value in metrics.items():
                value = value.detach() if isinstance(value, torch.Tensor) else value
                sums[key] = sums.get(key, 0.0) + value * len(index)
        return {key: float(total) / n for key, total in sums.items()}

    # ------------------------------------------------------------------ helpers for subclasses
    def _optimize(self, loss: torch.Tensor, optimizer: str = "main") -> None:
        opt = self.optimizers_[optimizer]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def _as_tensor(self, array: np.ndarray) -> torch.Tensor:
        """A tensor on ``device_``; zero-copy on CPU, also for read-only arrays (never written to)."""
        array = np.asarray(array)
        if any(stride < 0 for stride in array.strides):
            array = np.ascontiguousarray(array)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
            return torch.as_tensor(array).to(self.device_)

    # ------------------------------------------------------------------ the template
    def _resolve_device(self, device: str) -> str:
        super()._resolve_device(device)
        if device != "cpu" and not torch.cuda.is_available():
            warnings.warn(f"device {device!r} requested but CUDA is not available: training on the CPU",
                          RuntimeWarning, stacklevel=3)
            return "cpu"
        return device

    def _fit(self, X, y, subclass, X_val, y_val, callbacks, state) -> None:
        torch.manual_seed(self.seed_)
        self.generator_ = torch.Generator().manual_seed(self.seed_)
        networks = self._build(self.feature_shape_, self.n_subclasses_)
        self.networks_ = {name: net.to(self.device_) for name, net in networks.items()}
        self.optimizers_ = self._make_optimizers()
        stages = [(str(name), int(epochs)) for name, epochs in self._stages()]
        self.stage_index_, self.epoch_, self.iteration_ = 0, 0, 0

        first_stage, done = self._resume_point(state, stages) if state is not None else (0, 0)
        for i in range(first_stage + (1 if done else 0)):  # replay the set-up of stages already begun
            self._start_stage(i, stages)
        if state is not None:
            self._set_state(state)
        iteration = sum(epochs for _, epochs in stages[:first_stage]) + done

        for i in range(first_stage, len(stages)):
            stage, n_epochs = stages[i]
            resumed_here = i == first_stage and done > 0
            if not resumed_here:
                self._start_stage(i, stages)
            self._set_modes(None)  # stage set-up runs in eval mode
            data = tuple(self._as_tensor(a) for a in self._stage_data(stage, X, y, subclass))
            if len({len(t) for t in data}) != 1:
                raise ValueError(f"_stage_data({stage!r}) returned arrays of different lengths")
            for epoch in range((done if resumed_here else 0) + 1, n_epochs + 1):
                self._set_modes(stage)
                metrics = self._run_epoch(stage, data)
                if "loss" not in metrics:
                    raise TypeError(f"{type(self).__name__}._train_step must return a 'loss' metric")
                loss = metrics["loss"]
                if not np.isfinite(loss):
                    raise AdrayError(
                        f"{type(self).__name__} produced a non-finite loss ({loss}) in stage {stage!r}, "
                        f"epoch {epoch}: the model diverged; try a lower learning_rate or check the input"
                    )
                iteration += 1
                self.stage_index_, self.epoch_, self.iteration_ = i, epoch, iteration
                report = {"stage": stage, "epoch": epoch, "iteration": iteration, **metrics}
                if X_val is not None:
                    report.update(self._validation(X_val, y_val))
                self._report(callbacks, report)
        for net in self.networks_.values():
            net.eval()

    def _start_stage(self, index: int, stages: list[tuple[str, int]]) -> None:
        self._set_modes(None)
        self.stage_index_, self.epoch_ = index, 0
        self.stage_rng_ = np.random.default_rng([self.seed_, index])
        self._on_stage_start(stages[index][0])

    def _set_modes(self, stage: str | None) -> None:
        """Train mode for the stage's ``_train_networks``, eval mode for the rest (all if stage is None)."""
        training = set(self._train_networks(stage)) if stage is not None else set()
        for name, net in self.networks_.items():
            net.train(name in training)

    def _resume_point(self, state: dict, stages: list[tuple[str, int]]) -> tuple[int, int]:
        """(stage index, epochs done in it) to continue from; a finished stage moves to the next."""
        index, epoch = int(state["stage_index"]), int(state["epoch"])
        if index >= len(stages) or stages[index][0] != state["stage"]:
            raise AdrayError(
                f"state was taken in stage {state['stage']!r} (#{index}), which this "
                f"{type(self).__name__} does not have at that position; its stages: {[s for s, _ in stages]}"
            )
        if epoch >= stages[index][1]:
            return index + 1, 0
        return index, epoch

    def _decision(self, X: np.ndarray) -> np.ndarray:
        for net in self.networks_.values():
            net.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(X), self.batch_size):
                batch = torch.from_numpy(np.array(X[start: start + self.batch_size]))  # a copy: X stays untouched
                parts.append(self._score(batch.to(self.device_)).reshape(-1))
        return torch.cat(parts).to(device="cpu", dtype=torch.float64).numpy()

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict:
        """Snapshot at an epoch boundary: CPU copies of networks, optimisers, RNGs and position.

        Holds only tensors, python scalars/containers, so ``torch.load(weights_only=True)`` reads it.
        """
        if not hasattr(self, "networks_"):
            raise NotFittedError(f"this {type(self).__name__} has no state yet: call fit(X, ...) first")
        rng = {"torch": torch.get_rng_state(), "generator": self.generator_.get_state(), "cuda": None}
        if self.device_ != "cpu":
            rng["cuda"] = torch.cuda.get_rng_state(self.device_)
        stages = self._stages()
        return {
            **self._state_header(),
            "stage": stages[self.stage_index_][0] if stages else "",
            "stage_index": self.stage_index_,
            "epoch": self.epoch_,
            "iteration": self.iteration_,
            "networks": {name: _copy_to_cpu(net.state_dict()) for name, net in self.networks_.items()},
            "optimizers": {name: _copy_to_cpu(opt.state_dict()) for name, opt in self.optimizers_.items()},
            "attrs": {name: _copy_to_cpu(getattr(self, name)) for name in self.state_attrs if hasattr(self, name)},
            "rng": rng,
        }

    def _set_state(self, state: dict) -> None:
        for kind, mine in (("networks", self.networks_), ("optimizers", self.optimizers_)):
            if set(state[kind]) != set(mine):
                raise AdrayError(f"state has {kind} {sorted(state[kind])}, this detector {sorted(mine)}")
        for name, net in self.networks_.items():
            net.load_state_dict(state["networks"][name])
        for name, opt in self.optimizers_.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, value in state["attrs"].items():
            setattr(self, name, _move(value, self.device_))
        torch.set_rng_state(state["rng"]["torch"])
        self.generator_.set_state(state["rng"]["generator"])
        if self.device_ != "cpu" and state["rng"]["cuda"] is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device_)
        self.stage_index_, self.epoch_ = int(state["stage_index"]), int(state["epoch"])
        self.iteration_ = int(state["iteration"])


def _copy_to_cpu(obj: Any) -> Any:
    """Deep copy with every tensor detached onto the CPU (state_dicts hold live references)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {key: _copy_to_cpu(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_copy_to_cpu(value) for value in obj)
    return obj


def _move(obj: Any, device: str) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {key: _move(value, device) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_move(value, device) for value in obj)
    return obj
