"""Automatic features: type each column, drop useless ones, encode the rest as a float matrix.

A column becomes one of four feature types:

- ``numeric``: used as is (NaN for missing);
- ``boolean``: 0/1;
- ``datetime`` (a datetime column or ISO 8601 strings): year, month, day, weekday,
  hour and epoch seconds, minus the parts that never vary;
- ``categorical`` (anything else): codes of the most frequent levels seen in
  training, which LightGBM splits on natively; unseen or rare levels are missing.

Columns that are constant or that identify rows (distinct in every row, like a
policy number) are dropped with a reason. The fitted pipeline is plain JSON.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.values import category_key, is_missing, to_flag, to_float, to_timestamp

MAX_CATEGORIES = 1000
MIN_ROWS_FOR_IDENTIFIER = 20
DATETIME_PARTS = ("year", "month", "day", "day_of_week", "hour", "epoch")
# The time column orders the split; its absolute parts would only extrapolate.
CYCLIC_PARTS = ("month", "day", "day_of_week", "hour")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ID_SUFFIXES = ("id", "uuid", "guid", "number", "_no", "key")
_EPOCH = pd.Timestamp("1970-01-01")


@dataclass
class ColumnSpec:
    """How one input column becomes features."""

    name: str
    type: str  # numeric | boolean | categorical | datetime
    categories: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def code_of(self, value: Any) -> float:
        """The category code of ``value``; NaN for missing, rare or unseen values."""
        index = self.__dict__.get("_index")
        if index is None:
            index = self.__dict__["_index"] = {key: float(code) for code, key in enumerate(self.categories)}
        return index.get(category_key(value), math.nan)

    def feature_names(self) -> list[str]:
        if self.type == "datetime":
            return [f"{self.name}.{part}" for part in self.parts]
        return [self.name]


@dataclass
class FeaturePipeline:
    """The fitted column typing and encoding, saved next to the model as JSON."""

    columns: list[ColumnSpec]
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [name for spec in self.columns for name in spec.feature_names()]

    @property
    def categorical_indices(self) -> list[int]:
        indices, position = [], 0
        for spec in self.columns:
            if spec.type == "categorical":
                indices.append(position)
            position += len(spec.feature_names())
        return indices

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        logical: Mapping[str, str],
        skip: Mapping[str, str],
        time_column: str | None = None,
    ) -> FeaturePipeline:
        """Type every column of ``frame`` except those in ``skip`` (name → reason to record)."""
        columns: list[ColumnSpec] = []
        dropped: dict[str, str] = {}
        for name in frame.columns:
            name = str(name)
            if name in skip:
                dropped[name] = skip[name]
                continue
            spec, reason = _fit_column(frame[name], name, logical.get(name), name == time_column)
            if spec is None:
                dropped[name] = reason
            else:
                columns.append(spec)
        return cls(columns, dropped)

    def transform(self, frame: pd.DataFrame, strict: bool = False) -> np.ndarray:
        """The float feature matrix; ``strict`` raises ``InvalidInput`` on unconvertible values."""
        n = len(frame)
        blocks = []
        for spec in self.columns:
            if spec.name in frame.columns:
                series = frame[spec.name].reset_index(drop=True)
            else:
                series = pd.Series([None] * n, dtype=object)
            blocks.extend(_encode(spec, series, strict))
        if not blocks:
            return np.empty((n, 0))
        return np.column_stack(blocks).astype(np.float64, copy=False)

    def transform_rows(self, batch: list[Mapping[str, Any]]) -> np.ndarray:
        """``transform(frame_from_batch(batch), strict=True)`` without pandas: the serving hot path.

        Building a DataFrame costs milliseconds per request; converting a request column by
        column costs microseconds. ``tests/kinds`` checks that both paths agree.
        """
        check_batch(batch)
        out = np.full((len(batch), len(self.feature_names)), np.nan, dtype=np.float64)
        position = 0
        for spec in self.columns:
            values = [row.get(spec.name) for row in batch]
            width = len(spec.feature_names())
            if spec.type == "numeric":
                out[:, position] = _numeric_values(values, spec.name)
            elif spec.type == "boolean":
                out[:, position] = _convert_each(values, to_flag, spec.name)
            elif spec.type == "categorical":
                out[:, position] = [spec.code_of(value) for value in values]
            else:
                for row_index, stamp in enumerate(_convert_each(values, to_timestamp, spec.name)):
                    if stamp is not pd.NaT:
                        out[row_index, position : position + width] = [_stamp_part(stamp, part) for part in spec.parts]
            position += width
        return out

    def frame_from_batch(self, batch: Any) -> pd.DataFrame:
        """A prediction batch (a list of feature dicts) as object columns; extra keys are ignored."""
        check_batch(batch)
        return pd.DataFrame(
            {spec.name: pd.Series([row.get(spec.name) for row in batch], dtype=object) for spec in self.columns},
            index=pd.RangeIndex(len(batch)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [asdict(spec) for spec in self.columns], "dropped": dict(self.dropped)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeaturePipeline:
        return cls([ColumnSpec(**spec) for spec in raw["columns"]], dict(raw.get("dropped", {})))


def check_batch(batch: Any) -> None:
    if not isinstance(batch, list):
        raise InvalidInput(f"a batch must be a list of objects, got {type(batch).__name__}")
    for index, row in enumerate(batch):
        if not isinstance(row, Mapping):
            raise InvalidInput(f"row {index}: expected an object of feature values, got {type(row).__name__}")


def _numeric_values(values: list[Any], name: str) -> np.ndarray | list[float]:
    try:  # numbers, None and numeric strings convert in one C call; anything else takes the careful path
        array = np.asarray(values, dtype=np.float64)
        if array.shape == (len(values),):
            return array
    except (TypeError, ValueError):
        pass
    return _convert_each(values, to_float, name)


def _convert_each(values: list[Any], convert: Callable[[Any], Any], name: str) -> list[Any]:
    converted = []
    for row_index, value in enumerate(values):
        try:
            converted.append(convert(value))
        except ValueError as exc:
            raise InvalidInput(f"row {row_index}: field {name!r} {exc}") from exc
    return converted


def _stamp_part(stamp: pd.Timestamp, part: str) -> float:
    if part == "epoch":
        return (stamp - _EPOCH) / pd.Timedelta(1, "s")
    return float(getattr(stamp, part))


# --- fitting ---------------------------------------------------------------------------------


def _fit_column(series: pd.Series, name: str, logical: str | None, is_time: bool) -> tuple[ColumnSpec | None, str]:
    kind = infer_type(series, logical)
    if kind is None:
        return None, f"unsupported type {series.dtype}"
    if is_time and kind != "datetime":
        return None, "time column (orders the split; not a datetime, so not a feature)"
    n = len(series)
    if kind == "datetime":
        stamps = _timestamps(series, strict=False, name=name)
        wanted = CYCLIC_PARTS if is_time else DATETIME_PARTS
        parts = [part for part in wanted if _varies(_datetime_part(stamps, part))]
        if not parts:
            return None, "constant (one value in every row)"
        return ColumnSpec(name, "datetime", parts=parts), ""
    if kind == "categorical":
        counts = _key_counts(series)
        present = sum(counts.values())
        if len(counts) + (present < n) <= 1:
            return None, "constant (one value in every row)"
        if present >= MIN_ROWS_FOR_IDENTIFIER and len(counts) == present:
            return None, "identifier (a different value in every row)"
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_CATEGORIES]
        return ColumnSpec(name, "categorical", categories=[key for key, _ in ranked]), ""
    values = _numbers(series, strict=False, name=name) if kind == "numeric" else _flags(series, False, name)
    if not _varies(values):
        return None, "constant (one value in every row)"
    if kind == "numeric" and _is_row_number(values, name):
        return None, "identifier (a different integer in every row)"
    return ColumnSpec(name, kind), ""


def infer_type(series: pd.Series, logical: str | None = None) -> str | None:
    """numeric | boolean | categorical | datetime, or None when the column cannot be a feature."""
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_timedelta64_dtype(dtype) or ptypes.is_complex_dtype(dtype):
        return None
    if ptypes.is_numeric_dtype(dtype):
        return "categorical" if logical == "categorical" else "numeric"
    if not (ptypes.is_object_dtype(dtype) or ptypes.is_string_dtype(dtype)):
        return None
    sample = [value for value in series.dropna().head(500) if not is_missing(value)]
    if sample and all(isinstance(value, bool | np.bool_) for value in sample):
        return "boolean"
    if sample and all(isinstance(v, int | float | Decimal | np.number) and not isinstance(v, bool) for v in sample):
        return "numeric"
    if sample and all(isinstance(value, dt.date | np.datetime64) for value in sample):  # Arrow dates
        return "datetime"
    if logical in ("numeric", "boolean") and _all_convert(sample, to_float if logical == "numeric" else to_flag):
        return logical
    if logical == "datetime" or (
        sample and all(isinstance(value, str) and _ISO_DATE.match(value.strip()) for value in sample)
    ):
        return "datetime"
    return "categorical"


def _all_convert(sample: list[Any], convert: Callable[[Any], Any]) -> bool:
    try:
        for value in sample:
            convert(value)
    except ValueError:
        return False
    return bool(sample)


def _key_counts(series: pd.Series) -> Counter[str]:
    counts: Counter[str] = Counter()
    try:
        for value, count in series.value_counts(dropna=True).items():
            key = category_key(value)
            if key is not None:
                counts[key] += int(count)
    except TypeError:  # unhashable values (lists, dicts) in an object column
        counts.update(key for key in map(category_key, series) if key is not None)
    return counts


def _varies(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    distinct = np.unique(present).size + (present.size < values.size)
    return distinct > 1


def _is_row_number(values: np.ndarray, name: str) -> bool:
    """Distinct integers in every row that are dense (a row counter) or named like an identifier."""
    n = values.size
    if n < MIN_ROWS_FOR_IDENTIFIER or np.isnan(values).any() or not np.all(np.mod(values, 1) == 0):
        return False
    if np.unique(values).size != n:
        return False
    dense = values.max() - values.min() + 1 <= 2 * n
    return dense or name.lower().endswith(_ID_SUFFIXES)


# --- encoding --------------------------------------------------------------------------------


def _encode(spec: ColumnSpec, series: pd.Series, strict: bool) -> list[np.ndarray]:
    if spec.type == "numeric":
        return [_numbers(series, strict, spec.name)]
    if spec.type == "boolean":
        return [_flags(series, strict, spec.name)]
    if spec.type == "datetime":
        stamps = _timestamps(series, strict, spec.name)
        return [_datetime_part(stamps, part) for part in spec.parts]
    return [_codes(series, spec.categories)]


def _each(series: pd.Series, convert: Callable[[Any], Any], missing: Any, strict: bool, name: str) -> list:
    out = []
    for row, value in enumerate(series):
        try:
            out.append(convert(value))
        except ValueError as exc:
            if strict:
                raise InvalidInput(f"row {row}: field {name!r} {exc}") from exc
            out.append(missing)
    return out


def _numbers(series: pd.Series, strict: bool, name: str) -> np.ndarray:
    if ptypes.is_bool_dtype(series.dtype) or ptypes.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(_each(series, to_float, math.nan, strict, name), dtype=np.float64)


def _flags(series: pd.Series, strict: bool, name: str) -> np.ndarray:
    if ptypes.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(_each(series, to_flag, math.nan, strict, name), dtype=np.float64)


def _timestamps(series: pd.Series, strict: bool, name: str) -> pd.Series:
    if ptypes.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is not None:
            return series.dt.tz_convert("UTC").dt.tz_localize(None)
        return series
    stamps = _each(series, to_timestamp, pd.NaT, strict, name)
    return pd.to_datetime(pd.Series(stamps, dtype=object), errors="coerce")


def _datetime_part(stamps: pd.Series, part: str) -> np.ndarray:
    if part == "epoch":
        seconds = (stamps - _EPOCH) / pd.Timedelta(1, "s")
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    return getattr(stamps.dt, part).to_numpy(dtype=np.float64, na_value=np.nan)


def _codes(series: pd.Series, categories: list[str]) -> np.ndarray:
    index = {key: float(code) for code, key in enumerate(categories)}
    if ptypes.is_object_dtype(series.dtype):  # mixed Python values: 1 and True must not collide
        return np.asarray([index.get(category_key(value), math.nan) for value in series], dtype=np.float64)
    mapping = {value: index.get(category_key(value), math.nan) for value in series.dropna().unique()}
    return series.map(mapping).to_numpy(dtype=np.float64, na_value=np.nan)
