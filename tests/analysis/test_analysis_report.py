"""make_report end to end: known answers, and bad inputs giving a clear message and a partial report."""

from __future__ import annotations

import pandas as pd
import pytest

from adray.analysis.report import make_report
from adray.errors import AdrayError


def _two_methods(sweep, datasets=("d1", "d2")):
    for d_i, dataset in enumerate(datasets):
        for seed in (110, 210, 310):
            bump = 0.01 * (seed // 100)
            # ae: config lr=0.1 wins on validation but is worse on test
            sweep.add(method="ae", dataset=dataset, seed=seed, params={"lr": 0.1}, val=0.9 + bump, test=0.70 + bump)
            sweep.add(method="ae", dataset=dataset, seed=seed, params={"lr": 0.01}, val=0.8 + bump, test=0.95)
            sweep.add(method="iforest", dataset=dataset, seed=seed, params={}, val=0.6, test=0.60 + 0.1 * d_i)


def test_main_table_shows_the_test_numbers_of_the_best_validation_config(sweep):
    _two_methods(sweep)
    result = make_report(sweep.path, plots=False)
    assert result.reference == "ae" and result.methods == ["ae", "iforest"]
    lines = {line.split(" | ")[0].strip("| "): line for line in result.table.splitlines() if line.startswith("| ")}
    assert "**0.72 ± 0.01**" in lines["ae"]  # 0.71, 0.72, 0.73: the best-val config's test values, not 0.95
    assert "0.95" not in result.table
    # one configuration, the same value for every seed; 2 datasets cannot give p < 0.05
    assert lines["iforest"] == "| iforest | 0.60 ± 0.00 | 0.70 ± 0.00 | 0.65 | n=2 too small |"
    report = result.report_dir
    for name in ("runs.parquet", "selected.csv", "merged.csv", "main.md", "main.tex", "main.csv", "stats.csv",
                 "summary.md"):
        assert (report / name).exists(), name
    assert (report / "main.md").read_text() == result.table
    summary = (report / "summary.md").read_text()
    assert "main.tex" in summary and "stats.csv" in summary


def test_a_new_report_removes_what_the_old_one_wrote_and_this_one_does_not(sweep):
    _two_methods(sweep)
    stale = sweep.path / "report" / "plots" / "roc_p0.5_n0.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    (sweep.path / "report" / "problems.csv").write_text("old")
    make_report(sweep.path, plots=False)
    assert not stale.exists() and not (sweep.path / "report" / "problems.csv").exists()


def test_half_written_trials_are_counted_and_listed(sweep):
    _two_methods(sweep)
    truncated = sweep.add(method="ae", dataset="d1", seed=410, status="truncated")
    killed = sweep.add(method="iforest", dataset="d2", seed=410, status="incomplete")
    result = make_report(sweep.path, plots=False)
    assert result.counts == {"ok": 18, "error": 0, "incomplete": 2, "not started": 0, "stopped": 0, "duplicate": 0,
                             "foreign": 0}
    assert any("2 incomplete" in w for w in result.warnings)
    assert any("fewer ok seeds" in w for w in result.warnings)
    problems = pd.read_csv(result.report_dir / "problems.csv")
    assert set(problems["trial_dir"]) == {str(truncated), str(killed)}
    summary = (result.report_dir / "summary.md").read_text()
    assert truncated.name in summary and "trial.json unreadable" in summary
    merged = pd.read_csv(result.report_dir / "merged.csv")
    assert merged["seeds_missing"].fillna("").str.contains("410 (incomplete)", regex=False).any()


def test_missing_reference_lists_the_methods_and_still_writes_the_rest(sweep):
    _two_methods(sweep)
    with pytest.raises(AdrayError, match=r"reference method 'argue' is not in the sweep; methods present: ae, "
                                         r"iforest"):
        make_report(sweep.path, reference="argue", plots=False)
    report = sweep.path / "report"
    assert (report / "merged.csv").exists() and (report / "selected.csv").exists()
    main = (report / "main.md").read_text()
    assert "| ae |" in main and "| p |" not in main  # no reference: no p-value column
    assert "reference method 'argue'" in (report / "summary.md").read_text()


def test_single_dataset_warns_and_still_writes_tables(sweep):
    _two_methods(sweep, datasets=("d1",))
    result = make_report(sweep.path, plots=False)
    assert any("only 1 dataset(s), so no test across datasets is possible" in w for w in result.warnings)
    assert "| ae | **0.72 ± 0.01** | **0.72** | - |" in result.table
    stats = pd.read_csv(result.report_dir / "stats.csv")
    assert "wilcoxon across datasets" not in set(stats["test"])
    seeds = stats[stats["test"] == "wilcoxon over seeds"].iloc[0]
    assert seeds["n"] == 3 and "n=3 too small for p<0.05" in seeds["notes"]


def test_a_sweep_where_everything_failed_still_gets_its_report(sweep):
    for method in ("a", "b"):
        for dataset in ("d1", "d2"):
            sweep.add(method=method, dataset=dataset, seed=1, status="error")
            sweep.add(method=method, dataset=dataset, seed=2, status="incomplete")
    result = make_report(sweep.path)
    assert result.warnings[0] == "none of the 8 trials finished ok: the tables have no numbers"
    assert "| a | -† | -† | - | - |" in result.table
    assert (result.report_dir / "problems.csv").exists() and (result.report_dir / "main.tex").exists()


def test_empty_folder_is_a_clear_error_and_writes_nothing(tmp_path):
    with pytest.raises(AdrayError, match="no trials found"):
        make_report(tmp_path)
    assert not (tmp_path / "report").exists()


def test_a_sweep_without_trials_gets_a_summary_saying_so(sweep):
    with pytest.raises(AdrayError, match="Ray Tune sweep with no trial directories yet"):
        make_report(sweep.path)
    assert "No report" in (sweep.path / "report" / "summary.md").read_text()


def test_bad_arguments(sweep):
    _two_methods(sweep)
    with pytest.raises(AdrayError, match="metric 'threshold'"):
        make_report(sweep.path, metric="threshold")
    with pytest.raises(AdrayError, match="format 'html'"):
        make_report(sweep.path, fmt="html")


def test_generated_sweep_report(generated, generated_report):
    result = generated_report
    assert result.counts["ok"] + result.counts["error"] + result.counts["incomplete"] == generated.n_trials
    assert result.table.count("### test AUC") == 2  # one table per setting group
    stats = pd.read_csv(result.report_dir / "stats.csv")
    assert {"wilcoxon across datasets", "wilcoxon over seeds", "friedman"} <= set(stats["test"])
    friedman = stats[(stats["test"] == "friedman") & (stats["metric"] == "auc")]
    assert friedman["p"].notna().all() and friedman["notes"].str.contains("Nemenyi CD").all()
    across = stats[stats["test"] == "wilcoxon across datasets"]
    assert (across["n"] == 6).all()
    ranks = pd.read_csv(result.report_dir / "ranks.csv")
    assert set(ranks["method"]) == {"ae", "deepsvdd", "iforest"}
