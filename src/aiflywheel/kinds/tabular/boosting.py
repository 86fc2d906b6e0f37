"""Gradient boosting with LightGBM: early stopping on the validation rows, progress per round."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np

from aiflywheel.errors import KindFailed
from aiflywheel.kernel.kinds import Progress
from aiflywheel.kinds.tabular.params import TabularParams

_OBJECTIVES = {
    "binary": ("binary", "binary_logloss"),
    "multiclass": ("multiclass", "multi_logloss"),
    "regression": ("regression", "l2"),
}
PROGRESS_STEPS = 100  # at most this many progress reports while boosting


def booster_params(task: str, n_classes: int, params: TabularParams) -> dict[str, Any]:
    """LightGBM parameters: quiet, deterministic for a seed, on the cores the job may use."""
    objective, metric = _OBJECTIVES[task]
    config: dict[str, Any] = {
        "objective": objective,
        "metric": metric,
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "min_data_in_leaf": params.min_child_samples,
        "seed": params.seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": 0,  # OpenMP's default: OMP_NUM_THREADS if the executor set a budget, else every core
        "verbose": -1,
    }
    if task == "multiclass":
        config["num_class"] = n_classes
    return config


def fit_booster(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    task: str,
    n_classes: int,
    categorical: list[int],
    params: TabularParams,
    progress: Progress,
    span: tuple[float, float],
) -> tuple[lgb.Booster, int]:
    """Boost until the validation loss stops improving; returns the booster and its best round.

    ``progress`` is called with fractions inside ``span``; whatever it raises (a
    cancelled job) propagates. LightGBM's own errors become ``KindFailed``.
    """
    config = booster_params(task, n_classes, params)
    names = [f"f{index}" for index in range(x_train.shape[1])]
    try:
        train_set = lgb.Dataset(
            x_train, label=y_train, feature_name=names, categorical_feature=categorical, params=config
        )
        valid_set = lgb.Dataset(x_valid, label=y_valid, reference=train_set)
        booster = lgb.train(
            config,
            train_set,
            num_boost_round=params.max_rounds,
            valid_sets=[valid_set],
            valid_names=["validation"],
            callbacks=[
                lgb.early_stopping(params.early_stopping_rounds, first_metric_only=True, verbose=False),
                _reporter(progress, params.max_rounds, span),
            ],
        )
    except lgb.basic.LightGBMError as exc:
        raise KindFailed(f"LightGBM failed to train: {exc}") from exc
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    return booster, int(best)


def _reporter(progress: Progress, max_rounds: int, span: tuple[float, float]) -> Callable[[Any], None]:
    start, end = span
    every = max(1, max_rounds // PROGRESS_STEPS)

    def report(env: Any) -> None:
        done = env.iteration + 1
        if done % every and done != env.end_iteration:
            return
        message = f"boosting round {done}/{max_rounds}"
        if env.evaluation_result_list:
            _, metric, value = env.evaluation_result_list[0][:3]
            message += f", validation {metric} {value:.4f}"
        progress(start + (end - start) * done / max_rounds, message)

    return report


def importance(booster: lgb.Booster, feature_names: list[str], top: int = 20) -> dict[str, float]:
    """Share of the total split gain per feature, largest first, the ``top`` ones."""
    gains = booster.feature_importance(importance_type="gain")
    total = float(np.sum(gains))
    if total <= 0:
        return {}
    ranked = sorted(zip(feature_names, gains, strict=True), key=lambda item: -item[1])[:top]
    return {name: round(float(gain) / total, 6) for name, gain in ranked if gain > 0}
