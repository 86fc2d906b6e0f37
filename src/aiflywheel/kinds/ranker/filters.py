"""Filters and facets on document attributes, as the request states them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aiflywheel.errors import InvalidInput

RANGES = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}


def mask(attributes: pd.DataFrame, filters: Any) -> np.ndarray | None:
    """Which documents pass every filter; None when there is no filter.

    A filter is ``{"column": value}`` (equal), ``{"column": [v1, v2]}`` (any of) or
    ``{"column": {"gte": 10, "lt": 50}}`` (a range on a number).

    >>> frame = pd.DataFrame({"category": ["a", "b", "a"], "price": [5.0, 20.0, 50.0]})
    >>> mask(frame, {"category": "a", "price": {"lt": 30}}).tolist()
    [True, False, False]
    """
    if filters is None or filters == {}:
        return None
    if not isinstance(filters, dict):
        raise InvalidInput(f"'filters' must be an object of attribute: condition (got {filters!r})")
    keep = np.ones(len(attributes), dtype=bool)
    for column, condition in filters.items():
        if column not in attributes.columns:
            known = ", ".join(attributes.columns) or "none"
            raise InvalidInput(f"filter on unknown attribute {column!r}; the index's attributes are: {known}")
        values = attributes[column]
        if isinstance(condition, dict):
            keep &= _range(column, values, condition)
        elif isinstance(condition, list):
            keep &= values.isin(condition).to_numpy()
        else:
            keep &= (values == condition).fillna(False).to_numpy(dtype=bool)
    return keep


def _range(column: str, values: pd.Series, condition: dict) -> np.ndarray:
    if not condition or set(condition) - set(RANGES):
        raise InvalidInput(
            f"filter on {column!r}: a range takes some of {', '.join(RANGES)} (got {sorted(condition)!r})"
        )
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise InvalidInput(f"filter on {column!r}: a range needs a numeric attribute (it holds {values.dtype})")
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    keep = np.ones(len(values), dtype=bool)
    for operator, bound in condition.items():
        if not isinstance(bound, int | float) or isinstance(bound, bool):
            raise InvalidInput(f"filter on {column!r}: {operator!r} needs a number (got {bound!r})")
        with np.errstate(invalid="ignore"):
            keep &= RANGES[operator](numbers, float(bound))
    return keep


def facets(attributes: pd.DataFrame, names: Any, rows: np.ndarray, limit: int = 20) -> dict[str, dict[str, int]]:
    """Counts of each named attribute's values among ``rows`` (the matching documents), most frequent first."""
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise InvalidInput(f"'facets' must be a list of attribute names (got {names!r})")
    out: dict[str, dict[str, int]] = {}
    for name in names:
        if name not in attributes.columns:
            known = ", ".join(attributes.columns) or "none"
            raise InvalidInput(f"facet on unknown attribute {name!r}; the index's attributes are: {known}")
        counts = attributes[name].iloc[rows].dropna().astype(str).value_counts().head(limit)
        out[name] = {str(value): int(count) for value, count in counts.items()}
    return out
