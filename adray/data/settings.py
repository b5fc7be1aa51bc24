"""Experimental settings and splits: the seeds' protocol (``adray/data/PROTOCOL.md``), exactly and seeded.

Order of operations (ARGUE / R2-AD2 ``DataLabels``):

1. keep rows of the setting's classes (normal ∪ anomalous); others are dropped everywhere;
2. test split: the official test rows if the dataset has them, else ``p_test`` of the rows with
   ``split_seed`` (42: "split and forget"; ``None`` draws it with the trial seed, as A3 did);
3. validation split: ``p_val`` of the remaining rows with the trial seed;
4. pollution: ``round(N_normal_train * p / (1 - p))`` anomalous training rows (any anomalous class)
   are relabelled with a random normal class and count as normal from then on;
5. known anomalies: all normal-labelled training rows plus ``n_train_anomalies`` rows drawn without
   replacement from the ``anomalous_train`` classes (``None`` keeps them all);

   or, instead of 4 and 5 when ``p_labelled`` is set (the ODDS/ADBench protocol), every anomalous
   training row stays: ``ceil(p_labelled * n)`` of the n rows of the ``anomalous_train`` classes are
   known anomalies, all other anomalous rows stay unlabelled, as pollution (the data's natural
   contamination; ``p_labelled=0`` is the unsupervised setting on it);
6. validation keeps normal + ``anomalous_train`` classes, test keeps normal + ``anomalous`` classes.

Steps 4 and 5 share one ``numpy.random.default_rng(seed)``, drawn in the seeds' order, so a split is
a pure function of (dataset, setting, seed). The result is index arrays and labels: cheap enough to
compute inside every trial, so only the dataset travels through the object store.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.model_selection import train_test_split

from adray.data.dataset import natural_key
from adray.errors import SettingError

EXPERTS = ("class", "group")


@dataclass(frozen=True)
class Setting:
    """Which classes are normal or anomalous, and how much pollution and supervision training gets."""

    normal: tuple[str, ...]
    anomalous: tuple[str, ...]
    anomalous_train: tuple[str, ...] | None = None  # None: same as ``anomalous``
    p_contamination: float = 0.0
    n_train_anomalies: int | None = 0  # None: every anomalous_train row stays (fully supervised)
    p_labelled: float | None = None  # set: keep every training anomaly, this fraction labelled (step 4')
    p_test: float = 0.2
    p_val: float = 0.05
    split_seed: int | None = 42  # None: the test split is drawn with the trial seed
    experts: str = "class"  # normal sub-classes: one per normal "class", or the dataset's "group"
    all_anomalies_in_test: bool = False  # AMSL: test = p_test of the normal rows + every anomaly
    name: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        # accept lists / ints from configs; store canonical tuples of str
        for key in ("normal", "anomalous", "anomalous_train"):
            value = getattr(self, key)
            if value is not None:
                if isinstance(value, str | int):
                    value = (value,)
                object.__setattr__(self, key, tuple(str(v) for v in value))

    @property
    def train_anomalies(self) -> tuple[str, ...]:
        return self.anomalous if self.anomalous_train is None else self.anomalous_train

    @property
    def all_anomalous(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.anomalous + self.train_anomalies))

    def with_(self, **changes) -> Setting:
        """A copy with some fields changed (e.g. a sweep's p_contamination)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "normal": list(self.normal),
            "anomalous": list(self.anomalous),
            "anomalous_train": list(self.train_anomalies),
            "p_contamination": self.p_contamination,
            "n_train_anomalies": self.n_train_anomalies,
            "p_test": self.p_test,
            "p_val": self.p_val,
            "split_seed": self.split_seed,
            "experts": self.experts,
            "all_anomalies_in_test": self.all_anomalies_in_test,
            # only when set, so that the stored form (and the key) of every other setting stays as it was
            **({} if self.p_labelled is None else {"p_labelled": self.p_labelled}),
        }

    @classmethod
    def from_dict(cls, raw: dict) -> Setting:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__ and k != "extra"}
        return cls(**known)

    def check(self) -> None:
        """Reject impossible field values (no dataset needed: runs before a sweep starts)."""
        if not self.normal:
            raise SettingError(f"setting {self.name!r} has no normal classes")
        if not self.anomalous:
            raise SettingError(f"setting {self.name!r} has no anomalous classes")
        overlap = set(self.normal) & set(self.all_anomalous)
        if overlap:
            raise SettingError(f"classes {sorted(overlap)} are both normal and anomalous; a class can be only one")
        if not (0.0 <= self.p_contamination < 1.0):
            raise SettingError(
                f"p_contamination={self.p_contamination} is outside [0, 1): it is the fraction of the "
                "training 'normal' rows that are polluted anomalies, e.g. 0.01 for 1%"
            )
        for key in ("p_test", "p_val"):
            value = getattr(self, key)
            if not (0.0 < value < 1.0):
                raise SettingError(f"{key}={value} must be a fraction in (0, 1)")
        if self.n_train_anomalies is not None and self.n_train_anomalies < 0:
            raise SettingError(f"n_train_anomalies={self.n_train_anomalies} must be >= 0 (or None for all)")
        if self.experts not in EXPERTS:
            raise SettingError(f"experts={self.experts!r} must be one of {EXPERTS}")
        if self.p_labelled is not None:
            if not 0.0 <= self.p_labelled <= 1.0:
                raise SettingError(f"p_labelled={self.p_labelled} must be a fraction in [0, 1] (of the training "
                                   "anomalies that are labelled)")
            if self.p_contamination or self.n_train_anomalies or self.all_anomalies_in_test:
                raise SettingError(
                    "p_labelled keeps every training anomaly (the natural contamination), so p_contamination and "
                    "n_train_anomalies must be 0 and all_anomalies_in_test False"
                )
        if self.all_anomalies_in_test and (self.p_contamination or self.n_train_anomalies):
            raise SettingError(
                "all_anomalies_in_test=True (the AMSL protocol) puts every anomaly in the test set, so "
                "p_contamination and n_train_anomalies must both be 0"
            )

    def validate(self, dataset) -> None:
        """Reject settings the dataset cannot provide, saying what is possible instead."""
        name = dataset.name
        present = dataset.class_counts()
        available = ", ".join(f"{c} ({n})" for c, n in present.items())
        if not self.normal or not self.anomalous:
            which = "normal" if not self.normal else "anomalous"
            raise SettingError(f"setting for {name!r} has no {which} classes; choose from: {available}")
        for key, classes in (("normal", self.normal), ("anomalous", self.anomalous),
                             ("anomalous_train", self.train_anomalies)):
            unknown = [c for c in classes if c not in present]
            if unknown:
                raise SettingError(
                    f"{key} classes {unknown} do not exist in dataset {name!r}; "
                    f"classes present (rows): {available}"
                )
        self.check()
        if self.experts == "group" and dataset.group_codes is None:
            raise SettingError(
                f"experts='group' needs a group column, and dataset {name!r} has none; use experts='class'"
            )


@dataclass(frozen=True)
class Split:
    """Row indices into the dataset plus what a detector needs to know about each row."""

    train: np.ndarray  # row indices (a row may repeat when pollution needed duplicates)
    val: np.ndarray
    test: np.ndarray
    y_train: np.ndarray  # 1 = known anomaly, 0 = normal (polluted rows are 0)
    y_val: np.ndarray  # 1 = anomaly
    y_test: np.ndarray
    subclass_train: np.ndarray  # normal sub-class id (0..n_subclasses-1); -1 for known anomalies
    subclass_names: tuple[str, ...]
    n_polluted: int
    seed: int

    def counts(self) -> dict[str, int]:
        return {
            "train": len(self.train), "train_anomalies": int(self.y_train.sum()),
            "val": len(self.val), "val_anomalies": int(self.y_val.sum()),
            "test": len(self.test), "test_anomalies": int(self.y_test.sum()),
            "polluted": self.n_polluted,
        }


def contamination_count(p: float, n_normal: int) -> int:
    """Polluted rows needed so that they make up the fraction ``p`` of the polluted normal set."""
    if p == 0:
        return 0
    return round(n_normal * p / (1 - p))


def _codes(names: list[str], wanted: tuple[str, ...]) -> np.ndarray:
    lookup = {n: i for i, n in enumerate(names)}
    return np.array([lookup[c] for c in wanted if c in lookup], dtype=np.int64)


def make_split(dataset, setting: Setting, seed: int) -> Split:
    """Cut the dataset into train/val/test for one trial seed (see the module docstring)."""
    setting.validate(dataset)
    codes, names = dataset.label_codes
    normal = _codes(names, setting.normal)
    anomalous_test = _codes(names, setting.anomalous)
    anomalous_train = _codes(names, setting.train_anomalies)
    anomalous_all = _codes(names, setting.all_anomalous)
    kept = np.flatnonzero(np.isin(codes, np.concatenate([normal, anomalous_all])))

    # 2. test split
    official = dataset.official_test
    if official is not None:
        train_pool, test = kept[~official[kept]], kept[official[kept]]
        if len(test) == 0 or len(train_pool) == 0:
            raise SettingError(f"dataset {dataset.name!r}: the official split leaves no rows for the "
                               "setting's classes on one side")
    elif setting.all_anomalies_in_test:
        normal_rows = kept[np.isin(codes[kept], normal)]
        train_pool, test_normal = _split(normal_rows, setting.p_test, _split_seed(setting, seed), "test")
        test = np.concatenate([test_normal, kept[~np.isin(codes[kept], normal)]])
    else:
        train_pool, test = _split(kept, setting.p_test, _split_seed(setting, seed), "test")

    # 3. validation split with the trial seed
    train, val = _split(train_pool, setting.p_val, seed, "validation")

    # 4. pollution: relabel anomalous training rows as random normal classes
    rng = np.random.default_rng(seed)
    train_codes = codes[train].copy()
    n_polluted = 0
    if setting.p_contamination:
        is_normal = np.isin(train_codes, normal)
        pool = np.flatnonzero(np.isin(train_codes, anomalous_all))
        n_polluted = contamination_count(setting.p_contamination, int(is_normal.sum()))
        if len(pool) == 0 and n_polluted:
            raise SettingError(
                f"p_contamination={setting.p_contamination} needs {n_polluted} anomalous training rows, "
                "but the training split has none; lower p_contamination or add anomalous classes"
            )
        duplicates = n_polluted > len(pool)
        if duplicates:
            warnings.warn(
                f"{dataset.name}: p_contamination={setting.p_contamination} needs {n_polluted} polluted rows "
                f"but only {len(pool)} anomalous training rows exist; drawing with replacement",
                stacklevel=2,
            )
        picked = rng.choice(pool, n_polluted, replace=duplicates)
        train_codes[picked] = rng.choice(normal, n_polluted, replace=True)

    # 4'. natural contamination: a fraction of the anomalous_train rows labelled, every other anomaly polluted
    if setting.p_labelled is not None:
        candidates = np.flatnonzero(np.isin(train_codes, anomalous_train))
        known = rng.choice(candidates, math.ceil(setting.p_labelled * len(candidates)), replace=False)
        unlabelled = np.setdiff1d(np.flatnonzero(np.isin(train_codes, anomalous_all)), known)
        train_codes[unlabelled] = rng.choice(normal, len(unlabelled), replace=True)
        n_polluted = len(unlabelled)

    # 5. known anomalies
    normal_pos = np.flatnonzero(np.isin(train_codes, normal))
    anomaly_pos = np.flatnonzero(np.isin(train_codes, anomalous_train))
    if setting.n_train_anomalies is not None and setting.p_labelled is None:
        if setting.n_train_anomalies > len(anomaly_pos):
            raise SettingError(
                f"n_train_anomalies={setting.n_train_anomalies} but the training split of {dataset.name!r} has "
                f"only {len(anomaly_pos)} rows of the classes {list(setting.train_anomalies)} "
                f"(after pollution); use at most {len(anomaly_pos)}"
            )
        anomaly_pos = rng.choice(anomaly_pos, setting.n_train_anomalies, replace=False)
    keep = np.concatenate([normal_pos, anomaly_pos]).astype(np.int64)
    train, train_codes = train[keep], train_codes[keep]
    y_train = np.isin(train_codes, anomalous_all).astype(np.int8)

    # 6. evaluation splits keep their anomaly classes only
    val = val[np.isin(codes[val], np.concatenate([normal, anomalous_train]))]
    test = test[np.isin(codes[test], np.concatenate([normal, anomalous_test]))]
    y_val = np.isin(codes[val], anomalous_all).astype(np.int8)
    y_test = np.isin(codes[test], anomalous_all).astype(np.int8)

    subclass_train, subclass_names = _subclasses(dataset, setting, train, train_codes, normal, rng)
    return Split(train, val, test, y_train, y_val, y_test, subclass_train, subclass_names, n_polluted, seed)


def _split_seed(setting: Setting, seed: int) -> int:
    return seed if setting.split_seed is None else setting.split_seed


def _split(rows: np.ndarray, fraction: float, seed: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return train_test_split(rows, test_size=fraction, random_state=seed)
    except ValueError:
        raise SettingError(
            f"cannot take a {what} split of {fraction} from {len(rows)} rows; the setting's classes "
            "have too few rows for this split"
        ) from None


def _subclasses(dataset, setting, train, train_codes, normal, rng):
    """Normal sub-class per training row (ARGUE's experts); -1 marks known anomalies."""
    is_normal = np.isin(train_codes, normal)
    if setting.experts == "class":
        names = tuple(setting.normal)
        lookup = np.full(max(int(train_codes.max(initial=0)), int(normal.max(initial=0))) + 1, -1)
        lookup[normal] = np.arange(len(normal))
        sub = np.where(is_normal, lookup[train_codes], -1)
        return sub.astype(np.int64), names
    gcodes, gnames = dataset.group_codes
    row_groups = gcodes[train]
    # groups that occur among the genuinely normal rows define the experts
    genuine = is_normal & np.isin(dataset.label_codes[0][train], normal)
    present = sorted(np.unique(row_groups[genuine]), key=lambda g: natural_key(gnames[g]))
    present = np.asarray(present, dtype=np.int64)
    names = tuple(gnames[g] for g in present)
    lookup = np.full(len(gnames), -1)
    lookup[present] = np.arange(len(present))
    sub = np.where(is_normal, lookup[row_groups], -1)
    # polluted rows (and normal rows of a group absent from the normal rows) go to a random expert
    stray = is_normal & ((sub < 0) | ~genuine)
    sub[stray] = rng.integers(0, len(present), int(stray.sum()))
    return sub.astype(np.int64), names
