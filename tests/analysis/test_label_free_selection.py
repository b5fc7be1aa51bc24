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
