"""The split must be the seeds' protocol exactly: checked against a literal transcription of it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split

from adray.data.dataset import Dataset, DatasetMeta
from adray.data.settings import Setting, contamination_count, make_split
from adray.errors import SettingError


def _dataset(counts: dict[str, int], official_test_fraction=0.0, groups=None, seed=0):
    labels = np.concatenate([[c] * n for c, n in counts.items()])
    rng = np.random.default_rng(seed)
    labels = labels[rng.permutation(len(labels))]
    X = np.arange(len(labels), dtype=np.float32)[:, None]  # feature = row id
    official = None
    if official_test_fraction:
        official = rng.random(len(labels)) < official_test_fraction
    meta = DatasetMeta(name="toy", shape=(1,), feature_names=["id"], normal_classes=[], anomalous_classes=[])
    g = None if groups is None else rng.choice(groups, len(labels))
    return Dataset.from_arrays(X, labels, meta, groups=g, official_test=official)


def seeds_reference(labels, official, s: Setting, seed):
    """ARGUE/R2-AD2 DataLabels._post_init, transcribed on (row id, label) pairs."""
    normal, anom_test, anom_train = list(s.normal), list(s.anomalous), list(s.train_anomalies)
    anom_all = list(dict.fromkeys(anom_test + anom_train))
    keep = np.isin(labels, normal + anom_all)
    x, y = np.flatnonzero(keep), labels[keep]
    if official is None:
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=s.p_test, random_state=42)
    else:
        o = official[keep]
        x_train, x_test, y_train, y_test = x[~o], x[o], y[~o], y[o]
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=s.p_val, random_state=seed)
    rng = np.random.default_rng(seed)
    y_train = y_train.copy()
    if s.p_contamination:
        idx_normal = np.where(np.isin(y_train, normal))[0]
        idx_anomalous = np.where(np.isin(y_train, anom_all))[0]
        n_pollute = round(idx_normal.shape[0] * s.p_contamination / (1 - s.p_contamination))
        dup = n_pollute > idx_anomalous.shape[0]
        idx_pollute = rng.choice(idx_anomalous, n_pollute, replace=dup)
        y_train[idx_pollute] = rng.choice(normal, (n_pollute,), replace=True)
    idx_norm = np.where(np.isin(y_train, normal))[0]
    idx_anom = np.where(np.isin(y_train, anom_train))[0]
    if s.n_train_anomalies is not None:
        idx_anom = rng.choice(idx_anom, s.n_train_anomalies, replace=False)
    idx_keep = np.concatenate([idx_norm, idx_anom])
    x_train, y_train = x_train[idx_keep], y_train[idx_keep]
    val_keep = np.isin(y_val, normal + anom_train)
    test_keep = np.isin(y_test, normal + anom_test)
    return dict(train=x_train, y_train=np.isin(y_train, anom_all).astype(int), val=x_val[val_keep],
                y_val=np.isin(y_val[val_keep], anom_all).astype(int), test=x_test[test_keep],
                y_test=np.isin(y_test[test_keep], anom_all).astype(int), train_labels=y_train)


COUNTS = {"0": 300, "1": 250, "2": 200, "3": 120, "4": 60, "5": 30}


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_normal=st.integers(1, 3),
    p=st.sampled_from([0.0, 0.01, 0.025, 0.1, 0.3]),
    n_anom=st.sampled_from([0, 1, 5, 20, None]),
    transfer=st.booleans(),
    official=st.booleans(),
)
def test_split_equals_the_seeds_protocol(seed, n_normal, p, n_anom, transfer, official):
    ds = _dataset(COUNTS, official_test_fraction=0.3 if official else 0.0)
    normal = tuple(str(i) for i in range(n_normal))
    anomalous = ("3", "4", "5")
    s = Setting(normal=normal, anomalous=anomalous, anomalous_train=("3",) if transfer else None,
                p_contamination=p, n_train_anomalies=n_anom, p_test=0.2, p_val=0.05)
    labels = np.asarray(ds.labels, dtype=str)
    try:
        ref = seeds_reference(labels, ds.official_test, s, seed)
    except ValueError:  # the seeds' code cannot draw that many known anomalies: adray refuses the setting
        with pytest.raises(SettingError, match="n_train_anomalies=.* has only"):
            make_split(ds, s, seed)
        return
    split = make_split(ds, s, seed)
    np.testing.assert_array_equal(split.train, ref["train"])
    np.testing.assert_array_equal(split.y_train, ref["y_train"])
    np.testing.assert_array_equal(split.val, ref["val"])
    np.testing.assert_array_equal(split.y_val, ref["y_val"])
    np.testing.assert_array_equal(split.test, ref["test"])
    np.testing.assert_array_equal(split.y_test, ref["y_test"])
    # normal sub-class of each normal training row is its (possibly polluted) normal label
    normal_rows = split.y_train == 0
    names = np.asarray(split.subclass_names)[split.subclass_train[normal_rows]]
    np.testing.assert_array_equal(names, ref["train_labels"][normal_rows])
    assert (split.subclass_train[~normal_rows] == -1).all()


def test_pollution_and_known_anomaly_counts_are_exact():
    ds = _dataset({"n": 1000, "a": 400, "b": 300})
    s = Setting(normal=("n",), anomalous=("a", "b"), p_contamination=0.05, n_train_anomalies=25)
    split = make_split(ds, s, seed=110)
    labels = ds.labels[split.train]
    n_genuine_normal = int((labels == "n").sum())
    assert split.n_polluted == contamination_count(0.05, n_genuine_normal) == round(n_genuine_normal * 0.05 / 0.95)
    polluted = (split.y_train == 0) & (labels != "n")
    assert polluted.sum() == split.n_polluted  # no duplicates needed here
    assert polluted.sum() / (split.y_train == 0).sum() == pytest.approx(0.05, abs=0.002)
    assert split.y_train.sum() == 25


def test_splits_are_disjoint_deterministic_and_the_test_split_is_fixed_across_seeds():
    ds = _dataset(COUNTS)
    s = Setting(normal=("0", "1"), anomalous=("4", "5"), p_contamination=0.02, n_train_anomalies=10)
    a, b, c = make_split(ds, s, 110), make_split(ds, s, 110), make_split(ds, s, 210)
    for left, right in [(a.train, a.val), (a.train, a.test), (a.val, a.test)]:
        assert not set(left) & set(right)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    np.testing.assert_array_equal(a.test, c.test)  # split and forget: seed 42
    assert not np.array_equal(np.sort(a.val), np.sort(c.val))  # validation follows the trial seed
    a3 = s.with_(split_seed=None)  # A3: the test split follows the trial seed
    assert not np.array_equal(np.sort(make_split(ds, a3, 110).test), np.sort(make_split(ds, a3, 210).test))


def test_official_test_rows_are_the_test_split():
    ds = _dataset(COUNTS, official_test_fraction=0.25)
    s = Setting(normal=("0",), anomalous=("3",), n_train_anomalies=5)
    split = make_split(ds, s, 1)
    official = ds.official_test
    assert official[split.test].all() and not official[split.train].any() and not official[split.val].any()
    expected = np.flatnonzero(official & np.isin(ds.labels, ["0", "3"]))
    np.testing.assert_array_equal(np.sort(split.test), expected)


def test_group_experts_and_polluted_rows_get_a_normal_group():
    ds = _dataset({"normal": 600, "attack": 200}, groups=["tcp", "udp", "icmp"])
    s = Setting(normal=("normal",), anomalous=("attack",), p_contamination=0.1, experts="group")
    split = make_split(ds, s, 7)
    assert split.subclass_names == ("icmp", "tcp", "udp")
    gcodes, gnames = ds.group_codes
    genuine = ds.labels[split.train] == "normal"
    np.testing.assert_array_equal(
        np.asarray(split.subclass_names)[split.subclass_train[genuine]], np.asarray(gnames)[gcodes[split.train][genuine]]
    )
    assert (split.subclass_train >= 0).all()  # unsupervised: polluted rows are assigned an expert too


def test_amsl_protocol_puts_every_anomaly_in_test():
    ds = _dataset({"walk": 500, "sit": 500, "run": 300})
    s = Setting(normal=("walk", "sit"), anomalous=("run",), p_test=0.4, p_val=0.2, all_anomalies_in_test=True)
    split = make_split(ds, s, 3)
    assert split.y_train.sum() == 0 and split.y_val.sum() == 0
    assert split.y_test.sum() == 300
    assert (split.y_test == 0).sum() == 400  # 40% of the 1000 normal rows


def test_pollution_with_too_few_anomalies_draws_duplicates_with_a_warning():
    ds = _dataset({"n": 1000, "a": 10})
    s = Setting(normal=("n",), anomalous=("a",), p_contamination=0.2)
    with pytest.warns(UserWarning, match="with replacement"):
        split = make_split(ds, s, 0)
    assert split.n_polluted > 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(normal=("9",), anomalous=("1",)), r"normal classes \['9'\] do not exist.*0 \(300\)"),
        (dict(normal=("0",), anomalous=("0", "1")), "both normal and anomalous"),
        (dict(normal=("0",), anomalous=("1",), p_contamination=1.0), r"outside \[0, 1\)"),
        (dict(normal=("0",), anomalous=("1",), p_contamination=-0.1), r"outside \[0, 1\)"),
        (dict(normal=("0",), anomalous=("5",), n_train_anomalies=500), "use at most"),
        (dict(normal=("0",), anomalous=("1",), experts="group"), "has none"),
        (dict(normal=(), anomalous=("1",)), "no normal classes"),
        (dict(normal=("0",), anomalous=("1",), p_test=1.5), "p_test"),
    ],
)
def test_impossible_settings_are_rejected_with_what_is_possible(kwargs, message):
    with pytest.raises(SettingError, match=message):
        make_split(_dataset(COUNTS), Setting(**kwargs), seed=0)


def test_setting_round_trips_through_a_dict_and_accepts_plain_values():
    s = Setting(normal=[0, 1], anomalous=5, p_contamination=0.01, n_train_anomalies=None)
    assert s.normal == ("0", "1") and s.anomalous == ("5",)
    assert Setting.from_dict(s.to_dict()) == s.with_(anomalous_train=("5",))
