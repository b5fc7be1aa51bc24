import subprocess
import sys

import numpy as np

from adray.cli import main
from adray.data.catalog import SPECS


def test_datasets_lists_every_dataset_with_its_status(capsys, isolated_data_dir):
    odds = isolated_data_dir / "odds"
    odds.mkdir()
    np.savez(odds / "38_thyroid.npz", X=np.zeros((4, 2)), y=np.array([0, 0, 0, 1]))
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    table = out.split("where to get them")[0]
    lines = {line.split()[0]: line for line in table.splitlines() if line and line.split()[0] in SPECS}
    assert set(lines) == set(SPECS)
    assert "embedded (prepared on first use)" in lines["digits"]
    assert not (isolated_data_dir / ".cache").exists()  # listing builds nothing
    assert main(["prepare", "digits"]) == 0 and main(["datasets"]) == 0
    table = capsys.readouterr().out.split("datasets (data folder")[1].split("where to get them")[0]
    lines = {line.split()[0]: line for line in table.splitlines() if line and line.split()[0] in SPECS}
    assert "embedded" in lines["digits"] and "1797" in lines["digits"] and "8x8" in lines["digits"]
    assert "missing" in lines["nsl_kdd"] and f"{isolated_data_dir}/nsl_kdd/KDDTrain+.txt" in lines["nsl_kdd"]
    assert "https://www.unb.ca/cic/datasets/nsl.html" in out
    assert "odds:38_thyroid" in out


def test_prepare_prints_rows_and_classes(capsys):
    assert main(["prepare", "breast_cancer"]) == 0
    out = capsys.readouterr().out
    assert "rows 569" in out and "benign (357)" in out and "malignant (212)" in out
    assert main(["prepare", "breast_cancer"]) == 0
    assert "already prepared" in capsys.readouterr().out


def _run_cli(*args, env_data):
    import os

    env = {**os.environ, "ADRAY_DATA": str(env_data)}
    return subprocess.run([sys.executable, "-m", "adray.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_missing_dataset_is_one_clear_message_without_traceback(isolated_data_dir):
    result = _run_cli("prepare", "nsl_kdd", env_data=isolated_data_dir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{isolated_data_dir}/nsl_kdd/" in result.stderr and "https://www.unb.ca/cic/datasets/nsl.html" in result.stderr


def test_unknown_dataset_lists_the_valid_names(isolated_data_dir):
    result = _run_cli("prepare", "mnits", env_data=isolated_data_dir)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unknown dataset 'mnits'" in result.stderr and "mnist" in result.stderr


def test_data_readme_documents_every_dataset():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "data" / "README.md").read_text()
    for name in SPECS:
        assert f"`{name}`" in text, f"data/README.md does not document {name}"


def test_methods_lists_every_detector_with_its_hyperparameters(capsys):
    from adray.detectors import names

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in names():
        assert f"\n{name}: " in "\n" + out
    assert "learning_rate=0.001" in out and "n_estimators=100" in out
