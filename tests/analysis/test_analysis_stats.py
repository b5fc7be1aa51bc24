"""Wilcoxon, Holm, Friedman and Nemenyi against scipy / statsmodels / hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

from adray.analysis import stats

X = [0.91, 0.85, 0.77, 0.93, 0.88, 0.79, 0.95]
Y = [0.89, 0.80, 0.78, 0.90, 0.85, 0.70, 0.91]


def test_wilcoxon_matches_scipy_two_sided_paired():
    res = stats.wilcoxon_paired(X, Y)
    ref = st.wilcoxon(X, Y, zero_method="wilcox", alternative="two-sided")
    assert res["p"] == pytest.approx(ref.pvalue) and res["statistic"] == pytest.approx(ref.statistic)
    assert res["n"] == 7 and res["n_nonzero"] == 7 and res["notes"] is None
    assert (res["wins"], res["ties"], res["losses"]) == (6, 0, 1)
    # symmetric in (x, y)
    assert stats.wilcoxon_paired(Y, X)["p"] == pytest.approx(res["p"])


def test_pairs_with_a_missing_side_are_dropped_and_n_reported():
    y = list(Y)
    y[2] = math.nan
    res = stats.wilcoxon_paired(X, y)
    keep = [i for i in range(7) if i != 2]
    ref = st.wilcoxon([X[i] for i in keep], [Y[i] for i in keep])
    assert res["n"] == 6 and res["p"] == pytest.approx(ref.pvalue)


def test_small_samples_say_so_instead_of_a_meaningful_p():
    res = stats.wilcoxon_paired(X[:5], Y[:5])
    assert res["n"] == 5 and "n=5 too small for p<0.05" in res["notes"]
    assert stats.smallest_p(5) == pytest.approx(2 / 32) and stats.smallest_p(6) == pytest.approx(2 / 64)
    assert stats.too_small(6) is None
    # the smallest p really is 2/2^n: all differences of one sign
    assert st.wilcoxon([1, 2, 3, 4, 5, 6]).pvalue == pytest.approx(2 / 64)
    same = stats.wilcoxon_paired([0.5, 0.6], [0.5, 0.6])
    assert same["p"] == 1.0 and "all 2 differences are zero" in same["notes"]
    zero = stats.wilcoxon_paired([0.5, 0.6, 0.7, 0.8, 0.9, 0.1, 0.2], [0.5, 0.5, 0.6, 0.7, 0.8, 0.0, 0.1])
    assert zero["n"] == 7 and zero["n_nonzero"] == 6 and "1 zero difference(s) dropped" in zero["notes"]


def test_holm_on_hand_computed_values():
    assert stats.holm([0.01, 0.04, 0.03, 0.20]) == pytest.approx([0.04, 0.09, 0.09, 0.20])
    out = stats.holm([0.01, math.nan, 0.04])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert len(stats.holm([])) == 0


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(0).uniform(0, 0.2, 9)
    expected = multitest.multipletests(p, method="holm")[1]
    assert stats.holm(p) == pytest.approx(expected)


def test_friedman_ranks_on_a_hand_example():
    table = pd.DataFrame({"A": [0.9, 0.8, 0.9, 0.7], "B": [0.8, 0.9, 0.9, 0.6], "C": [0.7, 0.7, 0.8, 0.8]},
                         index=["d1", "d2", "d3", "d4"])
    ranks = stats.average_ranks(table)
    assert ranks.to_dict() == pytest.approx({"A": 1.625, "B": 1.875, "C": 2.5})
    result = stats.friedman(table, min_datasets=3)
    ref = st.friedmanchisquare(table["A"], table["B"], table["C"])
    assert result.statistic == pytest.approx(ref.statistic) and result.p == pytest.approx(ref.pvalue)
    assert result.cd == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 4)), abs=1e-3)  # Demšar's q for k = 3
    assert any("< 10 datasets" in n for n in result.notes)
    # too few datasets / methods: said, not computed
    assert math.isnan(stats.friedman(table).p) and "need >= 5" in stats.friedman(table).notes[0]
    two = stats.friedman(table[["A", "B"]], min_datasets=3)
    assert math.isnan(two.p) and "need >= 3 methods" in two.notes[0]


def test_nemenyi_q_agrees_with_demsars_published_table():
    published = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}  # 2006, T. 5
    for k, q in published.items():
        assert stats.q_alpha(k) == pytest.approx(q, abs=1.5e-3)
    assert stats.q_alpha(25) > stats.q_alpha(20) > stats.q_alpha(10)


def _cells(means: dict[str, list[float]], group="g") -> pd.DataFrame:
    rows = []
    for method, values in means.items():
        for i, value in enumerate(values):
            rows.append({"method": method, "unit": f"d{i}", "mean": value, "group": group, "split": "test",
                         "metric": "auc"})
    return pd.DataFrame(rows)


def test_across_datasets_is_the_seeds_test_with_holm_over_methods():
    z = [0.5, 0.6, 0.55, 0.7, 0.65, 0.6, 0.8]
    cells = _cells({"ref": X, "b": Y, "c": z})
    out = stats.across_datasets(cells, "ref", "auc", "g").set_index("method")
    p_b, p_c = st.wilcoxon(X, Y).pvalue, st.wilcoxon(X, z).pvalue
    assert out.loc["b", "p"] == pytest.approx(p_b) and out.loc["c", "p"] == pytest.approx(p_c)
    assert out[["p_holm"]].to_numpy().ravel() == pytest.approx(stats.holm([p_b, p_c]))
    assert (out["n"] == 7).all() and (out["unit"] == "all datasets").all()


def test_compare_per_dataset_over_seeds_and_single_dataset_warning():
    per_seed = pd.DataFrame({"unit": "d0", "group": "g", "seed": [1, 2, 3, 1, 2, 3],
                             "method": ["ref"] * 3 + ["b"] * 3, "test_auc": [0.9, 0.8, 0.85, 0.7, 0.75, 0.7],
                             "test_ap": 0.5})
    cells = _cells({"ref": [0.85], "b": [0.72]})
    result = stats.compare(cells, per_seed, "ref", metrics=("auc",))
    seeds = result.stats[result.stats["test"] == stats.SEEDS].iloc[0]
    assert seeds["n"] == 3 and seeds["p"] == pytest.approx(st.wilcoxon([0.9, 0.8, 0.85], [0.7, 0.75, 0.7]).pvalue)
    assert "n=3 too small for p<0.05" in seeds["notes"]
    assert not (result.stats["test"] == stats.ACROSS).any()
    assert any("only 1 dataset(s)" in w for w in result.warnings)
