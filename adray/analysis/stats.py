"""Significance as the seeds tested it, plus the corrections and caveats they left out.

The seeds (ARGUE's and R2-AD2's ``evaluate_results.py``) ran ``scipy.stats.wilcoxon(x=reference seed-means
over datasets, y=other method's seed-means)``: a two-sided paired signed-rank test across datasets,
zero_method "wilcox". That is :func:`across_datasets`. Added here, because a table of raw p-values
invites over-reading:

* **Holm** correction across the methods compared with the reference (:func:`holm`), per metric and
  setting group;
* datasets where either method has no value are dropped from that pair (the seeds let NaN poison the
  p-value) and the number of pairs used is reported;
* **honest small samples**: with n non-zero differences the smallest two-sided exact p is 2/2^n, so
  for n <= 5 no result can reach 0.05; such rows say "n=N too small for p<0.05" in ``notes``;
* a **per-dataset** paired test over seed-matched values (:func:`per_dataset`) with its n;
* win / tie / loss counts (from the reference's side: a win is a dataset where the reference's mean
  is higher; a tie is an exactly equal mean);
* the **Friedman** test over all methods with average ranks and the **Nemenyi** critical difference
  (Demšar 2006) when there are >= 3 methods and >= :data:`MIN_FRIEDMAN_DATASETS` complete datasets.

Higher is better for every metric compared here (AUC, AP, F1, ...).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as st

ALPHA = 0.05
MIN_FRIEDMAN_DATASETS = 5
_DIFF_DECIMALS = 12  # differences are rounded first, as scipy advises, so float noise is not a "difference"

ACROSS, SEEDS, FRIEDMAN = "wilcoxon across datasets", "wilcoxon over seeds", "friedman"
STATS_COLUMNS = ["test", "metric", "group", "unit", "reference", "method", "n", "n_nonzero", "statistic", "p",
                 "p_holm", "wins", "ties", "losses", "mean_diff", "notes"]


def smallest_p(n: int) -> float:
    """The smallest two-sided exact p-value a signed-rank test on n non-zero differences can give."""
    return 2.0 / 2.0**n if n > 0 else 1.0


def too_small(n: int, alpha: float = ALPHA) -> str | None:
    """The note for a sample that cannot reach ``alpha`` whatever the data, else None."""
    if smallest_p(n) >= alpha:
        return f"n={n} too small for p<{alpha:g}"
    return None


def wilcoxon_paired(x, y) -> dict:
    """Two-sided paired Wilcoxon signed-rank test of x against y (zero_method "wilcox").

    Pairs with a NaN on either side are dropped first; ``n`` is the pairs used, ``n_nonzero`` those
    left after zero differences are dropped (what the test actually ranks).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    d = np.round(x - y, _DIFF_DECIMALS)
    n, nonzero = len(d), int(np.count_nonzero(d))
    out = {"n": n, "n_nonzero": nonzero, "statistic": math.nan, "p": math.nan,
           "wins": int((d > 0).sum()), "ties": int((d == 0).sum()), "losses": int((d < 0).sum()),
           "mean_diff": float(d.mean()) if n else math.nan}
    notes = []
    if n == 0:
        notes.append("no pairs with values on both sides")
    elif nonzero == 0:
        out["p"] = 1.0
        notes.append(f"all {n} differences are zero")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = st.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
        out["statistic"], out["p"] = float(result.statistic), float(result.pvalue)
        if nonzero < n:
            notes.append(f"{n - nonzero} zero difference(s) dropped")
    small = too_small(nonzero) if n else None
    if small:
        notes.append(small)
    out["notes"] = "; ".join(notes) or None
    return out


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and does not count towards m)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="mergesort")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def q_alpha(k: int) -> float:
    """Nemenyi's q at alpha 0.05 for k methods: the studentized range quantile over sqrt(2) (Demšar 2006)."""
    return float(st.studentized_range.ppf(1 - ALPHA, k, np.inf) / math.sqrt(2))


def critical_difference(k: int, n: int) -> float:
    """Nemenyi critical difference of average ranks for k methods on n datasets (alpha 0.05)."""
    return q_alpha(k) * math.sqrt(k * (k + 1) / (6.0 * n))


def average_ranks(table: pd.DataFrame) -> pd.Series:
    """Mean rank per column (method) over rows (datasets); rank 1 = highest value, ties share ranks."""
    ranks = np.apply_along_axis(st.rankdata, 1, -table.to_numpy(dtype=float))
    return pd.Series(ranks.mean(axis=0), index=table.columns)


@dataclass
class FriedmanResult:
    methods: list[str]
    n_datasets: int
    ranks: pd.Series | None = None
    statistic: float = math.nan
    p: float = math.nan
    cd: float = math.nan
    notes: list[str] = field(default_factory=list)


def friedman(table: pd.DataFrame, min_datasets: int = MIN_FRIEDMAN_DATASETS) -> FriedmanResult:
    """Friedman test over a datasets x methods table of means; rows with a missing method are dropped."""
    complete = table.dropna(axis=0, how="any")
    k, n = complete.shape[1], complete.shape[0]
    result = FriedmanResult(methods=list(complete.columns), n_datasets=n)
    if len(complete) < len(table):
        result.notes.append(f"{len(table) - n} dataset(s) dropped: not every method has a value there")
    if k >= 2 and n >= 1:
        result.ranks = average_ranks(complete)
    if k < 3:
        result.notes.append(f"Friedman/Nemenyi need >= 3 methods, have {k}")
    elif n < min_datasets:
        result.notes.append(f"Friedman/Nemenyi skipped: {n} complete dataset(s), need >= {min_datasets}")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stat = st.friedmanchisquare(*[complete[c].to_numpy(dtype=float) for c in complete.columns])
        result.statistic, result.p = float(stat.statistic), float(stat.pvalue)
        result.cd = critical_difference(k, n)
        if n < 10:
            result.notes.append(f"N={n} < 10 datasets: the chi-square approximation is rough")
    return result


def _means(cells: pd.DataFrame) -> pd.DataFrame:
    """units x methods table of seed-means."""
    return cells.pivot_table(index="unit", columns="method", values="mean", aggfunc="first", dropna=False)


def across_datasets(cells: pd.DataFrame, reference: str, metric: str, group: str) -> pd.DataFrame:
    """The seeds' test for one metric and setting group: reference vs every other method, Holm-adjusted.

    ``cells``: one row per cell of this group (columns unit, method, mean), e.g. from
    :func:`adray.analysis.merge.cell_values` with :func:`adray.analysis.merge.add_units`.
    """
    table = _means(cells)
    rows = []
    if reference in table.columns:
        for method in sorted(c for c in table.columns if c != reference):
            res = wilcoxon_paired(table[reference], table[method])
            rows.append({"test": ACROSS, "metric": metric, "group": group, "unit": "all datasets",
                         "reference": reference, "method": method, **res})
    frame = pd.DataFrame(rows, columns=STATS_COLUMNS)
    if len(frame):
        frame["p_holm"] = holm(frame["p"])
    return frame


def per_dataset(per_seed: pd.DataFrame, reference: str, metric: str, group: str, split: str = "test") -> pd.DataFrame:
    """Per dataset (unit): reference vs each method on seed-matched values, Holm across methods.

    ``per_seed``: ok trials of the chosen configurations (columns unit, method, seed, <split>_<metric>).
    """
    col = f"{split}_{metric}"
    if per_seed.empty:
        return pd.DataFrame(columns=STATS_COLUMNS)
    # one pivot for the whole group: rows (unit, seed), columns methods
    values_all = per_seed.pivot_table(index=["unit", "seed"], columns="method", values=col, aggfunc="mean",
                                      dropna=False)
    if reference not in values_all.columns:
        return pd.DataFrame(columns=STATS_COLUMNS)
    others = sorted(c for c in values_all.columns if c != reference)
    rows = []
    for unit, values in values_all.groupby(level="unit", sort=True):
        ref = values[reference].to_numpy(float)
        if not np.isfinite(ref).any():
            continue
        block = []
        for method in others:
            other = values[method].to_numpy(float)
            if not np.isfinite(other).any():
                continue
            res = wilcoxon_paired(ref, other)
            block.append({"test": SEEDS, "metric": metric, "group": group, "unit": unit,
                          "reference": reference, "method": method, **res})
        if block:
            block_frame = pd.DataFrame(block, columns=STATS_COLUMNS)
            block_frame["p_holm"] = holm(block_frame["p"])
            rows.append(block_frame)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=STATS_COLUMNS)


@dataclass
class Comparison:
    """Everything stats.csv / ranks.csv hold, plus warnings for the report."""

    stats: pd.DataFrame
    ranks: pd.DataFrame
    friedman: dict[tuple[str, str], FriedmanResult]
    warnings: list[str]


def compare(cells: pd.DataFrame, per_seed: pd.DataFrame, reference: str | None,
            metrics=("auc", "ap")) -> Comparison:
    """All tests for every metric and setting group.

    ``cells``: merged seeds (long, with ``unit``; test split rows are used); ``per_seed``: ok trials of
    the chosen configurations with ``unit``. ``reference`` None runs the Friedman test only.
    """
    frames, rank_rows, found, notes = [], [], {}, []
    test_cells = cells[cells["split"] == "test"]
    for metric in metrics:
        for group, part in test_cells[test_cells["metric"] == metric].groupby("group", sort=True):
            n_units = part.dropna(subset=["mean"])["unit"].nunique()
            if reference is not None:
                if n_units < 2 and metric == metrics[0]:
                    notes.append(f"{group}: results on only {n_units} dataset(s), so no test across datasets is "
                                 "possible (the per-dataset test over seeds is still in stats.csv)")
                if n_units >= 2:
                    across = across_datasets(part, reference, metric, group)
                    if metric == metrics[0] and len(across) and smallest_p(n_units) >= ALPHA:
                        notes.append(f"{group}: {n_units} datasets, so no across-dataset p-value can be below "
                                     f"{ALPHA:g} (smallest possible: {smallest_p(n_units):.3f})")
                    frames.append(across)
                frames.append(per_dataset(per_seed[per_seed["group"] == group], reference, metric, group))
            fr = friedman(_means(part))
            found[(metric, group)] = fr
            frames.append(pd.DataFrame([{
                "test": FRIEDMAN, "metric": metric, "group": group, "unit": "all datasets", "reference": None,
                "method": ", ".join(fr.methods), "n": fr.n_datasets, "statistic": fr.statistic, "p": fr.p,
                "notes": "; ".join(fr.notes + ([f"Nemenyi CD={fr.cd:.3f} (alpha 0.05)"] if math.isfinite(fr.cd)
                                               else [])) or None}], columns=STATS_COLUMNS))
            if fr.ranks is not None:
                for method, rank in fr.ranks.items():
                    rank_rows.append({"metric": metric, "group": group, "method": method, "avg_rank": rank,
                                      "n_datasets": fr.n_datasets, "cd": fr.cd, "friedman_p": fr.p})
    frames = [f for f in frames if len(f)]
    stats = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STATS_COLUMNS)
    ranks = pd.DataFrame(rank_rows, columns=["metric", "group", "method", "avg_rank", "n_datasets", "cd",
                                             "friedman_p"])
    return Comparison(stats=stats, ranks=ranks, friedman=found, warnings=notes)
