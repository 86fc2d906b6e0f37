"""Conversion of single cell values (as they arrive in a prediction request) to model inputs.

Each converter returns the converted value, a missing marker for an absent value,
or raises ``ValueError`` when the value cannot mean what the column expects; the
caller names the row and the field.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def is_missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA are missing; so is a blank string for typed columns."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def category_key(value: Any) -> str | None:
    """The string a categorical value (or a class label) is matched by: 1, 1.0 and "1" agree."""
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def to_float(value: Any) -> float:
    """A number, a numeric string or a boolean as a float; missing or blank as NaN."""
    if is_missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating | Decimal):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        return math.nan if not text else float(text)
    raise ValueError(f"expected a number, got {value!r}")


def to_flag(value: Any) -> float:
    """A boolean, 0/1 or a yes/no word as 0.0/1.0; missing or blank as NaN."""
    if is_missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return math.nan
        if text in _TRUE:
            return 1.0
        if text in _FALSE:
            return 0.0
    raise ValueError(f"expected true or false, got {value!r}")


def to_timestamp(value: Any) -> pd.Timestamp:
    """A date, datetime or ISO 8601 string as a naive UTC timestamp; missing or blank as NaT."""
    if is_missing(value):
        return pd.NaT
    if isinstance(value, str) and not value.strip():
        return pd.NaT
    if not isinstance(value, str | dt.date | dt.datetime | np.datetime64 | pd.Timestamp):
        raise ValueError(f"expected a date or datetime, got {value!r}")
    try:
        stamp = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"expected a date or datetime, got {value!r}") from exc
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp
