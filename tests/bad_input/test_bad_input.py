"""Bad input: each mistake gets one clear message saying what is wrong and what to do, the process
exits non-zero, and no traceback from deep inside a dependency reaches the user."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adray.data.dataset import Dataset, DatasetMeta
from adray.data.settings import Setting, contamination_count, make_split
from adray.errors import SettingError

REPO = Path(__file__).resolve().parents[2]


def run(*args, data_dir, **env):
    full_env = {**os.environ, "ADRAY_DATA": str(data_dir), "RAY_USAGE_STATS_ENABLED": "0", **env}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=full_env, timeout=180)


def adray(*args, data_dir):
    return run("-m", "adray.cli", *args, data_dir=data_dir)


def grid(*args, data_dir, storage):
    return run(str(REPO / "sweeps" / "grid.py"), *args, "--storage", str(storage), data_dir=data_dir)


def assert_clean_failure(result, *phrases):
    assert result.returncode != 0, result.stdout[-500:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    message = result.stderr.strip().splitlines()[-1]
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


CC_HEADER = ",".join(f'"{c}"' for c in ["Time", *(f"V{i}" for i in range(1, 29)), "Amount", "Class"])
CC_ROW = ",".join(["0"] + ["0.5"] * 28 + ["1.0", '"0"'])


@pytest.mark.parametrize(
    "lines, phrases",
    [
        ([CC_HEADER, CC_ROW, CC_ROW.rsplit(",", 3)[0]], ["creditcard.csv, line 3", "download it again"]),  # truncated
        ([CC_HEADER, CC_ROW, CC_ROW + ",7"], ["creditcard.csv, line 3", "expected 31"]),  # wrong column count
        ([CC_HEADER, CC_ROW.replace("0.5", "abc", 1)], ["creditcard.csv, line 2", "'abc'"]),  # non-numeric
        ([], ["creditcard.csv", "empty"]),  # empty file
    ],
    ids=["truncated", "wrong-column-count", "non-numeric", "empty"],
)
def test_malformed_raw_file(tmp_path, lines, phrases):
    folder = tmp_path / "creditcard"
    folder.mkdir()
    (folder / "creditcard.csv").write_text("\n".join(lines) + ("\n" if lines else ""))
    assert_clean_failure(adray("prepare", "creditcard", data_dir=tmp_path), *phrases)
    assert not list((tmp_path / ".cache").glob("*.parquet"))  # nothing cached from a failed preparation


def test_nan_and_inf_features_are_refused_with_their_location(tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "sensors.csv").write_text("a,b,label\n1,2,0\n3,nan,1\n4,inf,0\n")
    assert_clean_failure(adray("prepare", "csv:sensors", data_dir=tmp_path), "sensors.csv, line 3", "'b'",
                         "2 row(s)", "remove or impute")
    (tmp_path / "odds").mkdir()
    X = np.ones((5, 3))
    X[3, 1] = np.inf
    np.savez(tmp_path / "odds" / "cardio.npz", X=X, y=np.array([0, 0, 0, 1, 0]))
    assert_clean_failure(adray("prepare", "odds:cardio", data_dir=tmp_path), "row 3", "'x2'", "remove or impute")


def test_constant_columns_train_and_score_finitely(tmp_path):
    from adray.data import get_spec, load
    from adray.sweep.trial import TrialConfig, run_trial

    (tmp_path / "csv").mkdir()
    rng = np.random.default_rng(0)
    rows = ["a,constant,label"] + [f"{rng.normal() + 5 * (i % 10 == 0)},7,{int(i % 10 == 0)}" for i in range(300)]
    (tmp_path / "csv" / "flat.csv").write_text("\n".join(rows) + "\n")
    os.environ["ADRAY_DATA"] = str(tmp_path)
    config = TrialConfig("ae", "csv:flat", get_spec("csv:flat").setting().with_(n_train_anomalies=5), 1, {"epochs": 3})
    outcome = run_trial(config, load("csv:flat"), tmp_path / "trial", lambda m, s: None)
    assert outcome["status"] == "ok", outcome["error"]
    assert np.isfinite(outcome["test"]["auc"])


def test_single_class_dataset_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "normal_only.csv").write_text("a,label\n" + "".join(f"{i},0\n" for i in range(20)))
    result = grid("--method", "iforest", "--dataset", "csv:normal_only", data_dir=tmp_path, storage=tmp_path / "r")
    assert_clean_failure(result, "anomalous classes ['1'] do not exist", "0 (20)")


@pytest.mark.parametrize(
    "args, phrases",
    [
        (["--method", "iforest", "--set", "n_train_anomalies=100000"], ["n_train_anomalies=100000", "use at most"]),
        (["--method", "iforest", "--set", "p_contamination=1.2"], ["p_contamination=1.2", "outside [0, 1)"]),
        (["--method", "ae", "--dataset", "digits:nope"], ["no setting 'nope'", "default, argue, r2ad2"]),
        (["--method", "ae", "--set", "epochs=-1"], ["AutoEncoder: epochs=-1 must be an integer >= 0"]),
        (["--method", "ae", "--set", "dropout=1.5"], ["AutoEncoder: dropout=1.5 must be a number in [0, 1)"]),
        (["--method", "ae", "--set", "epoch=5"], ["--set epoch", "Hyperparameters: ae:"]),
        (["--method", "autoencoder"], ["unknown detector 'autoencoder'", "valid: a3, ae, amsl", "pyod:<Name>"]),
        (["--method", "ae", "--dataset", "mnits"], ["unknown dataset 'mnits'", "mnist"]),
        (["--method", "ae", "--dataset", "nsl_kdd"], ["nsl_kdd/", "https://www.unb.ca/cic/datasets/nsl.html"]),
        (["--method", "ae", "--cpus-per-trial", "0"], ["--cpus-per-trial must be > 0"]),
        (["--method", "ae", "--gpus-per-trial", "0.3"], ["does not divide one GPU evenly"]),
    ],
    ids=["too-many-known-anomalies", "contamination", "setting", "epochs", "dropout", "hyperparameter", "method",
         "dataset", "missing-files", "cpus", "gpu-fraction"],
)
def test_bad_sweep_requests(tmp_path, args, phrases):
    assert_clean_failure(grid(*args, data_dir=tmp_path, storage=tmp_path / "results"), *phrases)


def test_unwritable_storage(tmp_path):
    blocked = tmp_path / "read-only"
    blocked.mkdir()
    blocked.chmod(0o500)
    target = "/proc/adray-results" if os.geteuid() == 0 else str(blocked / "results")  # root ignores chmod
    result = grid("--method", "iforest", data_dir=tmp_path, storage=target)
    assert_clean_failure(result, "cannot write results to the storage folder", "--storage")


def test_cluster_yaml_that_fails_rays_schema(tmp_path):
    broken = (REPO / "cluster.yaml").read_text().replace("resources: {}", 'resources: {"GPU": 0.5}')
    (tmp_path / "cluster.yaml").write_text(broken)
    result = adray("check-cluster", str(tmp_path / "cluster.yaml"), data_dir=tmp_path)
    assert_clean_failure(result, "field available_node_types.gpu_worker.resources.GPU", "not of type 'integer'",
                         "adray check-cluster")
    (tmp_path / "syntax.yaml").write_text("cluster_name: x\nprovider: [aws\n")
    assert_clean_failure(adray("check-cluster", str(tmp_path / "syntax.yaml"), data_dir=tmp_path),
                         "line 3", "not valid YAML")
    shipped = adray("check-cluster", str(REPO / "cluster.yaml"), data_dir=tmp_path)
    assert_clean_failure(shipped, "ImageId ami-0123456789abcdef0 is the placeholder")  # schema passes; placeholders refused


@settings(max_examples=60, deadline=None)
@given(n_normal=st.integers(20, 400), n_anomalous=st.integers(5, 200),
       p=st.floats(0.0, 0.5, exclude_max=True), n_known=st.integers(0, 5), seed=st.integers(0, 2**16))
def test_split_arithmetic(n_normal, n_anomalous, p, n_known, seed):
    labels = np.array(["n"] * n_normal + ["a"] * n_anomalous)
    meta = DatasetMeta(name="p", shape=(1,), feature_names=["x"], normal_classes=[], anomalous_classes=[])
    ds = Dataset.from_arrays(np.zeros((len(labels), 1), np.float32), labels, meta)
    setting = Setting(normal=("n",), anomalous=("a",), p_contamination=p, n_train_anomalies=n_known)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            split = make_split(ds, setting, seed)
    except SettingError as exc:  # the one documented refusal: more known anomalies than the training split holds
        assert "n_train_anomalies" in str(exc)
        return
    genuine = int((ds.labels[split.train] == "n").sum())
    polluted = int(((ds.labels[split.train] == "a") & (split.y_train == 0)).sum())
    assert split.n_polluted == contamination_count(p, genuine)
    assert int(split.y_train.sum()) == n_known
    assert len(split.train) == genuine + polluted + n_known
    redrawn = any("drawing with replacement" in str(w.message) for w in caught)
    assert polluted == split.n_polluted if not redrawn else polluted < split.n_polluted  # drawn twice: one row
    everything = np.concatenate([split.train, split.val, split.test])
    assert everything.min() >= 0 and everything.max() < len(labels)
    assert not set(split.test) & (set(split.train) | set(split.val)) and not set(split.val) & set(split.train)
