"""The embedded ``gaussian_shift`` dataset: GANDI's 1-D experiment (adray/detectors/gandi/README.md)."""

import numpy as np

from adray.data import get_spec, load, make_split
from adray.data.synthetic import GANDI_SHIFTS, make_gaussian_shift, shift_class


def test_classes_sizes_and_moments():
    raw = make_gaussian_shift(n_normal=4000, n_per_shift=500, seed=1)
    assert raw.X.shape == (4000 + 16 * 500, 1) and raw.X.dtype == np.float32 and raw.feature_names == ["x"]
    assert len(GANDI_SHIFTS) == 16 and sorted(GANDI_SHIFTS) == sorted({s * d for s in (1, -1)
                                                                        for d in (0.1, 0.5, 1, 2, 3, 4, 5, 10)})
    normal = raw.X[raw.labels == "normal", 0]
    assert len(normal) == 4000 and abs(normal.mean() - 4.0) < 0.06 and abs(normal.std() - 1.0) < 0.05
    for delta in GANDI_SHIFTS:
        values = raw.X[raw.labels == shift_class(delta), 0]
        assert len(values) == 500 and abs(values.mean() - (4.0 + delta)) < 0.15 and abs(values.std() - 1.0) < 0.1
    assert [shift_class(d) for d in (0.1, -3.0, 10.0)] == ["shift_+0.1", "shift_-3", "shift_+10"]


def test_seeded():
    a, b, c = make_gaussian_shift(seed=3), make_gaussian_shift(seed=3), make_gaussian_shift(seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.X, c.X)


def test_embedded_dataset_and_settings():
    spec = get_spec("gaussian_shift")
    assert spec.embedded and spec.files == ()
    dataset = load("gaussian_shift")  # generated, no download
    assert dataset.meta.shape == (1,) and len(dataset) == 28000
    assert dataset.class_counts() == {"normal": 12000, **{shift_class(d): 1000 for d in GANDI_SHIFTS}}
    default, shift3 = spec.setting("default"), spec.setting("shift3")
    assert default.normal == ("normal",) and set(default.anomalous) == {shift_class(d) for d in GANDI_SHIFTS}
    assert shift3.anomalous == ("shift_-3", "shift_+3")
    for setting in (default, shift3):
        assert setting.p_test == 0.5 and setting.n_train_anomalies == 0
    split = make_split(dataset, shift3, seed=0)
    codes, names = dataset.label_codes
    test_classes = set(np.asarray(names)[codes[split.test]])
    assert test_classes == {"normal", "shift_-3", "shift_+3"} and split.y_train.sum() == 0
    assert 0.45 < len(split.test) / (12000 + 2000) < 0.55
