"""Variables to model features, fitted on the training events and saved as JSON.

Each variable type has its own encoding:

- ``numeric``, ``boolean``: the value;
- ``categorical``: the level's code (LightGBM splits on it natively), how common the
  level was in training, and, when the levels carry numbers (``"26 to 30"``,
  ``"more than 69000"``, ``"none"``), that number, so ordered bands split in order;
- ``text``: length and share of digits;
- ``ip``: the /16 (IPv4) or /32 (IPv6) network as a category and a private-address flag;
- ``email``: the domain as a category, the length and digit count of the local part;
- ``timestamp``: seconds from it to the event time (an account's age), else its hour;
- the event time itself: hour of day and day of week.

The entity id is never a feature (the model would learn ids); its history is, through
``history.History``. Every feature is named after the variable it came from, so the
model's contributions add up per variable.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

MAX_LEVELS = 1000
NUMERIC_LEVEL_SHARE = 0.8  # of a categorical's levels that must carry a number to add it as a feature
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ZERO_WORDS = frozenset({"none", "new", "no change", "never", "zero"})
_DAY = 86400.0


@dataclass
class VariableEncoding:
    """How one variable becomes features; ``levels`` / ``shares`` / ``numbers`` for categories."""

    name: str
    type: str
    role: str = ""  # "time" for the event time
    levels: list[str] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    numbers: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._codes = {level: float(code) for code, level in enumerate(self.levels)}

    def feature_names(self) -> list[tuple[str, bool]]:
        """(feature name, is categorical) per feature."""
        n = self.name
        if self.role == "time":
            return [(f"{n}.hour", False), (f"{n}.weekday", False)]
        if self.type == "categorical":
            names = [(n, True), (f"{n}.share", False)]
            return names + ([(f"{n}.number", False)] if self.numbers else [])
        if self.type == "text":
            return [(f"{n}.length", False), (f"{n}.digits", False)]
        if self.type == "ip":
            return [(f"{n}.network", True), (f"{n}.private", False)]
        if self.type == "email":
            return [(f"{n}.domain", True), (f"{n}.local_length", False), (f"{n}.local_digits", False)]
        if self.type == "timestamp":
            return [(f"{n}.age", False)]
        return [(n, False)]

    def encode(self, value: Any, event_time: float | None) -> list[float]:
        if self.role == "time":
            if value is None:
                return [math.nan, math.nan]
            return [(value % _DAY) / 3600.0, float((int(value // _DAY) + 3) % 7)]  # 1970-01-01 was a Thursday
        if self.type == "categorical":
            code = self._codes.get(value, math.nan) if value is not None else math.nan
            share = self.shares[int(code)] if not math.isnan(code) else (math.nan if value is None else 0.0)
            row = [code, share]
            if self.numbers:
                row.append(self.numbers.get(value, math.nan) if value is not None else math.nan)
            return row
        if value is None:
            return [math.nan] * len(self.feature_names())
        if self.type == "text":
            return [float(len(value)), sum(ch.isdigit() for ch in value) / max(1, len(value))]
        if self.type == "ip":
            network = ip_network(value)
            return [self._codes.get(network, math.nan), float(ipaddress.ip_address(value).is_private)]
        if self.type == "email":
            local, _, domain = value.rpartition("@")
            return [self._codes.get(domain, math.nan), float(len(local)), float(sum(ch.isdigit() for ch in local))]
        if self.type == "timestamp":
            return [(event_time - value) if event_time is not None else math.nan]
        return [float(value)]


@dataclass
class EventEncoder:
    """The fitted encodings of every variable but the entity."""

    variables: list[VariableEncoding]
    time: str | None = None

    @classmethod
    def fit(
        cls, events: Sequence[Mapping[str, Any]], variables: Mapping[str, str], entity: str | None, time: str | None
    ) -> EventEncoder:
        encodings = []
        for name, kind in variables.items():
            if name == entity:
                continue
            encoding = VariableEncoding(name, kind, role="time" if name == time else "")
            if kind in ("categorical", "ip", "email") and name != time:
                keys = Counter(_level_key(kind, event.get(name)) for event in events)
                keys.pop(None, None)
                ranked = sorted(keys.items(), key=lambda item: (-item[1], item[0]))[:MAX_LEVELS]
                total = max(1, sum(keys.values()))
                encoding.levels = [level for level, _ in ranked]
                encoding.shares = [count / total for _, count in ranked]
                if kind == "categorical":
                    encoding.numbers = numbers_in_levels(encoding.levels)
                encoding.__post_init__()
            encodings.append(encoding)
        return cls(encodings, time)

    @property
    def feature_names(self) -> list[str]:
        return [name for encoding in self.variables for name, _ in encoding.feature_names()]

    @property
    def categorical_indices(self) -> list[int]:
        flags = [is_category for encoding in self.variables for _, is_category in encoding.feature_names()]
        return [index for index, flag in enumerate(flags) if flag]

    @property
    def numeric_indices(self) -> list[int]:
        """Features that are a numeric (or boolean) variable's value itself."""
        flags = [
            encoding.type in ("numeric", "boolean") and not encoding.role
            for encoding in self.variables
            for _ in encoding.feature_names()
        ]
        return [index for index, flag in enumerate(flags) if flag]

    @property
    def feature_variables(self) -> list[str]:
        """The variable each feature came from, feature by feature."""
        return [encoding.name for encoding in self.variables for _ in encoding.feature_names()]

    def transform(self, events: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The feature matrix of checked events (variables in working form)."""
        out = np.empty((len(events), len(self.feature_names)))
        for row, event in enumerate(events):
            event_time = event.get(self.time) if self.time is not None else None
            values: list[float] = []
            for encoding in self.variables:
                values.extend(encoding.encode(event.get(encoding.name), event_time))
            out[row] = values
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"variables": [asdict(encoding) for encoding in self.variables], "time": self.time}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EventEncoder:
        return cls([VariableEncoding(**encoding) for encoding in raw["variables"]], raw.get("time"))


def numbers_in_levels(levels: Sequence[str]) -> dict[str, float]:
    """Level → the number it names, when enough levels name one ("3 to 5" → 4); else empty."""
    numbers = {}
    for level in levels:
        number = _number_of(level)
        if not math.isnan(number):
            numbers[level] = number
    if len(levels) <= 2 or len(numbers) < NUMERIC_LEVEL_SHARE * len(levels):
        return {}
    return numbers


def _number_of(level: str) -> float:
    text = level.strip().lower()
    if text in _ZERO_WORDS:
        return 0.0
    found = [float(match) for match in _NUMBER.findall(text)]
    if not found:
        return math.nan
    number = sum(found) / len(found)
    if "more than" in text or "over" in text or text.endswith("+"):
        number *= 1.1  # above the band's bound, below the next band's
    elif "less than" in text or "under" in text:
        number *= 0.9
    return number


def ip_network(address: str) -> str:
    parsed = ipaddress.ip_address(address)
    prefix = 16 if parsed.version == 4 else 32
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _level_key(kind: str, value: Any) -> str | None:
    if value is None:
        return None
    if kind == "ip":
        return ip_network(value)
    if kind == "email":
        return value.rpartition("@")[2]
    return value
