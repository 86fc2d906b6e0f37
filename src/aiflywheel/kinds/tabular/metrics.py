"""Held-out metrics of the model and of the trivial baseline it must beat.

Binary: roc_auc, pr_auc (average precision), accuracy, f1 (of the positive class at the
chosen threshold), log_loss. Multiclass: accuracy, f1 (macro), log_loss, roc_auc
(one-vs-rest, macro over the classes present). Regression: rmse, mae, r2.
The baseline predicts the training class priors (classification; labels: the majority
class) or the training mean (regression).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve, roc_auc_score

_EPS = 1e-15


def classification_metrics(y: np.ndarray, proba: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Metrics from class codes ``y``, probabilities ``proba`` (rows × classes) and predicted codes."""
    y = y.astype(int)
    n_classes = proba.shape[1]
    metrics = {
        "accuracy": float(np.mean(predicted == y)),
        "log_loss": log_loss(y, proba),
    }
    if n_classes == 2:
        metrics["f1"] = _positive_f1(y, predicted)
        if np.unique(y).size == 2:
            metrics["roc_auc"] = float(roc_auc_score(y, proba[:, 1]))
            metrics["pr_auc"] = float(average_precision_score(y, proba[:, 1]))
        return metrics
    metrics["f1"] = float(f1_score(y, predicted, average="macro", zero_division=0))
    aucs = [roc_auc_score(y == code, proba[:, code]) for code in range(n_classes) if 0 < np.sum(y == code) < len(y)]
    if aucs:
        metrics["roc_auc"] = float(np.mean(aucs))
    return metrics


def _positive_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    true_positives = float(np.sum((predicted == 1) & (y == 1)))
    errors = float(np.sum(predicted != y))
    return 2 * true_positives / (2 * true_positives + errors) if true_positives else 0.0


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    errors = predicted - y
    total = float(np.sum((y - y.mean()) ** 2))
    metrics = {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
    }
    if total > 0:
        metrics["r2"] = 1.0 - float(np.sum(errors**2)) / total
    return metrics


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class, probabilities clipped away from zero."""
    chosen = proba[np.arange(len(y)), y.astype(int)]
    return float(-np.mean(np.log(np.clip(chosen, _EPS, 1.0))))


def class_priors(y_fit: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y_fit.astype(int), minlength=n_classes).astype(np.float64)
    return counts / counts.sum()


def baseline_metrics(task: str, y_fit: np.ndarray, y_test: np.ndarray, n_classes: int = 0) -> dict[str, float]:
    """The trivial model's metrics, each named ``baseline_<metric>``."""
    if task == "regression":
        metrics = regression_metrics(y_test, np.full(len(y_test), float(np.mean(y_fit))))
    else:
        priors = class_priors(y_fit, n_classes)
        proba = np.tile(priors, (len(y_test), 1))
        metrics = classification_metrics(y_test, proba, np.full(len(y_test), int(np.argmax(priors))))
    return {f"baseline_{name}": value for name, value in metrics.items()}


def best_f1_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The score threshold maximising F1 of the positive class (0.5 without both classes)."""
    if np.unique(y).size < 2:
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y.astype(int), score)
    precision, recall = precision[:-1], recall[:-1]
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0)
    return float(thresholds[int(np.argmax(f1))])
