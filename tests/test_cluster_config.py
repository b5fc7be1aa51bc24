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
