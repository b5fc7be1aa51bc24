"""Check a Ray cluster-launcher file before `ray up`: YAML syntax and Ray's own cluster schema.

`ray up` reports schema errors as a long jsonschema dump after it has started working; this gives one
paragraph naming the field, what is wrong with it and where the schema is documented.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from adray.errors import AdrayError

SCHEMA_DOCS = "https://docs.ray.io/en/latest/cluster/vms/references/ray-cluster-configuration.html"


def check_cluster_file(path: str | Path) -> str:
    """Validate ``path``; return a one-line description, raise AdrayError with the first problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise AdrayError(f"cannot read the cluster file {path} ({exc.strerror}); pass the path of your cluster.yaml") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise AdrayError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None
    if not isinstance(config, dict):
        raise AdrayError(f"{path}: expected a mapping of cluster settings (cluster_name, provider, ...), got {type(config).__name__}")
    from jsonschema import ValidationError
    from ray.autoscaler._private.util import prepare_config, validate_config

    try:
        validate_config(prepare_config(copy.deepcopy(config)))
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise AdrayError(
            f"{path}: field {field}: {exc.message}. Ray would refuse this file at `ray up`; fix that field "
            f"(schema: {SCHEMA_DOCS}) and check again with `adray check-cluster {path}`."
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise AdrayError(f"{path}: {exc}. Fix it (see {SCHEMA_DOCS}) and check again with `adray check-cluster {path}`.") from None
    types = config.get("available_node_types", {})
    workers = ", ".join(f"{n} ({t.get('min_workers', 0)}-{t.get('max_workers', '?')})" for n, t in types.items()
                        if n != config.get("head_node_type"))
    return (f"{path} is valid for Ray's cluster launcher: provider {config['provider'].get('type')}, "
            f"head {config.get('head_node_type', '(default)')!r}, workers: {workers or '(provider defaults)'}")
