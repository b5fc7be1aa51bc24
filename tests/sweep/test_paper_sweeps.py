"""The shipped sweep files (sweeps/<method>.yaml), one per seed method's main experiment.

Each must load, pin every axis of its methods' grids itself (a paper's budget, never adray's CPU-sized
default grid), and preview on whatever data is present: with real-format files of one of its datasets
in a fresh data folder, ``--dry-run`` lists exactly that dataset's trials and work, names every missing
dataset with where to get it, and starts no Ray. A file whose data is all missing still previews.
"""

import math
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "data" / "sources"))  # the real-format file writers of the reader tests
from test_catalog_loads import WRITERS  # noqa: E402

from adray.cli import main  # noqa: E402
from adray.data.catalog import get_spec  # noqa: E402
from adray.sweep.preview import epochs_of  # noqa: E402
from adray.sweep.request import SweepRequest, default_grid, expand_trials, split_dataset_arg  # noqa: E402
from adray.sweep.sweepfile import load_sweep_file  # noqa: E402

SEED_METHODS = ["a3", "argue", "r2ad2", "amsl", "gandi"]
# per file, one dataset to write in its real format (gandi's only dataset is embedded: nothing to write)
PRESENT = {"a3": "mnist", "argue": "nsl_kdd", "r2ad2": "creditcard", "amsl": "dsads", "gandi": None}


def sweep_file(method: str) -> Path:
    return REPO / "sweeps" / f"{method}.yaml"


def request_of(method: str, datasets: list[str] | None = None) -> SweepRequest:
    fields = load_sweep_file(sweep_file(method))
    if datasets is not None:
        fields["datasets"] = datasets
    return SweepRequest(**fields)


def dataset_name(arg: str) -> str:
    return split_dataset_arg(arg)[0]


@pytest.fixture
def no_ray(monkeypatch):
    """A dry run must never reach the runner (which starts Ray)."""
    from adray.tune import runner

    def refuse(request):
        raise AssertionError("a dry run started the sweep")

    monkeypatch.setattr(runner, "run_sweep", refuse)


def dry_run(method: str, capsys) -> tuple[int, str, str]:
    code = main(["sweep", "--config", str(sweep_file(method)), "--dry-run"])
    out, err = capsys.readouterr()
    return code, out, err


def test_one_file_per_seed_method_is_shipped():
    assert sorted(p.stem for p in (REPO / "sweeps").glob("*.yaml")) == sorted(SEED_METHODS)


@pytest.mark.parametrize("method", SEED_METHODS)
def test_every_file_loads_and_pins_its_grids(method):
    raw = yaml.safe_load(sweep_file(method).read_text())
    assert len(raw["description"]) > 100  # says which paper and table it reproduces
    request = request_of(method)
    assert request.methods[0] == method and request.datasets and len(request.seeds) >= 5
    for arg in request.datasets:  # every dataset names its preset, and the preset exists
        name, preset = split_dataset_arg(arg)
        assert preset is None or get_spec(name).setting(preset).name == preset
    trials = expand_trials(request, require_files=False)  # every key and value valid for its method
    assert trials
    # every axis of a method's default (CPU-sized) grid is set by the file, so the number of configurations
    # of each method is the product of the file's own value lists
    for m in request.methods:
        for key in default_grid(m):
            assert f"{m}.{key}" in request.overrides or key in request.overrides, f"{method}.yaml leaves {m}.{key}"
        own = [v for k, v in request.overrides.items() if k.startswith(f"{m}.")]
        configs = {t.config_id for t in trials if t.method == m}
        assert len(configs) == math.prod(len(v) for v in own), m


@pytest.mark.parametrize("method", SEED_METHODS)
def test_dry_run_previews_the_present_dataset_and_names_the_missing(method, isolated_data_dir, no_ray, capsys):
    present = PRESENT[method]
    if present:
        folder = isolated_data_dir / get_spec(present).raw_dir_name
        folder.mkdir(parents=True)
        WRITERS[present](folder)  # small files in the dataset's real format
    request = request_of(method)
    kept = [d for d in request.datasets if get_spec(dataset_name(d)).embedded or dataset_name(d) == present]
    missing = sorted({dataset_name(d) for d in request.datasets} - {dataset_name(d) for d in kept})

    code, out, err = dry_run(method, capsys)
    assert code == 0, err
    expected = expand_trials(request_of(method, kept))  # the same file restricted to the data that is present
    assert f"{len(expected)} trials ({request.cpus_per_trial:g} CPU, {request.gpus_per_trial:g} GPU per trial)" in out
    cell_lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert sum(int(line.rsplit("= ", 1)[1].split()[0]) for line in cell_lines) == len(expected)
    assert all(f" on {dataset_name(kept[0])}:" in line for line in cell_lines)
    assert len(cell_lines) == len({(t.method, t.setting_key) for t in expected})
    assert f"work: about {sum(epochs_of(t.method, t.params) for t in expected):,} trial-epochs" in out
    for name in missing:  # each missing dataset: one line, with its folder and the download command
        lines = [line for line in err.splitlines() if line.startswith(f"adray: skipping {name}:")]
        assert len(lines) == 1 and f"adray download {name}" in lines[0]
        assert str(isolated_data_dir / get_spec(name).raw_dir_name) in lines[0]
    assert err.count("adray: skipping") == len(missing)


def test_a_file_without_any_of_its_data_still_previews_what_it_would_run(isolated_data_dir, no_ray, capsys):
    code, out, err = dry_run("amsl", capsys)  # dsads, AMSL's only dataset, is not in the fresh data folder
    assert code == 0, err
    assert "skipping dsads:amsl" in err and "adray download dsads" in err
    assert "none of the datasets" in out and "it would run" in out
    request = request_of("amsl")
    trials = expand_trials(request, require_files=False)
    assert f"{len(trials)} trials" in out and len(trials) == len(request.methods) * len(request.seeds)
    assert f"amsl on dsads:amsl: 1 configuration(s) x {len(request.seeds)} seed(s)" in out

    code = main(["sweep", "--config", str(sweep_file("amsl"))])  # without --dry-run: refused, nothing starts
    assert code == 2 and "none of the datasets" in capsys.readouterr().err


def test_a_swept_setting_field_is_its_own_cell_in_the_preview(isolated_data_dir, no_ray, capsys):
    """A3's four known-anomaly counts share one preset name; the preview counts them apart."""
    folder = isolated_data_dir / "mnist"
    folder.mkdir()
    WRITERS["mnist"](folder)
    code, out, err = dry_run("a3", capsys)
    assert code == 0, err
    n_values = request_of("a3").overrides["n_train_anomalies"]
    seeds = len(request_of("a3").seeds)
    for n in n_values:
        assert f"a3 on mnist:a3_0-5 n_train_anomalies={n}: 1 configuration(s) x {seeds} seed(s)" in out
