"""Detection metrics: AUC-ROC, AP, the ROC curve and metrics at a score threshold.

Label 1 = anomaly and higher score = more anomalous everywhere. Threshold metrics follow AMSL
(``adray/data/PROTOCOL.md``): accuracy; precision and recall of the normal and the anomalous class averaged
(macro); and their F1 computed from the two macro averages. The anomaly-class precision, recall and
F1 are reported too, since the other seeds' baselines quote those.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def _binary(y) -> np.ndarray:
    return np.asarray(y).astype(np.int8).ravel()


def auc(y, scores) -> float:
    """AUC-ROC; NaN when only one class is present (undefined, never a fake 0.5)."""
    y = _binary(y)
    if y.min(initial=0) == y.max(initial=0):
        return math.nan
    return float(roc_auc_score(y, scores))


def average_precision(y, scores) -> float:
    y = _binary(y)
    if y.sum() == 0:
        return math.nan
    return float(average_precision_score(y, scores))


def roc(y, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) of the ROC curve; three empty arrays when one class is absent (no curve)."""
    y = _binary(y)
    if y.min(initial=0) == y.max(initial=0):
        return np.array([]), np.array([]), np.array([])
    fpr, tpr, thresholds = roc_curve(y, np.asarray(scores, dtype=np.float64))
    return fpr, tpr, thresholds


def percentile_threshold(train_scores, percentile: float = 98.0) -> float:
    """AMSL's rule: a score at or above this percentile of the training scores is an anomaly."""
    return float(np.percentile(np.asarray(train_scores, dtype=np.float64), percentile))


def threshold_metrics(y, scores, threshold: float) -> dict[str, float]:
    y = _binary(y)
    predicted = (np.asarray(scores) >= threshold).astype(np.int8)
    out = {"threshold": float(threshold), "accuracy": float((predicted == y).mean()) if len(y) else math.nan}
    precisions, recalls = [], []
    for cls in (0, 1):
        chosen, actual = predicted == cls, y == cls
        hits = float((chosen & actual).sum())
        precisions.append(hits / chosen.sum() if chosen.sum() else 0.0)
        recalls.append(hits / actual.sum() if actual.sum() else 0.0)
    out["precision"], out["recall"] = precisions[1], recalls[1]
    out["f1"] = _f1(precisions[1], recalls[1])
    out["precision_macro"], out["recall_macro"] = float(np.mean(precisions)), float(np.mean(recalls))
    out["f1_macro"] = _f1(out["precision_macro"], out["recall_macro"])
    return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def normal_loss(y, scores) -> float:
    """The mean score of the normal rows: the label-free criterion when a split holds no anomaly (lower is
    better: the model finds held-out normal data normal; for a reconstruction model, its loss)."""
    normal = np.asarray(scores, dtype=np.float64)[_binary(y) == 0]
    return float(normal.mean()) if len(normal) else math.nan


def evaluate(y, scores, threshold: float | None = None) -> dict[str, float]:
    """AUC, AP, the normal rows' mean score ("loss") and, when a threshold is given, the threshold metrics."""
    out = {"auc": auc(y, scores), "ap": average_precision(y, scores), "loss": normal_loss(y, scores)}
    if threshold is not None:
        out.update(threshold_metrics(y, scores, threshold))
    return out
