"""Checkpoints hold plain data only: they load with weights_only and refuse anything that runs code."""

import os
import pickle

import numpy as np
import pytest
import torch

from adray.sweep import checkpoint


class _Planted:
    """What an attacker plants: unpickling it runs code (here: creates a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_payload_round_trips_with_arrays_tensors_and_numbers(tmp_path):
    payload = {"state": {"mean": np.arange(4, dtype=np.float32), "w": torch.ones(2, 3), "epoch": np.int64(3),
                         "shape": (8, 8), "name": "x", "raw": b"\x00\x01"},
               "history": [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}]}
    checkpoint.save(tmp_path / "checkpoint_000001", payload)
    back = checkpoint.load(tmp_path / "checkpoint_000001")
    np.testing.assert_array_equal(back["state"]["mean"], payload["state"]["mean"])
    assert isinstance(back["state"]["mean"], np.ndarray) and back["state"]["epoch"] == 3
    assert torch.equal(back["state"]["w"], payload["state"]["w"]) and back["state"]["shape"] == (8, 8)
    assert back["history"] == payload["history"] and back["state"]["raw"] == b"\x00\x01"


def test_a_planted_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "code-ran"
    folder = tmp_path / "checkpoint_000000"
    folder.mkdir()
    torch.save({"state": _Planted(str(marker)), "history": []}, folder / checkpoint.STATE_FILE)
    with pytest.raises(pickle.UnpicklingError):
        checkpoint.load(folder)
    assert not marker.exists()


def test_the_newest_checkpoint_is_the_one_with_the_most_epochs_not_the_highest_name(tmp_path):
    checkpoint.save(tmp_path / "checkpoint_000004", {"state": {}, "history": [{}] * 5})
    checkpoint.save(tmp_path / "checkpoint_000000", {"state": {}, "history": [{}] * 7})  # a resumed trial restarts numbering
    (tmp_path / "checkpoint_000009").mkdir()  # cut short: no files
    assert checkpoint.newest_in(tmp_path) == tmp_path / "checkpoint_000000"
    assert checkpoint.newest_in(tmp_path / "none") is None


def test_pruning_keeps_the_checkpoints_with_the_most_epochs(tmp_path):
    for name, epochs in (("checkpoint_000000", 2), ("checkpoint_000001", 4), ("checkpoint_000002", 6)):
        checkpoint.save(tmp_path / name, {"state": {}, "history": [{}] * epochs})
    checkpoint.prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint_000001", "checkpoint_000002"]
