"""cluster.yaml must pass Ray's own cluster-launcher schema (the one `ray up` applies)."""

import copy
from pathlib import Path

import pytest
import yaml

util = pytest.importorskip("ray.autoscaler._private.util")

CLUSTER = Path(__file__).resolve().parents[1] / "cluster.yaml"


def _validate(config):
    util.validate_config(util.prepare_config(copy.deepcopy(config)))


def test_cluster_yaml_passes_rays_schema():
    config = yaml.safe_load(CLUSTER.read_text())
    _validate(config)
    assert config["available_node_types"]["head"]["resources"] == {"CPU": 0}
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head


def test_the_schema_check_catches_a_broken_file():
    config = yaml.safe_load(CLUSTER.read_text())
    config["available_node_types"]["gpu_worker"]["resources"] = {"GPU": 0.5}
    with pytest.raises(Exception, match="not of type 'integer'"):
        _validate(config)


# --- the rendered security settings ------------------------------------------------------------------------

AWS_LAUNCHER = Path(util.__file__).parent / "aws"

# Every EC2 call and attribute Ray's AWS node provider uses (the head's autoscaler runs it), and the IAM
# action it needs on the head; None: not an API call, or never made on the head.
EC2_USE = {
    "instances": "ec2:DescribeInstances",  # ec2.instances.filter(...)
    "wait_until_stopped": "ec2:DescribeInstances",
    "create_instances": "ec2:RunInstances",
    "create_tags": "ec2:CreateTags",
    "terminate": "ec2:TerminateInstances", "terminate_instances": "ec2:TerminateInstances",
    "stop": "ec2:StopInstances", "stop_instances": "ec2:StopInstances",
    "start_instances": "ec2:StartInstances",
    "describe_instance_types": None,  # resource detection, done by `ray up` on your machine
    "describe_images": None,  # only with a CloudWatch agent config
    "meta": None, "id": None, "state": None, "tags": None, "private_ip_address": None, "public_ip_address": None,
    "spot_instance_request_id": None,
}


def _granted(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


def _render(**provider):
    from adray.tune import cluster_iam

    config = yaml.safe_load(CLUSTER.read_text())
    config["provider"].update(provider)
    return cluster_iam.render(config, "s3://my-lab-results/adray", "203.0.113.7")


def test_head_policy_covers_what_rays_aws_provider_calls_and_nothing_wider():
    import json
    import re

    source = (AWS_LAUNCHER / "node_provider.py").read_text()
    used = set(re.findall(r"(?:\.client|\bec2|ec2_fail_fast|\.instances|\bnode)\.([a-z_]+)", source))
    assert used <= set(EC2_USE), f"Ray's AWS provider uses {used - set(EC2_USE)}: decide what the head role needs"
    for cache_stopped, lifecycle in [(False, set()), (True, {"ec2:StopInstances", "ec2:StartInstances"})]:
        head = json.loads(_render(cache_stopped_nodes=cache_stopped)["head-policy.json"])
        needed = {EC2_USE[u] for u in used if EC2_USE[u]} - {"ec2:StopInstances", "ec2:StartInstances"} | lifecycle
        ec2 = {a for a in _granted(head) if a.startswith("ec2:")}
        assert ec2 == needed
        for statement in head["Statement"]:
            assert "*" not in "".join(statement["Action"])  # no wildcard actions anywhere
            if {"ec2:TerminateInstances", "ec2:StopInstances"} & set(statement["Action"]):
                assert statement["Condition"]["StringEquals"]["ec2:ResourceTag/ray-cluster-name"] == "adray"
            if statement["Action"] == ["ec2:CreateTags"]:  # tags on other instances only while launching
                assert statement["Condition"]["StringEquals"]["ec2:CreateAction"] == "RunInstances"
            if statement["Action"] == ["iam:PassRole"]:
                assert statement["Resource"] == ["arn:aws:iam::*:role/adray-worker"]
            if any(a.startswith("ec2:") for a in statement["Action"]):
                assert statement["Condition"]["StringEquals"]["aws:RequestedRegion"] == "us-east-1"


def test_both_roles_reach_the_results_bucket_and_workers_nothing_else():
    import json

    files = _render()
    worker = json.loads(files["worker-policy.json"])
    head = json.loads(files["head-policy.json"])
    assert _granted(worker) == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject",
                                "s3:DeleteObject", "s3:AbortMultipartUpload"}
    for policy in (worker, head):
        s3 = [s for s in policy["Statement"] if s["Action"][0].startswith("s3:")]
        assert {s["Resource"] for s in s3} == {"arn:aws:s3:::my-lab-results", "arn:aws:s3:::my-lab-results/*"}
    assert json.loads(files["trust.json"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_setup_script_limits_ssh_to_the_given_cidr(tmp_path):
    import subprocess

    script = _render()["setup.sh"]
    (tmp_path / "setup.sh").write_text(script)
    assert subprocess.run(["bash", "-n", str(tmp_path / "setup.sh")]).returncode == 0  # parses
    assert "--protocol tcp --port 22 --cidr 203.0.113.7/32" in script
    assert "0.0.0.0/0" not in script and "::/0" not in script
    assert "UserIdGroupPairs=[{GroupId=$SG}]" in script  # the nodes reach each other, nothing else gets in
    for role, policy in [("adray-head", "head-policy.json"), ("adray-worker", "worker-policy.json")]:
        assert f"--role-name {role} --policy-name {role} --policy-document file://{policy}" in script
        assert f"add-role-to-instance-profile --instance-profile-name {role} --role-name {role}" in script


def test_what_check_cluster_refuses_is_what_rays_aws_launcher_does_by_default():
    """Pin the launcher behaviour the refusals rely on, so a Ray upgrade that changes it fails here."""
    source = (AWS_LAUNCHER / "config.py").read_text()

    def function(name):
        start = source.index(f"def {name}(")
        return source[start:source.index("\ndef ", start + 1)]

    assert '"IpRanges": [{"CidrIp": "0.0.0.0/0"}]' in function("_create_default_ssh_inbound_rules")
    assert "ssh_rules" in function("_create_default_inbound_rules")  # always added, IpPermissions only extend
    assert 'if "SecurityGroupIds" not in node_type["node_config"]' in function("_configure_security_group")
    iam = function("_configure_iam_role")
    assert "AmazonEC2FullAccess" in iam and "AmazonS3FullAccess" in iam
    assert 'if "IamInstanceProfile" in head_node_config' in iam  # a configured profile is used as is
