"""Event types: a named schema of typed variables, inferred from a dataset, checked on every event.

Checking an event converts each variable to its working form (numbers as floats,
categories as strings, timestamps and the event time as epoch seconds) and raises
``InvalidInput`` naming the event, the variable, what was expected and what came.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pandas.api import types as ptypes

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.values import category_key, is_missing, to_flag, to_float, to_timestamp
from aiflywheel.kinds.fraud.params import FraudParams

EVENT_TYPE_KEY = "event_type"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_EPOCH = pd.Timestamp("1970-01-01")
MIN_ROWS_FOR_IDENTIFIER = 20
TEXT_MIN_MEAN_LENGTH = 30


@dataclass(frozen=True)
class EventSchema:
    """The event type: its name, variables (name → type), which are required, and the special roles."""

    name: str
    variables: dict[str, str]
    required: list[str]
    entity: str | None = None
    time: str | None = None
    dropped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def infer(cls, frame: pd.DataFrame, params: FraudParams) -> EventSchema:
        """The schema of ``params`` where given, else typed from the dataset's columns."""
        skip = {params.target: "target", **{name: "excluded by params" for name in params.exclude}}
        dropped: dict[str, str] = {}
        if params.variables is not None:
            variables = dict(params.variables)
        else:
            variables = {}
            for name in frame.columns:
                name = str(name)
                if name in skip:
                    dropped[name] = skip[name]
                    continue
                kind, reason = _infer(frame[name], name in (params.entity_column, params.time_column))
                if kind is None:
                    dropped[name] = reason
                else:
                    variables[name] = kind
        for role in (params.entity_column, params.time_column):
            if role is not None and role not in variables:
                variables[role] = "categorical" if role == params.entity_column else "timestamp"
        if params.entity_column is not None:
            variables[params.entity_column] = "categorical"
        if params.time_column is not None and variables[params.time_column] not in ("numeric", "timestamp"):
            raise InvalidInput(f"time column {params.time_column!r} must be numeric (seconds) or a timestamp")
        required = params.required
        if required is None:
            required = [name for name in (params.entity_column, params.time_column) if name is not None]
        unknown = [name for name in required if name not in variables]
        if unknown:
            raise InvalidInput(f"required variables {unknown} are not variables of the event type")
        return cls(params.event_type, variables, list(required), params.entity_column, params.time_column, dropped)

    def check(self, event: Any, position: int) -> dict[str, Any]:
        """One event in working form; ``InvalidInput`` names the event and the variable."""
        if not isinstance(event, Mapping):
            raise InvalidInput(f"event {position}: expected an object of variables, got {type(event).__name__}")
        declared = event.get(EVENT_TYPE_KEY)
        if declared is not None and declared != self.name:
            raise InvalidInput(f"event {position}: unknown event type {declared!r}; this detector scores {self.name!r}")
        checked: dict[str, Any] = {}
        for name, kind in self.variables.items():
            value = event.get(name)
            try:
                converted = convert(kind, value)
            except ValueError as exc:
                raise InvalidInput(f"event {position}: variable {name!r} ({kind}) {exc}") from exc
            if converted is None and name in self.required:
                raise InvalidInput(f"event {position}: required variable {name!r} ({kind}) is missing")
            checked[name] = converted
        return checked

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "variables": self.variables,
            "required": self.required,
            "entity": self.entity,
            "time": self.time,
            "dropped": self.dropped,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EventSchema:
        return cls(
            raw["name"],
            dict(raw["variables"]),
            list(raw["required"]),
            raw.get("entity"),
            raw.get("time"),
            dict(raw.get("dropped", {})),
        )


def convert(kind: str, value: Any) -> Any:
    """The working form of one value of a variable of type ``kind``; None when missing."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dict | list | tuple | set):
        raise ValueError(f"expected a single value, got {type(value).__name__}")
    if kind == "numeric":
        number = to_float(value)
        return None if math.isnan(number) else number
    if kind == "boolean":
        return to_flag(value)
    if kind == "timestamp":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)  # already epoch seconds
        return (to_timestamp(value) - _EPOCH) / pd.Timedelta(1, "s")
    text = category_key(value)
    if kind == "ip":
        try:
            return str(ipaddress.ip_address(text.strip()))
        except ValueError:
            raise ValueError(f"expected an IP address, got {value!r}") from None
    if kind == "email":
        if not _EMAIL.match(text.strip()):
            raise ValueError(f"expected an email address, got {value!r}")
        return text.strip().lower()
    return text


def _infer(series: pd.Series, has_role: bool) -> tuple[str | None, str]:
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype):
        return "boolean", ""
    if ptypes.is_datetime64_any_dtype(dtype):
        return "timestamp", ""
    present = series.dropna()
    if ptypes.is_numeric_dtype(dtype):
        if present.nunique() <= 1 and not has_role:
            return None, "constant"
        return "numeric", ""
    if not (ptypes.is_object_dtype(dtype) or ptypes.is_string_dtype(dtype)):
        return None, f"unsupported type {dtype}"
    sample = [str(value).strip() for value in present.head(500)]
    if not sample or len(set(sample)) <= 1 and not has_role:
        return None, "constant"
    if all(_EMAIL.match(value) for value in sample):
        return "email", ""
    if all(_is_ip(value) for value in sample):
        return "ip", ""
    if all(_ISO_DATE.match(value) for value in sample):
        return "timestamp", ""
    distinct = present.nunique()
    if not has_role and len(present) >= MIN_ROWS_FOR_IDENTIFIER and distinct == len(present):
        mean_length = sum(map(len, sample)) / len(sample)
        if mean_length >= TEXT_MIN_MEAN_LENGTH and any(" " in value for value in sample):
            return "text", ""
        return None, "identifier (a different value in every row)"
    return "categorical", ""


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
