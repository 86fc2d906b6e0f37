"""The detector's model: LightGBM and CatBoost blended, Platt calibration, thresholds for a target rate.

Training boosts each learner on the older events and stops it early on the newer
validation events; the blend is the mean of the learners' log-odds (equal weights,
fixed, not tuned); a logistic fit of the validation labels on the blend (Platt
scaling) turns scores into calibrated probabilities, undoing any class weighting;
each learner is then refit on all the events for the rounds early stopping chose.
Thresholds come from the calibrated validation scores. ``learners="lightgbm"`` keeps
LightGBM alone.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.fraud import catboost_model
from aiflywheel.kinds.fraud.params import FraudParams

REFIT_ROUNDS_FACTOR = 1.15  # more events in the refit support a few more rounds
MIN_GAIN = 1e-5  # a validation log-loss gain below this is no gain: separable data would otherwise boost on


def booster_config(params: FraudParams, y: np.ndarray) -> dict[str, Any]:
    config: dict[str, Any] = {
        "objective": "binary",
        "metric": "binary_logloss",
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "min_data_in_leaf": params.min_child_samples,
        "feature_fraction": 0.7,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 5.0,
        "cat_smooth": 20.0,
        "min_data_per_group": 50,
        "seed": params.seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": 0,
        "verbose": -1,
    }
    positives = max(1.0, float(np.sum(y == 1)))
    ratio = float(np.sum(y == 0)) / positives
    if params.positive_weight == "balanced":
        config["scale_pos_weight"] = ratio
    elif params.positive_weight == "sqrt":
        config["scale_pos_weight"] = float(np.sqrt(ratio))
    return config


def fit(
    x: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    names: list[str],
    categorical: list[int],
    params: FraudParams,
    catboost_categories: list[int] | None = None,
) -> tuple[lgb.Booster, Any, Calibrator, np.ndarray, dict[str, int]]:
    """(booster and CatBoost model (None for LightGBM alone) refit on train+valid, calibrator,
    calibrated validation scores, rounds per learner). CatBoost takes ``catboost_categories``
    (default: ``categorical``) as categories."""
    catboost_categories = categorical if catboost_categories is None else catboost_categories
    config = booster_config(params, y[train])
    try:
        train_set = lgb.Dataset(
            x[train], y[train], feature_name=names, categorical_feature=categorical, params=config, free_raw_data=False
        )
        valid_set = lgb.Dataset(x[valid], y[valid], reference=train_set)
        booster = lgb.train(
            config,
            train_set,
            params.max_rounds,
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False, min_delta=MIN_GAIN)],
        )
        rounds = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
        raw_valid = booster.predict(x[valid], num_iteration=rounds, raw_score=True)
        both = np.sort(np.concatenate([train, valid]))
        refit_rounds = max(1, round(rounds * REFIT_ROUNDS_FACTOR))
        refit = lgb.train(
            config,
            lgb.Dataset(x[both], y[both], feature_name=names, categorical_feature=categorical, params=config),
            refit_rounds,
        )
    except lgb.basic.LightGBMError as exc:
        raise KindFailed(f"LightGBM failed to train: {exc}") from exc
    all_rounds = {"lightgbm": int(rounds)}
    second = None
    if params.learners == "lightgbm+catboost":
        second, stopped, all_rounds["catboost"] = catboost_model.fit(
            x,
            y,
            train,
            valid,
            catboost_categories,
            params.seed,
            params.max_rounds,
            params.early_stopping_rounds,
            config.get("scale_pos_weight"),
        )
        inputs = catboost_model.CatBoostInput(x.shape[1], catboost_categories)
        raw_valid = blend([raw_valid, catboost_model.raw_scores(stopped, inputs, x[valid])])
    calibrator = Calibrator.fit(raw_valid, y[valid])
    return refit, second, calibrator, calibrator(raw_valid), all_rounds


def blend(raw_scores: list[np.ndarray]) -> np.ndarray:
    """The learners' log-odds averaged with equal weights."""
    return np.mean(raw_scores, axis=0)


class Calibrator:
    """Platt scaling: P(fraud) = sigmoid(a · log-odds + b)."""

    def __init__(self, slope: float, intercept: float):
        self.slope, self.intercept = slope, intercept

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        if np.unique(y).size < 2:
            return cls(1.0, 0.0)
        model = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y.astype(int))
        return cls(float(model.coef_[0, 0]), float(model.intercept_[0]))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * np.asarray(raw) + self.intercept)))

    def to_dict(self) -> dict[str, float]:
        return {"slope": self.slope, "intercept": self.intercept}


def threshold_for_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> float:
    """The lowest score threshold flagging at most ``fpr`` of the legitimate events."""
    legitimate = np.sort(score[y == 0])
    if legitimate.size == 0:
        return 0.5
    allowed = int(np.floor(fpr * legitimate.size))  # legitimate events that may sit at or above it
    if allowed == 0:
        return float(np.nextafter(legitimate[-1], np.inf))
    return float(np.nextafter(legitimate[-allowed - 1], np.inf))


def threshold_for_precision(y: np.ndarray, score: np.ndarray, precision: float) -> float | None:
    """The lowest threshold whose flagged events are at least ``precision`` fraud; None if none is."""
    order = np.argsort(-score, kind="stable")
    hits = np.cumsum(y[order] == 1)
    flagged = np.arange(1, len(order) + 1)
    reaching = np.nonzero(hits / flagged >= precision)[0]
    if reaching.size == 0:
        return None
    return float(score[order][reaching[-1]])


def rates_at(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """Catch rate (recall), false-positive rate and precision when flagging ``score >= threshold``."""
    flagged = score >= threshold
    fraud, legitimate = y == 1, y == 0
    caught = float(np.sum(flagged & fraud))
    return {
        "threshold": float(threshold),
        "catch_rate": caught / max(1, int(fraud.sum())),
        "false_positive_rate": float(np.sum(flagged & legitimate)) / max(1, int(legitimate.sum())),
        "precision": caught / max(1, int(flagged.sum())),
    }


def recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> float:
    return rates_at(y, score, threshold_for_fpr(y, score, fpr))["catch_rate"]


def quality(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """PR-AUC, ROC-AUC, recall at 1% and 5% FPR, Brier score."""
    metrics = {"brier": float(np.mean((score - y) ** 2))}
    if np.unique(y).size == 2:
        metrics.update(
            pr_auc=float(average_precision_score(y, score)),
            roc_auc=float(roc_auc_score(y, score)),
            recall_at_1pct_fpr=recall_at_fpr(y, score, 0.01),
            recall_at_5pct_fpr=recall_at_fpr(y, score, 0.05),
        )
    return metrics
