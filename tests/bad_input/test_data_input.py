"""Bad input from real users' tables: big integers, a missing label column, rows without a label.

Each case runs the real command (`adray prepare`) in a subprocess: it must either prepare the data with
the loss it causes stated, or stop with one message naming the file, line and fix, and cache nothing.
"""

import os
import subprocess
import sys

import numpy as np
import pytest


def adray(*args, data_dir):
    env = {**os.environ, "ADRAY_DATA": str(data_dir), "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, "-m", "adray.cli", *args], capture_output=True, text=True, env=env,
                          timeout=180)


def assert_clean_failure(result, *phrases):
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    message = result.stderr.strip().splitlines()[-1]
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


def write_csv(data_dir, name, text):
    (data_dir / "csv").mkdir(exist_ok=True)
    (data_dir / "csv" / f"{name}.csv").write_text(text)


def cached(data_dir):
    return list((data_dir / ".cache").glob("*.parquet"))


def test_integers_above_2_24_are_accepted_with_their_precision_stated(tmp_path):
    from adray.data import load

    rng = np.random.default_rng(0)
    ts = 1_700_000_000 + np.arange(200) * 37  # Unix seconds: float32 steps by 128 here
    sent = rng.integers(2**24, 2**40, 200)  # byte counts up to ~1 TB
    small = rng.integers(0, 1000, 200)  # exact in float32: must not be mentioned
    rows = [f"{a},{b},{c},{i % 2}" for i, (a, b, c) in enumerate(zip(ts, sent, small, strict=True))]
    write_csv(tmp_path, "flows", "ts,bytes_sent,port,label\n" + "\n".join(rows) + "\n")
    result = adray("prepare", "csv:flows", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rows 200" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "PrecisionWarning" in line]
    assert len(warnings) == 2, result.stderr  # ts and bytes_sent, not port
    ts_warning = next(w for w in warnings if "'ts'" in w)
    assert "2^24" in ts_warning and "steps by 128" in ts_warning and "1,700,007,363" in ts_warning
    assert "subtract an offset" in ts_warning

    ds = load("csv:flows", tmp_path)
    exact = np.column_stack([ts, sent, small]).astype(np.float64)
    error = np.abs(ds.X.astype(np.float64) - exact)
    assert (error[:, 0] <= 64).all()  # round to nearest: at most half of float32's 128 step
    assert (error[:, 1] <= np.spacing(np.float32(2**40)) / 2).all()
    assert (error[:, 2] == 0).all()
    assert len(ds.meta.extra["rounding"]) == 2  # recorded with the dataset, not only printed once


def test_big_integers_in_an_odds_file_are_stated_too(tmp_path):
    (tmp_path / "odds").mkdir()
    X = np.column_stack([np.arange(20) + 3_000_000_001, np.arange(20)]).astype(np.int64)
    np.savez(tmp_path / "odds" / "logs.npz", X=X, y=np.array([0] * 18 + [1, 1]))
    result = adray("prepare", "odds:logs", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PrecisionWarning" in result.stderr and "'x1'" in result.stderr and "'x2'" not in result.stderr


def test_a_csv_without_a_label_column_is_refused_naming_its_columns(tmp_path):
    rng = np.random.default_rng(1)
    header = ",".join(f"f{i}" for i in range(300))
    rows = "\n".join(",".join(f"{v:.4f}" for v in row) for row in rng.random((20, 300)))
    write_csv(tmp_path, "sensors", f"{header}\n{rows}\n")
    assert_clean_failure(adray("prepare", "csv:sensors", data_dir=tmp_path), "sensors.csv, line 1",
                         "no 'label' column", "'f0', 'f1'", "(300 in all)", "Rename the column")
    assert not cached(tmp_path)

    write_csv(tmp_path, "named", "a,b,Class\n1,2,0\n3,4,1\n")
    assert_clean_failure(adray("prepare", "csv:named", data_dir=tmp_path), "no 'label' column",
                         "found 'a', 'b', 'Class'", "is it 'Class'?")
    assert not cached(tmp_path)


@pytest.mark.parametrize("label_lines, line, count", [
    (["normal", "attack", "", "normal", "  "], 4, 2),  # text labels: an empty and a blank one
    (["0", "1", "0", "", "1"], 5, 1),  # numeric labels: the empty cell is read as missing
], ids=["text", "numeric"])
def test_rows_without_a_label_are_refused_with_their_line(tmp_path, label_lines, line, count):
    rows = [f"{i},{i * 2}.5,{label}" for i, label in enumerate(label_lines)]
    write_csv(tmp_path, "events", "a,b,label\n" + "\n".join(rows) + "\n")
    assert_clean_failure(adray("prepare", "csv:events", data_dir=tmp_path), f"events.csv, line {line}",
                         "'label' value is empty", f"{count} row(s) have no label")
    assert not cached(tmp_path)
