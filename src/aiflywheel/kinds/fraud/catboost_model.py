"""The detector's second learner: CatBoost, whose ordered target statistics suit categorical events.

CatBoost encodes each category (and combinations of categories) by the fraud rate of
the events seen before it in a random order, so a level's statistic never includes
its own label; on claims-like events, where fraud hides in combinations of a few
categorical variables, it ranks better than LightGBM's native category splits, and
the two blended rank better than either (``docs/benchmarks.md``).

The kind's feature matrix goes in as is: categorical features (level codes) as
CatBoost categories, and so are numeric variables with few distinct values (a
deductible, a driver rating, a year: their levels' fraud rates matter more than
their order; on the vehicle-claims set this was worth +10 points of PR-AUC for
CatBoost); every other feature is a number. CatBoost chooses its own
learning rate for the round budget; trees are 6 levels deep (its default).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from catboost import CatBoost, CatBoostClassifier, CatBoostError, FeaturesData, Pool

from aiflywheel.errors import KindFailed

REFIT_ROUNDS_FACTOR = 1.15  # as LightGBM's: more events in the refit support a few more rounds
MISSING = "missing"
MAX_NUMBER_LEVELS = 100  # a numeric variable with at most this many distinct values is also a category ...
ROWS_PER_LEVEL = 20  # ... and with at least this many training events per value


def categories(x: np.ndarray, categorical: list[int], numeric: list[int]) -> list[int]:
    """The features CatBoost takes as categories: the categorical ones and the few-valued numeric variables."""
    limit = min(MAX_NUMBER_LEVELS, len(x) // ROWS_PER_LEVEL)
    few_valued = [index for index in numeric if np.unique(x[~np.isnan(x[:, index]), index]).size <= limit]
    return sorted([*categorical, *few_valued])


class CatBoostInput:
    """The kind's features as CatBoost's numeric and categorical blocks (its flat order: numbers, then categories)."""

    def __init__(self, features: int, categorical: list[int]):
        self.categorical = list(categorical)
        self.numeric = [index for index in range(features) if index not in set(categorical)]
        self.flat_to_feature = np.array(self.numeric + self.categorical, dtype=np.int64)

    def pool(self, x: np.ndarray, y: np.ndarray | None = None) -> Pool:
        levels = x[:, self.categorical]
        names = levels.astype(str).astype(object)
        names[np.isnan(levels)] = MISSING
        data = FeaturesData(
            num_feature_data=np.ascontiguousarray(x[:, self.numeric], dtype=np.float32) if self.numeric else None,
            cat_feature_data=names if self.categorical else None,
        )
        return Pool(data, label=y)


def config(seed: int, max_rounds: int, early_stopping_rounds: int) -> dict[str, Any]:
    return {
        "iterations": max_rounds,
        "depth": 6,
        "loss_function": "Logloss",
        "random_seed": seed,
        "thread_count": -1,
        "allow_writing_files": False,
        "verbose": 0,
        "od_type": "Iter",
        "od_wait": early_stopping_rounds,
    }


def fit(
    x: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    categorical: list[int],
    seed: int,
    max_rounds: int,
    early_stopping_rounds: int,
    positive_weight: float | None,
) -> tuple[CatBoost, CatBoost, int]:
    """(model refit on train+valid, the early-stopped model, rounds): early stopping on ``valid`` like LightGBM's."""
    inputs = CatBoostInput(x.shape[1], categorical)
    settings = config(seed, max_rounds, early_stopping_rounds)
    if positive_weight is not None:
        settings["scale_pos_weight"] = positive_weight
    try:
        stopped = CatBoostClassifier(**settings, use_best_model=True)
        stopped.fit(inputs.pool(x[train], y[train]), eval_set=inputs.pool(x[valid], y[valid]))
        rounds = max(1, stopped.get_best_iteration() + 1)
        refit_settings = {key: value for key, value in settings.items() if not key.startswith("od_")}
        refit_rounds = max(1, round(rounds * REFIT_ROUNDS_FACTOR))
        refit_settings.update(iterations=refit_rounds, learning_rate=stopped.learning_rate_)
        both = np.sort(np.concatenate([train, valid]))
        refit = CatBoostClassifier(**refit_settings).fit(inputs.pool(x[both], y[both]))
    except CatBoostError as exc:
        raise KindFailed(f"CatBoost failed to train: {exc}") from exc
    return refit, stopped, rounds


def raw_scores(model: CatBoost, inputs: CatBoostInput, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(inputs.pool(x), prediction_type="RawFormulaVal", thread_count=1))


def split_features(document: dict[str, Any]) -> dict[int, list[int]]:
    """``split_index`` → the flat features the split reads, for every split of the model's trees.

    CatBoost numbers its binary features: the borders of every float feature, then the
    values of every one-hot feature, then the borders of every target statistic (whose
    ``elements`` name the categories it combines). A split names its index and border;
    each border is checked against the numbering so a change of format cannot
    misattribute silently.
    """
    info = document["features_info"]
    flat_float = {f["feature_index"]: f["flat_feature_index"] for f in info.get("float_features", [])}
    flat_category = {f["feature_index"]: f["flat_feature_index"] for f in info.get("categorical_features", [])}
    numbering: list[tuple[list[int], float | None]] = []
    for feature in info.get("float_features", []):
        numbering += [([feature["flat_feature_index"]], border) for border in feature.get("borders") or []]
    for feature in info.get("categorical_features", []):  # a one-hot category lists its values
        numbering += [([feature["flat_feature_index"]], None) for _ in feature.get("values") or []]
    for statistic in info.get("ctrs", []):
        combined = sorted(
            {
                flat_category[element["cat_feature_index"]]
                if "cat_feature_index" in element
                else flat_float[element["float_feature_index"]]
                for element in statistic["elements"]
            }
        )
        numbering += [(combined, border) for border in statistic["borders"]]
    by_index: dict[int, list[int]] = {}
    for tree in document["oblivious_trees"]:
        for split in tree["splits"] or []:  # a tree without splits is a constant
            index = int(split["split_index"])
            if split["split_type"] == "OneHotFeature":
                by_index[index] = [flat_category[split["cat_feature_index"]]]
                continue
            features, border = numbering[index] if index < len(numbering) else ([], None)
            if border is None or not math.isclose(border, split["border"], rel_tol=1e-6, abs_tol=1e-6):
                raise KindFailed(f"CatBoost split {index} does not match the model's feature numbering")
            by_index[index] = features
    return by_index
