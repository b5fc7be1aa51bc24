"""The report's plots keep every title, label and legend inside the picture (a sweep of one dataset
used to give a 324 px plot with its title cut off on both sides), label what they draw, and the
critical-difference diagram appears only where the Friedman test ran."""

from __future__ import annotations

import matplotlib.text
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from real_sweep import DETECTORS, write_real_sweep

from adray.analysis import plots
from adray.analysis.report import make_report
from adray.testing.sweeps import make_fake_sweep


@pytest.fixture
def saved(monkeypatch):
    """Every figure the report saves, as (file name, figure), looked at after it was written."""
    figures = []
    original = plots._save

    def keep(fig, path, tight=False):
        written = original(fig, path, tight)
        figures.append((written.name, fig))
        return written

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def _outside(fig) -> list[float]:
    """How far (inches: left, bottom, right, top) what the figure draws reaches past its edges; 0 = inside."""
    drawn = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer())  # closed after saving: a new canvas
    width, height = fig.get_size_inches()
    return [round(max(0.0, v), 2) for v in (-drawn.x0, -drawn.y0, drawn.x1 - width, drawn.y1 - height)]


def _legend_labels(fig) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def test_a_one_dataset_sweep_gets_plots_with_whole_titles(tmp_path, monkeypatch, saved):
    monkeypatch.setenv("ADRAY_DETECTORS", DETECTORS)
    write_real_sweep(tmp_path / "s")
    make_report(tmp_path / "s")
    assert sorted(name.split("_")[0] for name, _ in saved) == ["history", "roc", "spread"]
    for name, fig in saved:
        assert fig.get_figwidth() * fig.dpi >= plots.MIN_WIDTH * plots.DPI - 1, name
        assert _outside(fig) == [0, 0, 0, 0], name
        titles = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if "n_train_anomalies" in t.get_text()]
        assert titles and all("p_contamination=0.01" in t.replace("\n", " ") for t in titles), name
    history = dict(saved)["history_p0.01_n20.png"]
    labels = _legend_labels(history)
    assert "sleepy" in labels and "band: ± 1 std over seeds" in labels
    assert not any("stage change" in label for label in labels)  # one stage: no dotted line, no entry


def test_stage_changes_are_labelled_and_wide_figures_fit(tmp_path, saved):
    sweep = make_fake_sweep(tmp_path / "sweep", methods=("a3", "ae", "deepsvdd", "iforest"),
                            datasets=("d1", "d2", "d3", "d4", "d5", "d6"), n_configs=1, seeds=(1, 2),
                            settings=((0.01, 0),), epochs=3, n_scores=60)
    make_report(sweep.path)
    figures = dict(saved)
    assert {"roc_p0.01_n0.png", "history_p0.01_n0.png", "spread_p0.01_n0.png", "cd_p0.01_n0.png"} <= set(figures)
    for name, fig in figures.items():
        assert _outside(fig) == [0, 0, 0, 0], name
    history = figures["history_p0.01_n0.png"]
    dotted = [line for ax in history.axes for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert dotted  # a3 changes stage (target -> alarm) ...
    assert any(label.startswith("stage change") for label in _legend_labels(history))  # ... and the legend says so
    roc_labels = _legend_labels(figures["roc_p0.01_n0.png"])
    assert "random (AUC 0.50)" in roc_labels and any(label.startswith("ae (AUC ") for label in roc_labels)


@pytest.mark.parametrize("n_datasets", [2, 5])
def test_the_cd_diagram_is_drawn_only_where_the_friedman_test_ran(tmp_path, n_datasets):
    sweep = make_fake_sweep(tmp_path / "sweep", datasets=tuple(f"d{i}" for i in range(n_datasets)), n_configs=1,
                            seeds=(1, 2), settings=((0.01, 0),), artifact_datasets=0, history=False)
    result = make_report(sweep.path, plots=True)
    cd = result.report_dir / "plots" / "cd_p0.01_n0.png"
    text = result.page.read_text(encoding="utf-8")
    if n_datasets < 5:  # Friedman/Nemenyi need >= 5 complete datasets here (stats.MIN_FRIEDMAN_DATASETS)
        assert not cd.exists()
        assert "critical-difference diagram" in text and "The Friedman test did not run" in text
        assert f"{n_datasets} complete dataset(s), need &gt;= 5" in text
    else:
        assert cd.exists() and cd in result.files
        assert "The Friedman test did not run" not in text
