"""Fixtures for the analysis tests: hand-made sweeps with known answers and one generated sweep."""

from __future__ import annotations

import pytest

from adray.testing.sweeps import fake_setting, make_fake_sweep, metric_dict, write_fake_trial, write_ray_files


class Sweep:
    """Builds a sweep folder trial by trial with exact numbers."""

    def __init__(self, path):
        self.path = path
        self.count = 0
        write_ray_files(path)

    def add(self, method="ae", dataset="d1", seed=110, params=None, val=0.8, test=0.8, status="ok",
            p_contamination=0.01, n_train_anomalies=0, setting_name=None, ap=None, **kwargs):
        setting = fake_setting(dataset, p_contamination, n_train_anomalies, name=setting_name)
        val_d = metric_dict(val, None if ap is None else ap[0]) if val is not None else metric_dict(None)
        test_d = metric_dict(test, None if ap is None else ap[1]) if test is not None else metric_dict(None)
        self.count += 1
        return write_fake_trial(self.path, f"trainable_{self.count:05d}_{method}_{dataset}_{seed}", method=method,
                                dataset=dataset, setting=setting, seed=seed, params=params or {"lr": 0.001},
                                val=val_d, test=test_d, status=status, **kwargs)


@pytest.fixture
def sweep(tmp_path):
    return Sweep(tmp_path / "sweep")


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """A small realistic sweep: 3 methods x 6 datasets x 2 configs x 3 seeds x 2 settings, some failures."""
    path = tmp_path_factory.mktemp("generated") / "sweep"
    return make_fake_sweep(path, datasets=("digits", "mnist", "nsl_kdd", "covtype", "census", "url"),
                           settings=((0.01, 0), (0.0, 100)), p_error=0.05, p_crash=0.03, p_incomplete=0.03,
                           epochs=6, n_scores=200, seed=3)


@pytest.fixture(scope="session")
def generated_report(generated):
    from adray.analysis.report import make_report

    return make_report(generated.path)
