"""Which Ray a sweep uses: never, silently, a cluster someone else left running on the machine."""

import pytest

pytest.importorskip("ray")

from adray.tune.runner import ray_address  # noqa: E402


def test_address_flag_then_ray_address_then_a_new_local_ray(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert ray_address(None) == "local"  # Ray's default would join a `ray start` cluster found on the machine
    assert ray_address("auto") == "auto"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")  # set by `ray job submit` for its entrypoint
    assert ray_address(None) == "10.0.0.5:6379"
    assert ray_address("127.0.0.1:6380") == "127.0.0.1:6380"
