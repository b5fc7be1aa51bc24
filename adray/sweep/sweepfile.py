"""A sweep as a file: ``adray sweep --config sweeps/argue.yaml`` (command-line flags override the file).

    # sweeps/example.yaml
    methods: [ae, deepsvdd]
    datasets: [breast_cancer, digits:default]      # dataset or dataset:setting
    seeds: [110, 210, 310]
    set:                                           # grid values, or a distribution to sample
      batch_size: [32, 64]
      learning_rate: loguniform(1e-4, 1e-2)
      ae.dropout: [0.0, 0.1]                      # one method's value
      p_contamination: [0.0, 0.05]                # a setting field
    search: optuna                                 # grid (default), random or optuna
    samples: 20
    scheduler: asha                                # fifo (default) or asha
    gpus_per_trial: 0.25

Every mistake names its line. A sweep file runs on whatever data is present: datasets whose files are
missing are left out with a message saying where to get them (``--dry-run`` lists them first). The
file is copied into the sweep folder (``sweep.yaml``), so each result records what produced it.
"""

from __future__ import annotations

from pathlib import Path

from adray.errors import AdrayError

# key -> (the SweepRequest field, what it must be)
KEYS = {
    "methods": ("methods", "a list of method names"),
    "datasets": ("datasets", "a list of datasets (name or name:setting)"),
    "seeds": ("seeds", "a list of whole numbers"),
    "set": ("overrides", "a mapping of hyperparameter or setting field to values or a distribution"),
    "search": ("search", "grid, random or optuna"),
    "samples": ("samples", "a whole number"),
    "search_seed": ("search_seed", "a whole number"),
    "scheduler": ("scheduler", "fifo or asha"),
    "gpus_per_trial": ("gpus_per_trial", "a number"),
    "cpus_per_trial": ("cpus_per_trial", "a number"),
    "max_failures": ("max_failures", "a whole number"),
    "checkpoint_every": ("checkpoint_every", "a whole number"),
    "smoke": ("smoke", "true or false"),
    "name": ("name", "a sweep name"),
    "storage": ("storage", "a folder or URI"),
    "description": (None, "text"),  # for the reader only
}


def _line(node) -> int:
    return node.start_mark.line + 1


def _fail(path: Path, node, problem: str) -> AdrayError:
    return AdrayError(f"{path}, line {_line(node)}: {problem}")


def load_sweep_file(path: str | Path) -> dict:
    """The file's SweepRequest fields (``overrides`` parsed like ``--set``); raises naming the line."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise AdrayError(f"--config {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise AdrayError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if root is None or not isinstance(data, dict):
        raise AdrayError(f"{path}: a sweep file is a mapping of keys ({', '.join(KEYS)}), see adray/sweep/sweepfile.py")
    nodes = {key.value: value for key, value in root.value}
    fields: dict = {}
    for key_node, value_node in root.value:
        key = key_node.value
        if key not in KEYS:
            raise _fail(path, key_node, f"unknown key {key!r}; a sweep file has {', '.join(KEYS)}")
        field, kind = KEYS[key]
        value = data[key]
        if field is None:
            continue
        fields[field] = _checked(path, key, value, value_node, kind, nodes)
    return fields


def _checked(path: Path, key: str, value, node, kind: str, nodes: dict):
    def wrong():
        return _fail(path, node, f"{key} must be {kind}, not {value!r}")

    if key in ("methods", "datasets"):
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise wrong()
        return value
    if key == "seeds":
        if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool)
                                                               for v in value):
            raise wrong()
        return value
    if key == "set":
        return _overrides(path, value, node)
    if key in ("samples", "search_seed", "max_failures", "checkpoint_every"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong()
        return value
    if key in ("gpus_per_trial", "cpus_per_trial"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise wrong()
        return float(value)
    if key == "smoke":
        if not isinstance(value, bool):
            raise wrong()
        return value
    if key in ("search", "scheduler"):
        allowed = kind.replace(" or ", ", ").split(", ")
        if value not in allowed:
            raise wrong()
        return value
    if not isinstance(value, str):
        raise wrong()
    return value


def _overrides(path: Path, value, node) -> dict:
    from adray.sweep.space import parse_distribution

    if not isinstance(value, dict):
        raise _fail(path, node, "set must be a mapping, e.g. set: {learning_rate: [0.001, 0.0001]}")
    out = {}
    for key_node, value_node in node.value:
        key, raw = key_node.value, value[key_node.value]
        try:
            dist = parse_distribution(raw) if isinstance(raw, str) else None
        except AdrayError as exc:
            raise _fail(path, value_node, f"set.{key}: {exc}") from None
        if dist is not None:
            out[key] = dist.to_dict()
        elif isinstance(raw, list):
            if not raw:
                raise _fail(path, value_node, f"set.{key}: an empty list gives the grid nothing to run")
            out[key] = raw
        elif isinstance(raw, dict):
            raise _fail(path, value_node, f"set.{key}: give a list of values or a distribution such as "
                                          "loguniform(1e-4, 1e-2), not a mapping")
        else:
            out[key] = [raw]
    return out
