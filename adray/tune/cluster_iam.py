"""Least-privilege AWS access for cluster.yaml: two IAM roles and a security group, rendered for one
results bucket and one SSH CIDR (``adray cluster-policy``).

Left to itself, Ray's AWS launcher gives the head a role with AmazonEC2FullAccess and
AmazonS3FullAccess, gives the workers none, and opens SSH to 0.0.0.0/0. Instead:

- the head's role may do what Ray's autoscaler does on AWS (``ray/autoscaler/_private/aws/node_provider.py``):
  list instances, launch them, tag and terminate them (tagging and terminating only instances tagged
  with this cluster's name), pass the worker role to the instances it launches, and nothing else
  in EC2 or IAM; plus the results bucket, since the Tune driver on the head writes the experiment state;
- the workers' role may read and write the results bucket only (every trial runs on a worker);
- the security group allows SSH from one CIDR and any traffic between the cluster's own nodes.

Nothing here talks to AWS: it writes JSON policy documents and ``setup.sh``, the aws CLI commands that
create the roles, instance profiles and security group, for the user to read and run.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from pathlib import Path

from adray.errors import AdrayError

CLUSTER_TAG = "ray-cluster-name"  # the tag Ray's launcher puts on every instance of a cluster
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def bucket_name(bucket: str) -> str:
    """The bucket of ``bucket`` (a name or an s3:// URI); AdrayError for a placeholder or an invalid name."""
    name = re.sub(r"^s3://", "", bucket.strip()).split("/", 1)[0]
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name) or ".." in name:
        raise AdrayError(
            f"--bucket {bucket!r} is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens); "
            "pass the bucket your sweeps write to with --storage s3://<bucket>/..., e.g. --bucket my-lab-results"
        )
    return name


def ssh_cidr(cidr: str) -> str:
    """``cidr`` normalised; AdrayError when it is not a CIDR or opens SSH to the whole internet."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise AdrayError(
            f"--ssh-cidr {cidr!r} is not an IP range; pass your address as a /32, e.g. "
            "--ssh-cidr \"$(curl -s https://checkip.amazonaws.com)/32\", or your institution's range"
        ) from None
    if network.prefixlen == 0:
        raise AdrayError(
            f"--ssh-cidr {cidr} lets the whole internet reach SSH on the cluster; pass your own address as a /32 "
            "or your institution's range"
        )
    return str(network)


def _s3_statements(bucket: str) -> list[dict]:
    return [
        {"Sid": "ResultsBucketList", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Sid": "ResultsBucketObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
         "Resource": f"arn:aws:s3:::{bucket}/*"},
    ]


def head_policy(bucket: str, cluster_name: str, region: str, worker_roles: list[str],
                cache_stopped_nodes: bool) -> dict:
    """What Ray's autoscaler needs on the head, for this cluster and region only where AWS allows it."""
    in_region = {"StringEquals": {"aws:RequestedRegion": region}}
    own = {"StringEquals": {"aws:RequestedRegion": region, f"ec2:ResourceTag/{CLUSTER_TAG}": cluster_name}}
    manage = ["ec2:TerminateInstances", "ec2:CreateTags"]
    if cache_stopped_nodes:  # Ray stops idle workers instead of terminating them, and restarts them later
        manage += ["ec2:StopInstances", "ec2:StartInstances"]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListInstances", "Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*",
         "Condition": in_region},
        {"Sid": "LaunchWorkers", "Effect": "Allow", "Action": ["ec2:RunInstances"], "Resource": "*",
         "Condition": in_region},
        {"Sid": "TagAtLaunch", "Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": region, "ec2:CreateAction": "RunInstances"}}},
        {"Sid": "ManageOwnInstances", "Effect": "Allow", "Action": manage, "Resource": "*", "Condition": own},
        {"Sid": "PassWorkerRole", "Effect": "Allow", "Action": ["iam:PassRole"],
         "Resource": [f"arn:aws:iam::*:role/{role}" for role in worker_roles],
         "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
        *_s3_statements(bucket),
    ]}


def worker_policy(bucket: str) -> dict:
    return {"Version": "2012-10-17", "Statement": _s3_statements(bucket)}


def _profile(node_config: dict, default: str) -> str:
    profile = node_config.get("IamInstanceProfile") or {}
    return profile.get("Name") or str(profile.get("Arn", "")).rsplit("/", 1)[-1] or default


def render(config: dict, bucket: str, cidr: str) -> dict[str, str]:
    """File name -> content: the three policy documents and setup.sh, for the cluster file ``config``."""
    bucket, cidr = bucket_name(bucket), ssh_cidr(cidr)
    provider = config.get("provider", {})
    if provider.get("type") != "aws" or not provider.get("region"):
        raise AdrayError(
            "adray cluster-policy is for AWS clusters: the cluster file needs provider: {type: aws, region: ...}"
        )
    cluster, region = config.get("cluster_name", "default"), provider["region"]
    types, head = config.get("available_node_types", {}), config.get("head_node_type")
    head_role = _profile(types.get(head, {}).get("node_config", {}), "adray-head")
    worker_roles = sorted({_profile(t.get("node_config", {}), "adray-worker") for n, t in types.items() if n != head})
    worker_roles = worker_roles or ["adray-worker"]
    policies = {
        "trust.json": TRUST,
        "head-policy.json": head_policy(bucket, cluster, region, worker_roles,
                                        bool(provider.get("cache_stopped_nodes", True))),
        "worker-policy.json": worker_policy(bucket),
    }
    files = {name: json.dumps(doc, indent=2) + "\n" for name, doc in policies.items()}
    files["setup.sh"] = _setup_script(cluster, region, cidr, head_role, worker_roles)
    return files


def _setup_script(cluster: str, region: str, cidr: str, head_role: str, worker_roles: list[str]) -> str:
    q = shlex.quote
    group = f"{cluster}-ssh"
    lines = [
        "#!/usr/bin/env bash",
        f"# Written by `adray cluster-policy` for cluster {cluster!r} in {region}: run it once per AWS account,",
        "# with credentials that may create IAM roles and security groups. Read it first.",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
    ]
    for role, policy in [(head_role, "head-policy.json")] + [(r, "worker-policy.json") for r in worker_roles]:
        lines += [
            f"aws iam create-role --role-name {q(role)} --assume-role-policy-document file://trust.json",
            f"aws iam put-role-policy --role-name {q(role)} --policy-name {q(role)} --policy-document file://{policy}",
            f"aws iam create-instance-profile --instance-profile-name {q(role)}",
            f"aws iam add-role-to-instance-profile --instance-profile-name {q(role)} --role-name {q(role)}",
        ]
    lines += [
        f"VPC=$(aws ec2 describe-vpcs --region {q(region)} --filters Name=is-default,Values=true "
        "--query 'Vpcs[0].VpcId' --output text)",
        f"SG=$(aws ec2 create-security-group --region {q(region)} --vpc-id \"$VPC\" --group-name {q(group)} "
        f"--description {q(f'adray cluster {cluster}: SSH from {cidr}, all traffic between its nodes')} "
        "--query GroupId --output text)",
        f"aws ec2 authorize-security-group-ingress --region {q(region)} --group-id \"$SG\" "
        f"--protocol tcp --port 22 --cidr {q(cidr)}",
        f"aws ec2 authorize-security-group-ingress --region {q(region)} --group-id \"$SG\" "
        "--ip-permissions \"IpProtocol=-1,UserIdGroupPairs=[{GroupId=$SG}]\"",
        'echo "security group $SG: put it into SecurityGroupIds of every node type in cluster.yaml"',
    ]
    return "\n".join(lines) + "\n"


def write(config: dict, bucket: str, cidr: str, out_dir: Path) -> list[Path]:
    files = render(config, bucket, cidr)  # refuses bad input before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text)
        paths.append(path)
    (out_dir / "setup.sh").chmod(0o755)
    return paths
