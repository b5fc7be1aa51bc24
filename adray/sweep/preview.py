"""What a sweep would run, without running it (``--dry-run``): the expanded trials, the resources they ask
for, an estimate of the work, and the datasets whose files are missing (with where to get them)."""

from __future__ import annotations

import inspect
from collections import Counter

from adray.errors import DatasetMissingError
from adray.sweep.request import (
    SETTING_KEYS,
    SweepRequest,
    default_dataset,
    expand_trials,
    search_cells,
    split_dataset_arg,
)


def missing_datasets(request: SweepRequest) -> dict[str, str]:
    """Dataset name -> the message saying which files are missing and where to get them."""
    from adray.data.cache import locate

    names = request.datasets or [default_dataset(m) for m in request.methods]
    missing = {}
    for arg in dict.fromkeys(names):
        name, _ = split_dataset_arg(arg)
        try:
            locate(name)
        except DatasetMissingError as exc:
            missing[arg] = f"{exc} (or: adray download {name})"
    return missing


def epochs_of(method: str, params: dict) -> int:
    """A trial's reported epochs: its ``epochs`` and ``*_epochs`` values (defaults where not set)."""
    from adray.detectors import get

    defaults = {k: p.default for k, p in inspect.signature(get(method).__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}
    values = {**defaults, **params}
    if "training_steps" in values and "steps_per_report" in values:  # GANDI: one report per N steps
        return int(values["training_steps"]) // max(1, int(values["steps_per_report"]))
    epochs = [v for k, v in values.items() if (k == "epochs" or k.endswith("_epochs")) and isinstance(v, int)]
    return max(1, sum(epochs))


def setting_label(dataset: str, setting, fields) -> str:
    """``mnist:a3_0-5``, followed by the value of each setting field the sweep varies (``n_train_anomalies=5``)."""
    values = setting.to_dict()
    return " ".join([f"{dataset}:{setting.name}", *(f"{k}={values[k]}" for k in fields)])


def preview(request: SweepRequest, require_files: bool = True) -> str:
    """The dry run's text; ``require_files=False`` previews it as if every dataset's files were present."""
    resources = f"{request.cpus_per_trial:g} CPU, {request.gpus_per_trial:g} GPU per trial"
    if request.search != "grid":
        cells = search_cells(request)
        quota = [request.samples if c.space else 1 for c in cells]
        total = sum(q * len(c.seeds) for q, c in zip(quota, cells, strict=True))
        lines = [f"search {request.search}: {len(cells)} cell(s), {total} trials ({resources}):"]
        for q, cell in zip(quota, cells, strict=True):
            space = ", ".join(f"{k}={d}" for k, d in cell.space.items()) or "nothing (its one configuration)"
            lines.append(f"  {cell.label}: {q} configuration(s) x {len(cell.seeds)} seeds; samples {space}")
        work = sum(epochs_of(c.method, c.params) * q * len(c.seeds) for q, c in zip(quota, cells, strict=True))
        lines.append(f"work: at most about {work:,} trial-epochs"
                     + (" (seed-aware ASHA stops some early)" if request.scheduler == "asha" else ""))
        return "\n".join(lines)
    trials = expand_trials(request, require_files)
    # a cell is (method, dataset, setting): settings that share a preset name but differ in a --set field
    # (n_train_anomalies=5 and =100) are separate cells
    per_cell = Counter((t.method, t.setting_key) for t in trials)
    configs = Counter((t.method, t.setting_key) for t in {(t.method, t.setting_key, t.config_id): t
                                                           for t in trials}.values())
    fields = [k for k in request.overrides if k in SETTING_KEYS - {"setting"}]
    labels = {(t.method, t.setting_key): f"{t.method} on {setting_label(t.dataset, t.setting, fields)}"
              for t in trials}
    lines = [f"{len(trials)} trials ({resources}):"]
    for key, n in per_cell.items():
        lines.append(f"  {labels[key]}: {configs[key]} configuration(s) x {n // max(1, configs[key])} seed(s) = "
                     f"{n} trials")
    work = sum(epochs_of(t.method, t.params) for t in trials)
    lines.append(f"work: about {work:,} trial-epochs")
    return "\n".join(lines)
