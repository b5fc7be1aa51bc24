"""ODDS/ADBench files get the literature's three settings: clean (default), contaminated and semi."""

import math

import numpy as np
import pytest

from adray.data.catalog import get_spec, odds_specs
from adray.data.dataset import Dataset, DatasetMeta
from adray.data.settings import Setting, make_split
from adray.errors import SettingError


def odds_like(n_normal: int, n_anomalous: int, seed: int = 0) -> Dataset:
    """Rows labelled "0"/"1" in random order; the feature is the row id."""
    labels = np.array(["0"] * n_normal + ["1"] * n_anomalous)
    labels = labels[np.random.default_rng(seed).permutation(len(labels))]
    meta = DatasetMeta(name="odds:toy", shape=(1,), feature_names=["id"], normal_classes=[], anomalous_classes=[])
    return Dataset.from_arrays(np.arange(len(labels), dtype=np.float32)[:, None], labels, meta)


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    (folder / "odds").mkdir()
    np.savez(folder / "odds" / "toy.npz", X=np.zeros((4, 2)), y=np.array([0, 0, 0, 1]))
    return odds_specs(folder)["odds:toy"]


def test_three_settings_and_clean_is_the_default(spec):
    assert list(spec.settings) == ["clean", "contaminated", "semi"] and spec.setting().name == "clean"
    for setting in spec.settings.values():
        setting.check()


@pytest.mark.parametrize("seed", [110, 210, 310])
def test_clean_trains_on_normal_rows_only(spec, seed):
    dataset = odds_like(900, 100)
    split = make_split(dataset, spec.setting("clean"), seed)
    is_anomaly = dataset.labels == "1"
    assert not is_anomaly[split.train].any() and split.y_train.sum() == 0 and split.n_polluted == 0
    assert len(split.test) == 400 and split.y_test.sum() == is_anomaly[split.test].sum() > 0
    # the pool's anomalies are left out of training, not moved elsewhere: every row is in one split or dropped
    used = np.concatenate([split.train, split.val, split.test])
    assert len(np.unique(used)) == len(used)
    assert set(np.setdiff1d(np.arange(1000), used)) == set(np.flatnonzero(is_anomaly)) - set(used)


@pytest.mark.parametrize("seed", [110, 210, 310])
def test_contaminated_keeps_every_training_anomaly_unlabelled(spec, seed):
    dataset = odds_like(900, 100)
    split = make_split(dataset, spec.setting("contaminated"), seed)
    is_anomaly = dataset.labels == "1"
    pool = np.setdiff1d(np.arange(1000), np.concatenate([split.val, split.test]))
    np.testing.assert_array_equal(np.sort(split.train), pool)  # nothing dropped, no row twice
    assert split.y_train.sum() == 0 and split.n_polluted == is_anomaly[split.train].sum() > 0


@pytest.mark.parametrize("seed", [110, 210, 310])
def test_semi_labels_a_tenth_of_the_training_anomalies_and_keeps_the_rest_unlabelled(spec, seed):
    dataset = odds_like(900, 100)
    split = make_split(dataset, spec.setting("semi"), seed)
    is_anomaly = dataset.labels == "1"
    n_anomalies = int(is_anomaly[split.train].sum())
    assert split.y_train.sum() == math.ceil(0.1 * n_anomalies)
    assert split.n_polluted == n_anomalies - split.y_train.sum()
    assert is_anomaly[split.train[split.y_train == 1]].all()  # labels are true anomalies
    assert len(split.train) == 1000 - len(split.val) - len(split.test)


def test_settings_share_the_test_split_of_a_seed_which_changes_with_the_seed(spec):
    dataset = odds_like(900, 100)
    tests = {name: make_split(dataset, s, 110).test for name, s in spec.settings.items()}
    np.testing.assert_array_equal(tests["clean"], tests["contaminated"])
    np.testing.assert_array_equal(tests["clean"], tests["semi"])
    assert not np.array_equal(np.sort(tests["clean"]), np.sort(make_split(dataset, spec.setting(), 210).test))


def test_a_small_set_works_in_every_setting(spec):
    dataset = odds_like(357, 10)  # WDBC's size: the former preset asked for 100 known anomalies
    for name, setting in spec.settings.items():
        split = make_split(dataset, setting, 110)
        assert len(split.train) > 0 and len(split.test) > 0, name
    with pytest.raises(SettingError, match="has only"):
        make_split(dataset, spec.setting().with_(n_train_anomalies=100), 110)


def test_p_labelled_is_checked_and_stored_only_when_set():
    base = Setting(normal=("0",), anomalous=("1",))
    assert "p_labelled" not in base.to_dict()  # every other setting keeps its stored form and key
    semi = base.with_(p_labelled=0.25)
    assert Setting.from_dict(semi.to_dict()).to_dict() == semi.to_dict() and semi.to_dict()["p_labelled"] == 0.25
    with pytest.raises(SettingError, match=r"p_labelled=1.5 must be a fraction in \[0, 1\]"):
        base.with_(p_labelled=1.5).check()
    with pytest.raises(SettingError, match="p_contamination and n_train_anomalies must be 0"):
        base.with_(p_labelled=0.1, p_contamination=0.05).check()
    with pytest.raises(SettingError, match="p_contamination and n_train_anomalies must be 0"):
        base.with_(p_labelled=0.1, n_train_anomalies=5).check()


def test_get_spec_finds_the_settings_for_a_file(tmp_path):
    (tmp_path / "odds").mkdir()
    np.savez(tmp_path / "odds" / "6_cardio.npz", X=np.zeros((4, 2)), y=np.array([0, 0, 0, 1]))
    spec = get_spec("odds:6_cardio", tmp_path)
    assert spec.default_setting == "clean" and spec.setting("semi").p_labelled == 0.1
