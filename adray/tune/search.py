"""Search beyond the grid that gets seeds right: a seed-aware searcher and seed-aware successive halving.

Why not Tune's own: a searcher or scheduler that sees single trials judges single seeds, so the
configuration that survives is whichever seed was luckiest, and ``Repeater`` (Tune's seed averaging)
is documented not to mix with early-stopping schedulers. Here a *configuration* is the unit:

``SeedAwareSearch``
    For each cell (a method on a dataset and setting, with its grid values fixed) it asks Ray Tune's
    Optuna integration (``OptunaSearch``: TPE, or Optuna's random sampler for ``--search random``,
    seeded by ``--search-seed``) for a configuration, runs it on every seed as separate Tune trials
    (so they pack onto GPUs like grid trials), and tells the searcher the configuration's *mean
    validation metric over its seeds* once all of them have ended: never a single seed's, never a
    test metric. Validation AUC is maximised; where the setting's validation split has no anomaly
    (AMSL's protocol) the validation loss is minimised. At most ``max_inflight`` configurations are
    out at once, so TPE learns from finished ones.

``SeedAwareASHA``
    Asynchronous successive halving on the per-epoch validation metric, decided per configuration on
    the mean over its seeds. Rungs are at ``grace_period * reduction_factor**k`` epochs. A
    configuration is judged at a rung once *all* its seeds have reported that epoch (until then its
    seeds keep training); it continues if its seed mean is in the top ``1/reduction_factor`` of the
    configurations of its cell judged at that rung so far, else all its seeds are stopped together.
    A stopped trial gets ``stopped.json`` in its folder: the report lists it as stopped (never as a
    failure, never as a seed of a finished configuration) and a resume does not run it again.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from ray import tune
from ray.tune.schedulers import FIFOScheduler, TrialScheduler
from ray.tune.search import Searcher

from adray import artifacts
from adray.analysis.collect import STOPPED_FILE
from adray.sweep.ledger import Ledger, trial_dirname
from adray.sweep.request import SearchCell
from adray.sweep.space import Distribution


def tune_domain(distribution: Distribution):
    """The Ray Tune domain of a ``--set`` distribution (same names, same meaning)."""
    if distribution.kind == "choice":
        return tune.choice(list(distribution.args))
    return getattr(tune, distribution.kind)(*distribution.args)


def objective(cell: SearchCell) -> tuple[str, str]:
    """(metric, mode): validation AUC, or validation loss where validation holds no anomaly."""
    return ("val_loss", "min") if cell.setting.all_anomalies_in_test else ("val_auc", "max")


def _config_key(trial) -> str:
    return f"{trial.config_id}-{trial.setting_key}"


class SeedAwareSearch(Searcher):
    def __init__(self, cells: list[SearchCell], ledger: Ledger, samples: int, kind: str, seed: int,
                 max_inflight: int, on_new: Callable[[list[int]], None], known: dict[int, float] | None = None,
                 checkpoint_every: int = 5):
        super().__init__()
        self.cells, self.ledger, self.samples = cells, ledger, samples
        self.max_inflight, self.on_new, self.checkpoint_every = max(1, max_inflight), on_new, checkpoint_every
        # a cell with nothing to sample (a method without distributions) runs its one configuration once
        self.inner = [self._optuna(cell, kind, seed + i, samples) if cell.space else None
                      for i, cell in enumerate(cells)]
        self.quota = [samples if cell.space else 1 for cell in cells]
        self.drawn = [0] * len(cells)
        self.queue: list[tuple[int, dict]] = []  # (ledger index, trial config) waiting for a Tune trial
        self.samples_by_config: dict[str, dict] = {}  # config key -> {"cell", "id", "indices", "values"}
        self.trial_sample: dict[str, str] = {}
        self._round_robin = itertools.cycle(range(len(cells)))
        self._resume(known or {})

    @staticmethod
    def _optuna(cell: SearchCell, kind: str, seed: int, samples: int):
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # not one "study created" line per cell
        metric, mode = objective(cell)
        # TPE starts from random draws (Optuna's default: 10); a third of a small budget, so that TPE models at all
        sampler = optuna.samplers.RandomSampler(seed=seed) if kind == "random" else \
            optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, min(10, samples // 3)))
        space = OptunaSearch.convert_search_space({k: tune_domain(d) for k, d in cell.space.items()})
        return OptunaSearch(space=space, metric=metric, mode=mode, sampler=sampler)

    def _cell_of(self, trial) -> int | None:
        """The cell a ledger trial belongs to (its method, dataset, setting and fixed values)."""
        for i, cell in enumerate(self.cells):
            same_setting = trial.setting_key == artifacts.setting_key(cell.dataset, cell.setting.to_dict())
            if (trial.method, trial.dataset) == (cell.method, cell.dataset) and same_setting \
                    and all(trial.params.get(k) == v for k, v in cell.params.items()):
                return i
        return None

    def _resume(self, known: dict[int, float]) -> None:
        """Count the ledger's samples per cell, teach each searcher the finished ones, queue the rest."""
        by_config: dict[str, list[int]] = defaultdict(list)
        for index in range(len(self.ledger)):
            by_config[_config_key(self.ledger.trial(index))].append(index)
        for key, indices in by_config.items():
            trial = self.ledger.trial(indices[0])
            cell = self._cell_of(trial)
            if cell is None:
                continue
            self.drawn[cell] += 1
            sampled = {k: trial.params[k] for k in self.cells[cell].space}
            done = [known[i] for i in indices if i in known]
            if len(done) == len(indices):
                finite = [v for v in done if v is not None and math.isfinite(v)]
                if finite and self.inner[cell] is not None:
                    self.inner[cell].add_evaluated_point(sampled, float(np.mean(finite)))
                continue
            self.samples_by_config[key] = {"cell": cell, "id": None, "params": sampled, "indices": indices,
                                           "values": {i: known[i] for i in indices if i in known}}
            self.queue += [(i, self._config(i)) for i in indices if i not in known]

    def _config(self, index: int) -> dict:
        trial = self.ledger.trial(index).to_dict()
        return {"i": index, "t": {k: trial[k] for k in ("method", "dataset", "setting", "seed", "params")}}

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: a resume rebuilds the search from the ledger and the trial folders."""

    def restore(self, checkpoint_path: str) -> None:
        """See save."""

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return True  # the metric and mode are per cell (see objective)

    def _inflight(self) -> int:
        return sum(len(s["values"]) < len(s["indices"]) for s in self.samples_by_config.values())

    def _draw(self) -> bool:
        """Ask a cell's searcher for a new configuration and queue its seeds; False when none is left."""
        for _ in range(len(self.cells)):
            cell = next(self._round_robin)
            if self.drawn[cell] >= self.quota[cell]:
                continue
            sample_id = f"c{cell}-s{self.drawn[cell]}"
            self.drawn[cell] += 1
            sampled = self.inner[cell].suggest(sample_id) if self.inner[cell] is not None else {}
            trials = self.cells[cell].trials(sampled, self.checkpoint_every)
            key = _config_key(trials[0])
            if key in self.samples_by_config:  # the searcher proposed a configuration it already has
                self.samples_by_config[key].setdefault("echoes", []).append(sample_id)
                return True
            indices = self.ledger.add(trials)
            self.on_new(indices)
            self.samples_by_config[key] = {"cell": cell, "id": sample_id, "params": sampled, "indices": indices,
                                           "values": {}}
            self.queue += [(i, self._config(i)) for i in indices]
            return True
        return False

    def suggest(self, trial_id: str):
        if not self.queue and self._inflight() < self.max_inflight and not self._draw():
            return Searcher.FINISHED if not self._inflight() else None
        if not self.queue:
            return None
        index, config = self.queue.pop(0)
        self.trial_sample[trial_id] = _config_key(self.ledger.trial(index))
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        key = self.trial_sample.pop(trial_id, None)
        if key is None or key not in self.samples_by_config:
            return
        sample = self.samples_by_config[key]
        metric, _ = objective(self.cells[sample["cell"]])
        value = None if error or not result else result.get(metric)
        index = next((i for i in sample["indices"] if i not in sample["values"]), None)
        if index is None:
            return
        sample["values"][index] = value
        if len(sample["values"]) < len(sample["indices"]):
            return
        finite = [v for v in sample["values"].values() if v is not None and math.isfinite(v)]
        inner = self.inner[sample["cell"]]
        if inner is None:
            return
        for sample_id in [sample["id"], *sample.get("echoes", [])]:
            if sample_id is None:  # queued by a resume: the searcher learns it as an evaluated point
                if finite:
                    inner.add_evaluated_point(sample["params"], float(np.mean(finite)))
            else:
                inner.on_trial_complete(sample_id, {metric: float(np.mean(finite))} if finite else None,
                                        error=not finite)


class SeedAwareASHA(FIFOScheduler):
    def __init__(self, ledger: Ledger, sweep_dir: Path | None, grace_period: int = 5, reduction_factor: int = 3):
        super().__init__()
        self.ledger, self.sweep_dir = ledger, sweep_dir
        self.grace_period, self.eta = max(1, int(grace_period)), max(2, int(reduction_factor))
        self._seeds: dict[str, list[int]] = {}
        self._indexed = 0
        self.values: dict[str, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
        self.judged: dict[str, set[int]] = defaultdict(set)
        self.rung_means: dict[tuple[str, int], list[float]] = defaultdict(list)
        self.stopped: dict[str, dict] = {}

    def rungs(self, epoch: int) -> list[int]:
        out, rung = [], self.grace_period
        while rung <= epoch:
            out.append(rung)
            rung *= self.eta
        return out

    def _group(self, index: int) -> tuple[str, str, list[int]]:
        """(cell key, config key, the ledger indices of the configuration's seeds)."""
        for i in range(self._indexed, len(self.ledger)):  # the ledger grows while a searcher samples
            self._seeds.setdefault(_config_key(self.ledger.trial(i)), []).append(i)
        self._indexed = len(self.ledger)
        trial = self.ledger.trial(index)
        key = _config_key(trial)
        cell = json.dumps([trial.method, trial.dataset, trial.setting_key], default=str)
        return cell, key, self._seeds[key]

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        index = int(trial.config["i"])
        cell, key, seeds = self._group(index)
        if key in self.stopped:
            return TrialScheduler.STOP
        epoch = result.get("epoch")
        metric, sign = ("val_loss", -1.0) if "val_auc" not in result and "val_loss" in result else ("val_auc", 1.0)
        value = result.get(metric)
        if epoch is None or value is None:
            return TrialScheduler.CONTINUE
        rung = int(epoch)
        if rung not in self.rungs(rung) or rung in self.judged[key]:
            return TrialScheduler.CONTINUE
        self.values[key][rung][index] = sign * float(value)
        if len(self.values[key][rung]) < len(seeds):
            return TrialScheduler.CONTINUE  # judged once every seed of the configuration has reached the rung
        self.judged[key].add(rung)
        mean = float(np.mean(list(self.values[key][rung].values())))
        recorded = self.rung_means[(cell, rung)]
        recorded.append(mean)
        finite = [v for v in recorded if math.isfinite(v)]
        cutoff = float(np.percentile(finite, (1 - 1 / self.eta) * 100)) if finite else math.nan
        if math.isfinite(mean) and len(finite) > 1 and mean < cutoff:
            self._stop(key, seeds, rung, sign * mean, sign * cutoff, metric)
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def _stop(self, key: str, seeds: list[int], rung: int, mean: float, cutoff: float, metric: str) -> None:
        reason = (f"stopped early by seed-aware ASHA at epoch {rung}: mean {metric} over {len(seeds)} seeds "
                  f"{mean:.4f}, below the cut-off {cutoff:.4f} of its rung")
        self.stopped[key] = {"reason": reason, "epoch": rung, "mean": mean, "cutoff": cutoff, "metric": metric}
        if self.sweep_dir is None:
            return
        for index in seeds:
            folder = self.sweep_dir / trial_dirname(self.ledger.trial(index), index)
            folder.mkdir(parents=True, exist_ok=True)
            artifacts.write_json(folder / STOPPED_FILE, self.stopped[key])

    def debug_string(self) -> str:
        return f"Using seed-aware ASHA: grace period {self.grace_period}, reduction factor {self.eta}."
