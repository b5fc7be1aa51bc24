"""Check a Ray cluster-launcher file before `ray up`: YAML syntax, Ray's own cluster schema, and the
settings that keep an AWS cluster locked down.

`ray up` reports schema errors as a long jsonschema dump after it has started working; this gives one
paragraph naming the field, what is wrong with it and how to fix it. It also refuses what Ray accepts
but should not run (read from Ray 2.60's AWS launcher, ``ray/autoscaler/_private/aws/config.py``):

- a placeholder or missing ``ImageId`` (Ray would substitute its built-in Ubuntu 18.04 Deep Learning AMI);
- a node type without ``SecurityGroupIds``: Ray then creates its own group and always adds SSH from
  0.0.0.0/0 to it (``provider.security_group.IpPermissions`` only adds rules on top), and any rule
  open to the whole internet;
- a head without ``IamInstanceProfile`` (Ray then creates ``ray-autoscaler-v1`` with
  AmazonEC2FullAccess and AmazonS3FullAccess) and workers without one (trials run there, and
  ``--storage s3://`` needs the bucket there);
- nodes started without token authentication: ``ray start`` turns it on only with
  ``RAY_AUTH_MODE=token`` or an existing token, so every start command must say
  ``RAY_AUTH_MODE=token`` and the token file must be mounted on every node.
"""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path

import yaml

from adray.errors import AdrayError

SCHEMA_DOCS = "https://docs.ray.io/en/latest/cluster/vms/references/ray-cluster-configuration.html"
PLACEHOLDER_AMI = "ami-0123456789abcdef0"
PLACEHOLDER_SECURITY_GROUP = "sg-REPLACE-ME"
DEFAULT_TOKEN_PATH = "~/.ray/auth_token"  # where Ray 2.60 looks for the token unless RAY_AUTH_TOKEN(_PATH) is set
RAY_DEFAULT_ROLE = "ray-autoscaler-v1"
OPEN_RANGES = {"0.0.0.0/0", "::/0"}
SETUP = "see README, \"Cluster use\""


def check_cluster_file(path: str | Path) -> str:
    """Validate ``path``; return a one-line description, raise AdrayError with the first problem."""
    path = Path(path)
    config = read_cluster_file(path)
    from jsonschema import ValidationError
    from ray.autoscaler._private.util import prepare_config, validate_config

    try:
        prepared = prepare_config(copy.deepcopy(config))
        validate_config(prepared)
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise AdrayError(
            f"{path}: field {field}: {exc.message}. Ray would refuse this file at `ray up`; fix that field "
            f"(schema: {SCHEMA_DOCS}) and check again with `adray check-cluster {path}`."
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise AdrayError(
            f"{path}: {exc}. Fix it (see {SCHEMA_DOCS}) and check again with `adray check-cluster {path}`."
        ) from None
    if prepared["provider"].get("type") == "aws":
        lockdown = check_aws_lockdown(prepared)
    else:  # other providers: only what does not depend on the cloud
        problem = _token_problems(prepared)
        if problem:
            raise AdrayError(f"token authentication is off: {problem}")
        lockdown = f"token auth on (token file {token_mount(prepared)[1]})"
    types = prepared.get("available_node_types", {})
    workers = ", ".join(f"{n} ({t.get('min_workers', 0)}-{t.get('max_workers', '?')})" for n, t in types.items()
                        if n != prepared.get("head_node_type"))
    return (f"{path} is valid for Ray's cluster launcher: provider {config['provider'].get('type')}, "
            f"head {prepared.get('head_node_type', '(default)')!r}, workers: {workers or '(provider defaults)'}; "
            f"{lockdown}")


def read_cluster_file(path: Path) -> dict:
    """The cluster file as a dict; AdrayError naming the line of a YAML mistake."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise AdrayError(
            f"cannot read the cluster file {path} ({exc.strerror}); pass the path of your cluster.yaml"
        ) from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise AdrayError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None
    if not isinstance(config, dict):
        raise AdrayError(
            f"{path}: expected a mapping of cluster settings (cluster_name, provider, ...), got {type(config).__name__}"
        )
    return config


def check_aws_lockdown(config: dict) -> str:
    """Refuse (AdrayError) the first setting that leaves a prepared AWS cluster config open; else describe it."""
    head = config["head_node_type"]
    types = config["available_node_types"]
    for name, node_type in types.items():
        _check_ami(name, node_type["node_config"])
    problem = _token_problems(config)
    if problem:
        raise AdrayError(f"token authentication is off: {problem}")
    groups = set()
    for name, node_type in types.items():
        groups |= set(_check_security_groups(name, node_type["node_config"]))
    _check_open_rules(config["provider"].get("security_group", {}).get("IpPermissions", []))
    head_profile = _profile_name(types[head].get("node_config", {}))
    if head_profile is None:
        raise AdrayError(
            f"node type {head!r} (the head) has no node_config.IamInstanceProfile, so Ray's launcher would create "
            f"{RAY_DEFAULT_ROLE!r} with AmazonEC2FullAccess and AmazonS3FullAccess; create the least-privilege "
            f"profile with `adray cluster-policy` ({SETUP}) and set IamInstanceProfile: {{Name: adray-head}}"
        )
    workers = [n for n in types if n != head]
    for name in workers:
        profile = _profile_name(types[name].get("node_config", {}))
        if profile is None:
            raise AdrayError(
                f"node type {name!r} has no node_config.IamInstanceProfile: trials run on the workers, and "
                "--storage s3://... needs the results bucket there; create the bucket-only profile with "
                f"`adray cluster-policy` ({SETUP}) and set IamInstanceProfile: {{Name: adray-worker}}"
            )
        if profile == head_profile:
            raise AdrayError(
                f"node type {name!r} uses the head's instance profile {profile!r}, which may launch and terminate "
                "instances; give workers the bucket-only profile (IamInstanceProfile: {Name: adray-worker})"
            )
    for name in [head, *workers]:
        if _profile_name(types[name].get("node_config", {})) == RAY_DEFAULT_ROLE:
            raise AdrayError(
                f"node type {name!r} uses {RAY_DEFAULT_ROLE!r}, Ray's default role with AmazonEC2FullAccess and "
                f"AmazonS3FullAccess; use the least-privilege profiles from `adray cluster-policy` ({SETUP})"
            )
    worker_profiles = sorted({_profile_name(types[n]["node_config"]) for n in workers})
    return (f"token auth on (token file {token_mount(config)[1]}), inbound traffic only through "
            f"{', '.join(sorted(groups))}, instance profiles {head_profile} (head) and "
            f"{', '.join(worker_profiles) or '-'} (workers)")


def _check_ami(name: str, node_config: dict) -> None:
    image = str(node_config.get("ImageId", ""))
    if image == PLACEHOLDER_AMI:
        raise AdrayError(
            f"node type {name!r}: ImageId {image} is the placeholder shipped in cluster.yaml; set it to a Deep "
            "Learning AMI (Ubuntu, with CUDA) of your region, e.g. the newest that `aws ec2 describe-images --owners "
            "amazon --filters 'Name=name,Values=Deep Learning*PyTorch*Ubuntu*' --query "
            "'sort_by(Images,&CreationDate)[-1].[ImageId,Name]'` prints"
        )
    if image.lower() in ("", "latest_dlami"):
        raise AdrayError(
            f"node type {name!r} has no ImageId, so Ray would use its built-in AWS Deep Learning AMI (Ubuntu 18.04) "
            "V71.0, an out-of-support image; set ImageId to a current Deep Learning AMI of your region"
        )


def _check_security_groups(name: str, node_config: dict) -> list[str]:
    groups = node_config.get("SecurityGroupIds") or []
    if not groups:
        raise AdrayError(
            f"node type {name!r} has no node_config.SecurityGroupIds, so Ray's launcher would create a security "
            "group that allows SSH from anywhere (0.0.0.0/0; provider.security_group.IpPermissions only adds rules "
            "to it). Create a group that allows SSH from your CIDR only with `adray cluster-policy --ssh-cidr ...` "
            f"({SETUP}) and list its id in SecurityGroupIds of every node type"
        )
    for group in groups:
        if group == PLACEHOLDER_SECURITY_GROUP or not re.fullmatch(r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?", str(group)):
            raise AdrayError(
                f"node type {name!r}: SecurityGroupIds has {group!r}, not a security group id (sg- and 8 or 17 hex "
                f"digits); put in the id that the setup script of `adray cluster-policy` printed ({SETUP})"
            )
    return groups


def _check_open_rules(rules: list) -> None:
    for rule in rules:
        ranges = [r.get("CidrIp") for r in rule.get("IpRanges", [])]
        ranges += [r.get("CidrIpv6") for r in rule.get("Ipv6Ranges", [])]
        opened = OPEN_RANGES.intersection(ranges)
        if opened:
            ports = f"ports {rule.get('FromPort', 'all')}-{rule.get('ToPort', 'all')}"
            raise AdrayError(
                f"provider.security_group.IpPermissions opens {ports} to {', '.join(sorted(opened))}, i.e. to the "
                "whole internet; remove that rule (SSH is allowed from your CIDR by the group in SecurityGroupIds)"
            )


def _profile_name(node_config: dict) -> str | None:
    profile = node_config.get("IamInstanceProfile")
    if not profile:
        return None
    return profile.get("Name") or str(profile.get("Arn", "")).rsplit("/", 1)[-1] or None


def ray_start_env(commands: list[str]) -> dict[str, str] | None:
    """The ``NAME=value`` assignments in front of ``ray start`` in ``commands``; None if none starts Ray."""
    for command in commands:
        for segment in re.split(r";|&&|\|\|", command):
            words = shlex.split(segment)
            if "ray" not in words or "start" not in words:
                continue
            at = words.index("ray")
            if words[at + 1: at + 2] != ["start"]:
                continue
            return dict(w.split("=", 1) for w in words[:at] if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", w))
    return None


def token_mount(config: dict) -> tuple[str, str] | None:
    """(path on the nodes, path on your machine) of the mounted token file, or None."""
    env = ray_start_env(config.get("head_start_ray_commands", [])) or {}
    remote = env.get("RAY_AUTH_TOKEN_PATH", DEFAULT_TOKEN_PATH)
    mounts = config.get("file_mounts", {})
    return (remote, mounts[remote]) if remote in mounts else None


def _token_problems(config: dict) -> str | None:
    """Why nodes of ``config`` would start without token authentication, or None."""
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        env = ray_start_env(config.get(key, []))
        if env is None:
            return f"no `ray start` in {key}"
        if env.get("RAY_AUTH_MODE") != "token":
            return (f"the `ray start` of {key} runs without RAY_AUTH_MODE=token (Ray 2.60 enables token auth on "
                    "`ray start` only then, or when a token file already exists); prefix it with RAY_AUTH_MODE=token")
    mount = token_mount(config)
    if mount is None:
        env = ray_start_env(config["head_start_ray_commands"])
        remote = env.get("RAY_AUTH_TOKEN_PATH", DEFAULT_TOKEN_PATH)
        return (f"no file_mounts entry puts the token at {remote} on the nodes; add \"{remote}\": "
                f"\"{DEFAULT_TOKEN_PATH}\" to file_mounts (the head copies it to every worker)")
    local = Path(mount[1]).expanduser()
    if not local.is_file() or not local.read_text().strip():
        return (f"the token file {mount[1]} that file_mounts copies to the nodes does not exist on this machine "
                f"(`ray up` would stop there); create it with `ray get-auth-token --generate`")
    return None
