"""``TorchDetector``: the PyTorch training template behind every trainable detector.

The template owns the epoch loop, batching, device placement, seeding, per-epoch reports (with val
AUC), batched no-grad scoring and checkpoints. A subclass describes its model by overriding public
hooks, each documented on :class:`TorchDetector`:

- required: :meth:`~TorchDetector.build_networks`, :meth:`~TorchDetector.train_step`,
  :meth:`~TorchDetector.score_batch`;
- optional, with defaults: :meth:`~TorchDetector.stages`, :meth:`~TorchDetector.make_optimizers`,
  :meth:`~TorchDetector.on_stage_start`, :meth:`~TorchDetector.stage_data`,
  :meth:`~TorchDetector.train_networks`, :meth:`~TorchDetector.run_epoch`,
  :meth:`~TorchDetector.scoring_data`;
- ``state_attrs`` (ClassVar): names of extra attributes saved in checkpoints once they exist
  (tensors or python values, e.g. a Deep-SVDD centre ``c_``).

Helpers a subclass calls: :meth:`~TorchDetector.optimize` (zero_grad, backward, step),
:meth:`~TorchDetector.as_tensor`, :meth:`~TorchDetector.batches` and :meth:`~TorchDetector.infer`
(the one batched no-grad loop: scores, reconstructions, embeddings all go through it), and the
attributes ``networks_``, ``optimizers_``, ``device_``, ``generator_`` (CPU torch generator,
checkpointed), ``stage_rng_`` (numpy Generator re-derived from (seed, stage index)).

Order of calls in ``fit``: ``build_networks`` -> ``make_optimizers`` -> for every stage of
``stages()``: ``on_stage_start`` -> ``stage_data`` -> per epoch ``run_epoch`` (which calls
``train_step`` per batch) -> a report (scoring the validation rows when given). ``decision_function``
feeds ``scoring_data(X)`` through ``score_batch``.

Randomness and resume
    ``fit`` calls ``torch.manual_seed(seed)``: network init, dropout and any draw from the global
    torch RNG (e.g. ``torch.randn(..., device=self.device_)`` for noise) are seeded and
    checkpointed; batch order comes from ``generator_``. Draws made when a stage starts
    (``on_stage_start``/``stage_data``) must use ``stage_rng_``, which a resumed fit re-derives
    identically. On resume the template rebuilds the networks, replays ``on_stage_start`` of the
    stages already begun (so non-state effects such as frozen ``requires_grad`` flags come back),
    then restores networks, optimisers, ``state_attrs``, RNG states and position, calls
    ``stage_data`` and continues with the next epoch. So anything ``on_stage_start`` computes
    that later training changes belongs in ``networks_``/``state_attrs``, and expensive
    data-dependent work belongs in ``stage_data``.

Stage data is converted to tensors on ``device_`` once per stage (zero-copy on CPU: X may be a
read-only view, so never modify stage tensors in place; batches are copies and may be modified).
Batches for ``score_batch`` are copies too.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from adray.detectors.base import BaseDetector, NotFittedError
from adray.detectors.components import keras_like
from adray.errors import AdrayError


class TorchDetector(BaseDetector):
    """Base class of PyTorch detectors: override the hooks below (see the module docstring for their order)."""

    uses_gpu: ClassVar[bool] = True
    state_attrs: ClassVar[tuple[str, ...]] = ()

    # common hyperparameters (declared by each subclass' __init__): epochs, batch_size, learning_rate

    # ------------------------------------------------------------------ hooks: required
    def build_networks(self, feature_shape: tuple[int, ...], n_subclasses: int) -> dict[str, nn.Module]:
        """The model: ``{name: nn.Module}``, called once at the start of every ``fit`` (and of a resumed one).

        Receives the feature shape of one row and the number of normal sub-classes (1 without
        ``subclass``). Build on the CPU from the seeded global torch RNG (so CPU and GPU fits start
        from the same weights); the template moves the networks to ``device_`` and stores them as
        ``networks_``. Fitted attributes the architecture implies (``hidden_dims_``, ...) are set here.
        While it runs, ``self.fit_data`` is this fit's ``(X, y)``, for statistics of the training rows
        that a network keeps (e.g. each feature's mean and spread); it is gone afterwards, so a fitted
        detector holds no reference to the (possibly shared, read-only) training rows.
        """
        raise NotImplementedError

    def train_step(self, stage: str, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        """One optimisation step; called by :meth:`run_epoch` for every batch of the stage.

        ``batch`` holds one tensor per array of :meth:`stage_data`, the same rows of each, on
        ``device_`` (copies: they may be modified). Returns metrics with at least ``"loss"``
        (tensors or floats), which the default :meth:`run_epoch` averages over the epoch weighted by
        batch size. May step several optimisers (:meth:`optimize`).
        """
        raise NotImplementedError

    def score_batch(self, batch: Any) -> torch.Tensor:
        """Anomaly scores (higher = more anomalous) of one item of :meth:`scoring_data`.

        Receives a batch of rows on ``device_`` (a copy), or whatever a method's
        :meth:`scoring_data` yields. Returns one score per row, any shape that flattens to them, in
        row order. Runs under ``torch.no_grad()`` with every network in eval mode (wrap it in
        ``torch.enable_grad()`` if scoring needs gradients); called by ``decision_function`` and for
        the per-epoch validation scores.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ hooks: optional
    def stages(self) -> list[tuple[str, int]]:
        """The training stages in order, ``[(name, epochs), ...]``; default ``[("train", self.epochs)]``.

        Called when ``fit`` starts and by ``get_state``; a stage of 0 epochs still runs its
        :meth:`on_stage_start` and :meth:`stage_data`.
        """
        return [("train", int(self.epochs))]

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """``{name: optimiser}``, called once after :meth:`build_networks` (stored as ``optimizers_``).

        Default: ``{"main": Keras-Adam(every network's parameters, learning_rate)}``.
        """
        params = [p for net in self.networks_.values() for p in net.parameters()]
        return {"main": keras_like.adam(params, self.learning_rate)}

    def on_stage_start(self, stage: str) -> None:
        """Per-stage set-up (freeze a target, reset counters, ...), called when ``stage`` starts; returns nothing.

        Runs with every network in eval mode, before :meth:`stage_data`; a resumed fit replays it for
        every stage already begun, before restoring the checkpoint. Default: nothing.
        """

    def stage_data(self, stage: str, X: np.ndarray, y, subclass) -> tuple[np.ndarray, ...]:
        """The arrays (equal length) the stage batches; called once per stage, after :meth:`on_stage_start`.

        Receives the validated training rows X (possibly a read-only view: never write to it), y
        (1 = known anomaly) and subclass, each None when not given. Runs with every network in eval
        mode; draws come from ``stage_rng_``. Default ``(X,)``.
        """
        return (X,)

    def train_networks(self, stage: str) -> Iterable[str]:
        """Names of the networks in train mode during ``stage`` (the rest stay in eval mode:
        frozen dropout/BatchNorm); called at the start of every epoch. Default: all of them."""
        return self.networks_.keys()

    def run_epoch(self, stage: str, data: tuple[torch.Tensor, ...]) -> dict[str, float]:
        """One epoch of ``stage`` over ``data`` (the stage data as tensors on ``device_``); returns its metrics.

        Default: reshuffle with ``generator_``, call :meth:`train_step` per ``batch_size`` batch and
        average its metrics weighted by batch size. Override for step-based training (GANDI: one
        "epoch" = N generator steps) or other sampling (REPEN's triplets).
        """
        n = len(data[0])
        order = torch.randperm(n, generator=self.generator_).to(self.device_)
        sums: dict[str, Any] = {}
        for start in range(0, n, self.batch_size):
            index = order[start: start + self.batch_size]
            metrics = self.train_step(stage, tuple(t[index] for t in data))
            for key, value in metrics.items():
                value = value.detach() if isinstance(value, torch.Tensor) else value
                sums[key] = sums.get(key, 0.0) + value * len(index)
        return {key: float(total) / n for key, total in sums.items()}

    def scoring_data(self, X: np.ndarray) -> Iterable[Any]:
        """What the score loop feeds to :meth:`score_batch`, item by item; called once per scoring of X.

        Receives validated rows X (possibly a read-only view). Default: :meth:`batches` of X. A method
        that scores something derived from X (AMSL: transformed views; GANDI: stacked minibatches)
        yields that instead, lazily, so only one item is in memory at a time. The items' scores,
        concatenated, must start with one score per row of X in row order; scores past ``len(X)``
        (padding of a last minibatch) are dropped. Iterated under ``torch.no_grad()`` in eval mode.
        """
        return self.batches(X)

    # ------------------------------------------------------------------ helpers for subclasses
    def optimize(self, loss: torch.Tensor, optimizer: str = "main") -> None:
        """zero_grad, backward and step of ``optimizers_[optimizer]`` for ``loss``."""
        opt = self.optimizers_[optimizer]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def as_tensor(self, array: np.ndarray) -> torch.Tensor:
        """A tensor on ``device_``; zero-copy on CPU, also for read-only arrays (never written to)."""
        array = np.asarray(array)
        if any(stride < 0 for stride in array.strides):
            array = np.ascontiguousarray(array)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
            return torch.as_tensor(array).to(self.device_)

    def batches(self, X: np.ndarray | torch.Tensor, batch_size: int | None = None) -> Iterator[torch.Tensor]:
        """Consecutive batches of ``batch_size`` (default ``self.batch_size``) rows of X on ``device_``.

        For an array each batch is a copy (X stays untouched); for a tensor (stage data) a view.
        """
        size = int(batch_size or self.batch_size)
        for start in range(0, len(X), size):
            rows = X[start: start + size]
            if not isinstance(rows, torch.Tensor):
                rows = torch.from_numpy(np.array(rows))  # a copy: X stays untouched
            yield rows.to(self.device_)

    def infer(self, fn: Callable[[Any], Any], batches: Iterable[Any]) -> list[Any]:
        """``[fn(batch) for batch in batches]`` under ``torch.no_grad()`` with every network in eval mode.

        The one batched inference loop of the detectors (scores, reconstructions, embeddings,
        statistics over the training rows); the networks' train/eval modes are restored afterwards,
        so it may run in the middle of training.
        """
        modes = {name: net.training for name, net in self.networks_.items()}
        for net in self.networks_.values():
            net.eval()
        try:
            with torch.no_grad():
                return [fn(batch) for batch in batches]
        finally:
            for name, net in self.networks_.items():
                net.train(modes[name])

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
        self.fit_data = (X, y)
        try:
            networks = self.build_networks(self.feature_shape_, self.n_subclasses_)
        finally:
            del self.fit_data
        self.networks_ = {name: net.to(self.device_) for name, net in networks.items()}
        self.optimizers_ = self.make_optimizers()
        stages = [(str(name), int(epochs)) for name, epochs in self.stages()]
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
            data = tuple(self.as_tensor(a) for a in self.stage_data(stage, X, y, subclass))
            if len({len(t) for t in data}) != 1:
                raise ValueError(f"stage_data({stage!r}) returned arrays of different lengths")
            for epoch in range((done if resumed_here else 0) + 1, n_epochs + 1):
                self._set_modes(stage)
                metrics = self.run_epoch(stage, data)
                if "loss" not in metrics:
                    raise TypeError(f"{type(self).__name__}.train_step must return a 'loss' metric")
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
        self.on_stage_start(stages[index][0])

    def _set_modes(self, stage: str | None) -> None:
        """Train mode for the stage's ``train_networks``, eval mode for the rest (all if stage is None)."""
        training = set(self.train_networks(stage)) if stage is not None else set()
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
        parts = self.infer(lambda batch: self.score_batch(batch).reshape(-1), self.scoring_data(X))
        return torch.cat(parts)[:len(X)].to(device="cpu", dtype=torch.float64).numpy()

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
        stages = self.stages()
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
