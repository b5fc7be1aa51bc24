"""A sweep folder: names that stay inside --storage, one writer at a time, free space checked up front."""

import json
import multiprocessing
import os
import socket

import pytest

from adray.errors import AdrayError
from adray.sweep.folder import OWNER_FILE, SweepLock, check_free_space, check_name, newest_unfinished
from adray.sweep.ledger import Ledger, write_ledger


@pytest.mark.parametrize("name", ["../../x", "/abs/path", "a b", "a\nb", "..", ".", "", "x/y", "ü", "a" * 129])
def test_names_that_leave_the_storage_folder_or_break_shells_are_refused(name):
    with pytest.raises(AdrayError, match="use 1-128 letters, digits"):
        check_name(name)


@pytest.mark.parametrize("name", ["kdd-ae_v2", "ae.1", "A"])
def test_plain_names_are_accepted(name):
    assert check_name(name) == name


def _hold(folder, ready, release):
    with SweepLock(folder):
        ready.set()
        release.wait(30)


def test_a_second_writer_is_refused_with_the_first_ones_pid_and_host(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        busy = rf"in use by another run \(pid {holder.pid} on host {socket.gethostname()}"
        with pytest.raises(AdrayError, match=busy), SweepLock(tmp_path):
            pass
    finally:
        release.set()
        holder.join(30)
    with SweepLock(tmp_path):  # released when its holder ended
        assert json.loads((tmp_path / OWNER_FILE).read_text())["pid"] == os.getpid()


def test_a_lock_left_by_a_killed_run_is_not_stale(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    holder.start()
    assert ready.wait(30)
    holder.kill()  # SIGKILL: no clean-up ran, its owner file is still there
    holder.join(30)
    assert (tmp_path / OWNER_FILE).exists()
    with SweepLock(tmp_path):
        assert json.loads((tmp_path / OWNER_FILE).read_text())["pid"] == os.getpid()


def test_free_space_is_checked_against_a_per_trial_estimate(tmp_path):
    check_free_space(tmp_path, 1)
    with pytest.raises(AdrayError, match=r"storage full at .*MiB free.*Free space or pass another --storage"):
        check_free_space(tmp_path, 1, bytes_per_trial=2**62)


def test_resume_without_a_name_picks_the_newest_unfinished_sweep_by_its_ledger(tmp_path):
    for name, created, outcome in (("old-unfinished", "2026-01-01T00:00:00+00:00", "interrupted"),
                                   ("newest-complete", "2026-03-01T00:00:00+00:00", "complete"),
                                   ("new-killed", "2026-02-01T00:00:00+00:00", None)):
        ledger = Ledger(name=name, request={}, created_at=created)
        ledger.start_run(resumed=False)
        if outcome:
            ledger.end_run(outcome, {})
        write_ledger(tmp_path / name, ledger)
    os.utime(tmp_path / "old-unfinished", (4e9, 4e9))  # the newest by mtime must not matter
    assert newest_unfinished(str(tmp_path)) == "new-killed"
