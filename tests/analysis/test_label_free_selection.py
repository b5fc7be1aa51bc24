"""Model selection when validation has no anomaly (AMSL's protocol): chosen on validation loss, and said so."""

import json

import pandas as pd
import pytest

from adray import artifacts
from adray.analysis.report import make_report
from adray.data import get_spec, load
from adray.sweep.ledger import Ledger, write_ledger
from adray.sweep.trial import TrialConfig, run_trial


def test_a_normal_only_validation_split_selects_on_validation_loss_and_never_computes_an_auc(tmp_path):
    setting = get_spec("synthetic").setting().with_(all_anomalies_in_test=True, p_contamination=0.0,
                                                    n_train_anomalies=0, name="amsl-like")
    trials = [TrialConfig("iforest", "synthetic", setting, seed, {"n_estimators": n, "max_samples": m})
              for n, m in ((10, 16), (200, 256)) for seed in (1, 2, 3)]
    ledger = Ledger.new("free", {}, trials)
    write_ledger(tmp_path, ledger)
    data = load("synthetic")
    for i, trial in enumerate(trials):
        outcome = run_trial(trial, data, tmp_path / ledger.dirname(i), lambda m, s: None, context={"index": i})
        assert outcome["status"] == "ok" and pd.isna(outcome["val"]["auc"])
        history = pd.read_csv(tmp_path / ledger.dirname(i) / artifacts.HISTORY)
        assert "val_loss" in history and "val_auc" not in history  # no AUC that cannot exist
    result = make_report(tmp_path, plots=False)
    selected = pd.read_csv(result.report_dir / "selected.csv").iloc[0]
    assert selected.selected_by == "validation loss"
    losses = {}
    for folder in tmp_path.glob("iforest_*"):
        outcome = json.loads((folder / artifacts.TRIAL).read_text())
        losses.setdefault(outcome["config"]["config_id"], []).append(outcome["val"]["loss"])
    best = min(losses, key=lambda c: sum(losses[c]) / len(losses[c]))
    assert selected.config_id == best and selected.val_loss_mean == pytest.approx(sum(losses[best]) / 3)
    assert any("chosen by the lowest mean validation loss" in w for w in result.warnings)
    assert pd.read_csv(result.report_dir / "merged.csv").query("metric == 'auc' and split == 'test'")["n"].item() == 3


def test_argue_on_one_normal_class_learns_partitions_and_the_report_says_so(tmp_path):
    spec = __import__("adray.data", fromlist=["get_spec"]).get_spec("breast_cancer")
    setting = spec.setting()
    assert len(setting.normal) == 1
    from adray.detectors.argue import ARGUE

    params = {**ARGUE.smoke_params, "n_clusters": 2}
    trial = TrialConfig("argue", "breast_cancer", setting, 1, params)
    ledger = Ledger.new("argue", {}, [trial])
    write_ledger(tmp_path, ledger)
    outcome = run_trial(trial, load("breast_cancer"), tmp_path / ledger.dirname(0), lambda m, s: None)
    assert outcome["status"] == "ok", outcome["error"]
    assert outcome["fit_info"]["partitions"] == "clusters" and outcome["fit_info"]["experts"] == 2
    make_report(tmp_path, plots=False)
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "## Chosen configurations" in summary and '"partitions": "clusters"' in summary


def test_any_recorded_metric_fills_the_table_and_paper_metrics_print_side_by_side(tmp_path):
    setting = get_spec("synthetic").setting()
    trials = [TrialConfig("iforest", "synthetic", setting, seed, {"n_estimators": 20}) for seed in (1, 2)]
    ledger = Ledger.new("m", {}, trials)
    write_ledger(tmp_path, ledger)
    for i, trial in enumerate(trials):
        run_trial(trial, load("synthetic"), tmp_path / ledger.dirname(i), lambda m, s: None)
    result = make_report(tmp_path, metric="f1_macro", plots=False, columns=["precision_macro", "accuracy"],
                         paper=True)
    merged = pd.read_csv(result.report_dir / "merged.csv")
    f1 = merged.query("metric == 'f1_macro' and split == 'test'")["mean"].item()
    assert f"{f1:.2f}" in result.table and "test F1_MACRO" in result.table
    side = pd.read_csv(result.report_dir / "metrics.csv")
    assert list(side.columns[:4]) == ["group", "method", "unit", "n"]
    assert {"precision_macro", "accuracy", "auc"} <= set(side.columns)  # --columns plus iforest's paper metric (AUC)
    text = (result.report_dir / "metrics.md").read_text()
    assert "| mPre | Acc | AUC |" in text and "| iforest | synthetic | 2 |" in text
