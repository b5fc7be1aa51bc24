"""Plots are written as real PNGs, and the ROC averaging does what the docstring says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adray.analysis import plots

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG and path.stat().st_size > 1024


def test_every_plot_of_the_report_is_a_png(generated_report):
    folder = generated_report.report_dir / "plots"
    names = sorted(p.name for p in folder.glob("*.png"))
    for kind in ("roc", "history", "spread", "cd"):
        for slug in ("p0_n100", "p0.01_n0"):
            assert f"{kind}_{slug}.png" in names
    assert all(_is_png(folder / n) for n in names)
    assert set(names) <= {p.name for p in generated_report.files}


def test_a_trial_without_roc_csv_gets_its_curve_from_its_scores(tmp_path):
    from adray import artifacts, metrics

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + labels, 1)  # ties on purpose
    pd.DataFrame({"split": "test", "row": np.arange(300), "label": labels, "class": "x", "score": scores}).to_parquet(
        tmp_path / artifacts.SCORES)
    fpr, tpr = plots.trial_roc(tmp_path)
    ref_fpr, ref_tpr, _ = metrics.roc(labels, scores)
    assert fpr == pytest.approx(ref_fpr) and tpr == pytest.approx(ref_tpr) and fpr[-1] == tpr[-1] == 1.0
    assert len(metrics.roc([0, 0], [0.1, 0.2])[0]) == 0  # one class: no curve, not an error


def test_vertical_averaging_on_the_common_fpr_grid():
    a = (np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0]))  # perfect
    b = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))  # random
    mean, std = plots.mean_roc([a, b])
    grid = plots.FPR_GRID
    assert mean[0] == 0.0 and mean[-1] == 1.0
    assert mean[100] == pytest.approx((1.0 + grid[100]) / 2)
    one, one_std = plots.mean_roc([b])
    assert one == pytest.approx(grid) and np.isnan(one_std).all()


def test_roc_falls_back_to_scores_parquet(generated, tmp_path):
    trial = next(p for p in generated.path.iterdir() if (p / "scores.parquet").exists())
    from_csv = plots.trial_roc(trial)
    copy = tmp_path / "trial"
    copy.mkdir()
    (copy / "scores.parquet").write_bytes((trial / "scores.parquet").read_bytes())
    from_scores = plots.trial_roc(copy)
    assert from_csv is not None and from_scores is not None
    assert np.interp(plots.FPR_GRID, *from_scores) == pytest.approx(np.interp(plots.FPR_GRID, *from_csv))
    assert plots.trial_roc(tmp_path) is None


def test_cd_diagram_and_cliques(tmp_path):
    ranks = pd.Series({"a": 1.2, "b": 1.9, "c": 2.4, "d": 3.9, "e": 4.1})
    assert plots.cliques(ranks, 1.0) == [["a", "b"], ["b", "c"], ["d", "e"]]
    path = plots.plot_cd(ranks, 1.0, tmp_path / "cd.png", "test")
    assert _is_png(path)
