"""The target column: which task it implies, its classes, and its encoding for LightGBM."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.values import category_key, is_missing, to_float

MAX_AUTO_CLASSES = 20  # a numeric target with more distinct integers is a regression target
MAX_CLASSES = 200


@dataclass(frozen=True)
class Target:
    """The task and, for classification, the classes in code order (binary: negative, positive)."""

    name: str
    task: str  # binary | multiclass | regression
    classes: tuple[Any, ...] = ()

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    @property
    def keys(self) -> list[str]:
        """Each class as the string it is matched by (and keyed by in ``probabilities``)."""
        return [category_key(value) for value in self.classes]

    def encode(self, series: pd.Series) -> np.ndarray:
        """Class codes (classification) or floats (regression); NaN for missing or unknown labels."""
        if not self.is_classification:
            return _regression_values(series, self.name)
        index = {key: float(code) for code, key in enumerate(self.keys)}
        return np.asarray([index.get(category_key(value), math.nan) for value in series], dtype=np.float64)

    def code_of(self, label: Any) -> int | None:
        key = category_key(label)
        return self.keys.index(key) if key in self.keys else None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "task": self.task, "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Target:
        return cls(raw["name"], raw["task"], tuple(raw.get("classes", ())))


def fit_target(series: pd.Series, task: str, positive_class: str | None = None) -> Target:
    """Infer the task (when ``task == "auto"``) and the classes of the target column.

    Raises ``InvalidInput`` when the column cannot serve the task: no values, a single
    class, a non-numeric regression target, or more classes than the task allows.
    """
    name = str(series.name)
    present = series[~series.map(is_missing).astype(bool)]
    if present.empty:
        raise InvalidInput(f"target column {name!r} has no values")
    requested = task
    if task == "auto":
        task = _infer_task(present)
    if task == "regression":
        values = _regression_values(present, name)
        if np.unique(values[np.isfinite(values)]).size < 2:
            raise InvalidInput(f"target column {name!r} has a single value; there is nothing to learn")
        return Target(name, "regression")
    classes = _classes(present)
    shown = ", ".join(repr(value) for value in classes[:10])
    if len(classes) < 2:
        raise InvalidInput(f"target column {name!r} has a single class ({shown}); classification needs at least two")
    if requested == "auto":
        task = "binary" if len(classes) == 2 else "multiclass"
    if task == "binary" and len(classes) != 2:
        raise InvalidInput(
            f"task 'binary' needs a target with two classes; column {name!r} has {len(classes)}: {shown}"
        )
    if len(classes) > MAX_CLASSES:
        raise InvalidInput(f"target column {name!r} has {len(classes)} classes; at most {MAX_CLASSES} are supported")
    if task == "binary" and positive_class is not None:
        keys = [category_key(value) for value in classes]
        if positive_class not in keys:
            raise InvalidInput(f"positive_class {positive_class!r} is not a class of {name!r}; classes are {shown}")
        if keys.index(positive_class) == 0:
            classes = classes[::-1]
    return Target(name, task, tuple(classes))


def _infer_task(present: pd.Series) -> str:
    if ptypes.is_bool_dtype(present.dtype) or all(isinstance(v, bool | np.bool_) for v in present.head(1000)):
        return "binary"
    if ptypes.is_numeric_dtype(present.dtype):
        values = present.to_numpy(dtype=np.float64)
        distinct = np.unique(values[np.isfinite(values)])
        if distinct.size <= MAX_AUTO_CLASSES and np.all(np.mod(distinct, 1) == 0):
            return "binary" if distinct.size == 2 else "multiclass"
        return "regression"
    return "multiclass"  # made binary once the classes are counted


def _classes(present: pd.Series) -> list[Any]:
    """Distinct labels as plain Python values, sorted: ints, floats, bools or strings."""
    uniques = present.unique()
    if ptypes.is_bool_dtype(present.dtype) or all(isinstance(v, bool | np.bool_) for v in uniques):
        return sorted({bool(v) for v in uniques})
    if ptypes.is_numeric_dtype(present.dtype):
        numbers = {float(v) for v in uniques if math.isfinite(float(v))}
        return sorted(int(v) if v.is_integer() else v for v in numbers)
    return sorted({category_key(v) for v in uniques})


def _regression_values(series: pd.Series, name: str) -> np.ndarray:
    if ptypes.is_bool_dtype(series.dtype):
        raise InvalidInput(f"task 'regression' needs a numeric target; column {name!r} is boolean")
    if ptypes.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    else:
        out = []
        for row, value in enumerate(series):
            try:
                out.append(to_float(value))
            except ValueError as exc:
                raise InvalidInput(
                    f"task 'regression' needs a numeric target; column {name!r} has {value!r} in row {row}"
                ) from exc
        values = np.asarray(out, dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values
