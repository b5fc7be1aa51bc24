"""A cluster that is not locked down is bad input: `adray check-cluster` refuses it before `ray up`, and
`adray cluster-policy` refuses a placeholder bucket or SSH open to the internet. The token settings
of cluster.yaml are then proven on a real local Ray cluster of two node processes started the way
cluster.yaml starts them: requests without the token are refused, nodes with it join.
"""

import contextlib
import copy
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from adray.errors import AdrayError
from adray.tune.cluster_config import check_cluster_file, ray_start_env, token_mount

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster.yaml"
REAL_AMI, REAL_GROUP = "ami-0abcdef1234567890", "sg-0123456789abcdef0"


def adray(*args, home):
    env = {**os.environ, "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, "-m", "adray.cli", *args], capture_output=True, text=True, env=env,
                          timeout=180, cwd=REPO)


def assert_clean_failure(result, *phrases):
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    message = result.stderr.strip().splitlines()[-1]
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


def home_with_token(folder: Path) -> Path:
    """A home folder whose ~/.ray/auth_token exists, as `ray get-auth-token --generate` leaves it."""
    (folder / ".ray").mkdir(parents=True, exist_ok=True)
    (folder / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    return folder


def filled_in() -> dict:
    """cluster.yaml with its two placeholders replaced, as a user would before `ray up`."""
    config = yaml.safe_load(CLUSTER.read_text())
    for node_type in config["available_node_types"].values():
        node_type["node_config"].update(ImageId=REAL_AMI, SecurityGroupIds=[REAL_GROUP])
    return config


def write(config, folder: Path) -> Path:
    path = folder / "cluster.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_shipped_cluster_yaml_is_refused_until_its_placeholders_are_replaced(tmp_path):
    home = home_with_token(tmp_path / "home")
    assert_clean_failure(adray("check-cluster", str(CLUSTER), home=home),
                         "ImageId ami-0123456789abcdef0 is the placeholder", "Deep Learning AMI")
    config = yaml.safe_load(CLUSTER.read_text())
    for node_type in config["available_node_types"].values():
        node_type["node_config"]["ImageId"] = REAL_AMI
    assert_clean_failure(adray("check-cluster", str(write(config, tmp_path)), home=home),
                         "SecurityGroupIds has 'sg-REPLACE-ME'", "adray cluster-policy")
    ok = adray("check-cluster", str(write(filled_in(), tmp_path)), home=home)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "is valid" in ok.stdout and "token auth on" in ok.stdout and REAL_GROUP in ok.stdout
    assert "adray-head (head) and adray-worker (workers)" in ok.stdout


def _drop_auth_mode(commands):
    return [c.replace("RAY_AUTH_MODE=token ", "") for c in commands]


def _worker_config(config):
    return config["available_node_types"]["gpu_worker"]["node_config"]


def _head_config(config):
    return config["available_node_types"]["head"]["node_config"]


MUTATIONS = {
    "no-ami": (lambda c: _head_config(c).pop("ImageId"), ["has no ImageId", "Ubuntu 18.04"]),
    "worker-placeholder-ami": (lambda c: _worker_config(c).update(ImageId="ami-0123456789abcdef0"),
                               ["'gpu_worker'", "placeholder"]),
    "no-security-group": (lambda c: _worker_config(c).pop("SecurityGroupIds"),
                          ["'gpu_worker' has no node_config.SecurityGroupIds", "0.0.0.0/0", "--ssh-cidr"]),
    "open-extra-rule": (lambda c: c["provider"].update(security_group={"IpPermissions": [
        {"FromPort": 22, "ToPort": 22, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}),
        ["opens ports 22-22 to 0.0.0.0/0"]),
    "open-ipv6-rule": (lambda c: c["provider"].update(security_group={"IpPermissions": [
        {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]}), ["to ::/0"]),
    "head-without-role": (lambda c: _head_config(c).pop("IamInstanceProfile"),
                          ["'head' (the head) has no node_config.IamInstanceProfile", "AmazonEC2FullAccess"]),
    "worker-without-role": (lambda c: _worker_config(c).pop("IamInstanceProfile"),
                            ["'gpu_worker' has no node_config.IamInstanceProfile", "s3://"]),
    "worker-with-head-role": (lambda c: _worker_config(c).update(IamInstanceProfile={"Name": "adray-head"}),
                              ["uses the head's instance profile"]),
    "rays-full-access-role": (lambda c: _head_config(c).update(
        IamInstanceProfile={"Arn": "arn:aws:iam::123456789012:instance-profile/ray-autoscaler-v1"}),
        ["'ray-autoscaler-v1'", "AmazonS3FullAccess"]),
    "head-without-token-mode": (lambda c: c.update(head_start_ray_commands=_drop_auth_mode(c["head_start_ray_commands"])),
                                ["token authentication is off", "head_start_ray_commands", "RAY_AUTH_MODE=token"]),
    "worker-without-token-mode": (lambda c: c.update(worker_start_ray_commands=_drop_auth_mode(c["worker_start_ray_commands"])),
                                  ["worker_start_ray_commands", "RAY_AUTH_MODE=token"]),
    "token-not-mounted": (lambda c: c["file_mounts"].pop("~/.ray/auth_token"),
                          ["no file_mounts entry puts the token at ~/.ray/auth_token"]),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_check_cluster_refuses_an_open_cluster(tmp_path, monkeypatch, name):
    monkeypatch.setenv("HOME", str(home_with_token(tmp_path / "home")))
    mutate, phrases = MUTATIONS[name]
    config = copy.deepcopy(filled_in())
    mutate(config)
    with pytest.raises(AdrayError) as caught:
        check_cluster_file(write(config, tmp_path))
    for phrase in phrases:
        assert phrase in str(caught.value), f"{phrase!r} not in {caught.value}"


def test_check_cluster_refuses_a_missing_local_token(tmp_path):
    result = adray("check-cluster", str(write(filled_in(), tmp_path)), home=tmp_path / "empty-home")
    assert_clean_failure(result, "token file ~/.ray/auth_token", "does not exist on this machine",
                         "ray get-auth-token --generate")


def test_cluster_policy_refuses_a_placeholder_bucket_and_ssh_from_anywhere(tmp_path):
    home = tmp_path / "home"
    assert_clean_failure(adray("cluster-policy", "--bucket", "<bucket>", "--ssh-cidr", "203.0.113.7/32",
                               "--out", str(tmp_path / "iam"), home=home), "'<bucket>' is not an S3 bucket name")
    assert_clean_failure(adray("cluster-policy", "--bucket", "my-lab-results", "--ssh-cidr", "0.0.0.0/0",
                               "--out", str(tmp_path / "iam"), home=home), "whole internet")
    assert_clean_failure(adray("cluster-policy", "--bucket", "my-lab-results", "--ssh-cidr", "my-laptop",
                               "--out", str(tmp_path / "iam"), home=home), "not an IP range")
    assert not (tmp_path / "iam").exists()  # nothing half-written


# --- token authentication on a real multi-process Ray cluster ------------------------------------------------

RAY_CLI = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_ports() -> list[str]:
    """Every port a node opens, free ones, so that other Ray instances on this machine are not disturbed."""
    flags = ["--object-manager-port", "--node-manager-port", "--metrics-export-port", "--dashboard-agent-listen-port",
             "--dashboard-agent-grpc-port", "--runtime-env-agent-port"]
    return [arg for flag in flags for arg in (flag, str(_free_port()))]


def _http_status(url: str, token: str | None = None):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


class LocalCluster:
    """Ray nodes as `ray start --block` processes, each in its own session, stopped by pid (never `ray stop`,
    which would stop every Ray on the machine)."""

    def __init__(self, temp_dir: str):
        self.temp_dir, self.procs = temp_dir, []

    def start(self, args, env, log: Path) -> subprocess.Popen:
        with open(log, "w") as out:
            proc = subprocess.Popen([str(RAY_CLI), "start", *args, "--block", "--num-cpus", "1",
                                     "--node-ip-address", "127.0.0.1", *_node_ports()],
                                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 20
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        time.sleep(1)
        for pid in self.leftovers():  # Ray processes of this cluster only: their command line names its temp dir
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def leftovers(self) -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and self.temp_dir.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
        return found


def _on_node(remote: str, home: Path, ssh_user: str) -> Path:
    """Where a file mounted at ``remote`` lands on a node whose home folder is ``home``."""
    for prefix in ("~/", f"/home/{ssh_user}/"):
        if remote.startswith(prefix):
            return home / remote[len(prefix):]
    raise AssertionError(f"the token is mounted outside the node's home: {remote}")


def _node_env(base: dict, start_env: dict, home: Path) -> dict:
    return {**base, **start_env, "HOME": str(home)}


@pytest.mark.ray
@pytest.mark.skipif(not RAY_CLI.exists(), reason="the `ray` command is not installed next to this Python")
@pytest.mark.skipif(importlib.util.find_spec("aiohttp") is None,
                    reason="Ray's dashboard needs ray[default] (aiohttp), which is not installed")
def test_token_auth_on_a_local_cluster_started_like_cluster_yaml(tmp_path):
    config = yaml.safe_load(CLUSTER.read_text())
    head_env = ray_start_env(config["head_start_ray_commands"])
    worker_env = ray_start_env(config["worker_start_ray_commands"])
    mount = token_mount(config)
    token = secrets.token_hex(32)
    # one home per node; file_mounts puts the token at the same place on the head and on every worker
    homes = {node: tmp_path / node for node in ("head", "worker", "outsider")}
    for node, home in homes.items():
        home.mkdir()
        if mount and node != "outsider":
            on_node = _on_node(mount[0], home, config["auth"]["ssh_user"])
            on_node.parent.mkdir(parents=True, exist_ok=True)
            on_node.write_text(token)
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}  # conftest disables auth
    base["RAY_USAGE_STATS_ENABLED"] = "0"
    temp_dir = tempfile.mkdtemp(prefix="adray-auth-", dir="/tmp")  # short: Ray's socket paths must stay < 108 chars
    cluster = LocalCluster(temp_dir)
    gcs, dashboard = _free_port(), _free_port()
    api = f"http://127.0.0.1:{dashboard}/api/version"
    try:
        head = cluster.start(["--head", "--port", str(gcs), "--temp-dir", temp_dir, "--include-dashboard", "true",
                              "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard),
                              "--ray-client-server-port", str(_free_port())],
                             _node_env(base, head_env, homes["head"]), tmp_path / "head.log")
        deadline = time.time() + 180
        while _http_status(api) is None and head.poll() is None and time.time() < deadline:
            time.sleep(1)
        assert _http_status(api) is not None, (tmp_path / "head.log").read_text()[-3000:]

        assert _http_status(api) == 401  # no token: refused
        assert _http_status(api, "0" * 64) == 403  # wrong token: refused
        assert _http_status(api, token) == 200

        cluster.start(["--address", f"127.0.0.1:{gcs}"], _node_env(base, worker_env, homes["worker"]),
                      tmp_path / "worker.log")
        outsider = cluster.start(["--address", f"127.0.0.1:{gcs}"], {**base, "HOME": str(homes["outsider"])},
                                 tmp_path / "outsider.log")
        driver = ("import sys, time, ray\nray.init(address=sys.argv[1])\nfor _ in range(120):\n"
                  "    alive = [n for n in ray.nodes() if n['Alive']]\n    if len(alive) >= 2: break\n"
                  "    time.sleep(1)\nprint('ALIVE', len(alive))\n")
        joined = subprocess.run([sys.executable, "-c", driver, f"127.0.0.1:{gcs}"], capture_output=True, text=True,
                                env=_node_env(base, head_env, homes["head"]), timeout=240)
        assert "ALIVE 2" in joined.stdout, (joined.stdout[-1000:], joined.stderr[-3000:],
                                            (tmp_path / "worker.log").read_text()[-2000:])

        # a node without the token is turned away by the GCS: it says so, then gives up after its retries
        refused = "Authentication token is missing or incorrect"
        deadline = time.time() + 180
        while refused not in (tmp_path / "outsider.log").read_text() and outsider.poll() is None \
                and time.time() < deadline:
            time.sleep(0.5)
        assert refused in (tmp_path / "outsider.log").read_text()
        assert outsider.poll() != 0, "the node without the token joined or ended as if it had"
    finally:
        cluster.stop()
        leftovers = cluster.leftovers()
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert not leftovers
