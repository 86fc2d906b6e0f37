"""Context to a feature vector: a bias, the slot one-hot, numbers standardised, text one-hot (top levels)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aiflywheel.errors import InvalidInput


@dataclass
class FeatureMap:
    slots: list[str]
    numeric: dict[str, tuple[float, float]] = field(default_factory=dict)  # column → (mean, std)
    levels: dict[str, list[str]] = field(default_factory=dict)  # column → one-hot levels

    @classmethod
    def fit(cls, frame: pd.DataFrame, slots: list[str], context: list[str], max_levels: int) -> FeatureMap:
        numeric, levels = {}, {}
        for name in context:
            column = frame[name]
            if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
                values = pd.to_numeric(column, errors="coerce").astype(float)
                std = float(values.std()) if values.notna().sum() > 1 else 1.0
                numeric[name] = (float(values.mean()) if values.notna().any() else 0.0, std if std > 0 else 1.0)
            else:
                counts = column.dropna().astype(str).value_counts()
                levels[name] = [str(level) for level in counts.index[:max_levels]]
        return cls(slots=list(slots), numeric=numeric, levels=levels)

    @property
    def size(self) -> int:
        return 1 + len(self.slots) + len(self.numeric) + sum(len(v) for v in self.levels.values())

    def names(self) -> list[str]:
        out = ["bias", *(f"slot={slot}" for slot in self.slots), *self.numeric]
        for column, levels in self.levels.items():
            out += [f"{column}={level}" for level in levels]
        return out

    def vector(self, slot: str, context: Mapping[str, Any], where: str = "") -> np.ndarray:
        """One feature vector; unknown slots, columns and levels add nothing; a non-number is an error."""
        x = np.zeros(self.size, dtype=np.float64)
        x[0] = 1.0
        position = 1
        if slot in self.slots:
            x[position + self.slots.index(slot)] = 1.0
        position += len(self.slots)
        for name, (mean, std) in self.numeric.items():
            value = context.get(name)
            if value is not None:
                try:
                    number = float(value)
                except (TypeError, ValueError) as exc:
                    raise InvalidInput(f"{where}context.{name} must be a number, got {value!r}") from exc
                if not math.isnan(number):
                    x[position] = (number - mean) / std
            position += 1
        for name, levels in self.levels.items():
            value = context.get(name)
            if value is not None and str(value) in levels:
                x[position + levels.index(str(value))] = 1.0
            position += len(levels)
        return x

    def to_dict(self) -> dict[str, Any]:
        return {"slots": self.slots, "numeric": self.numeric, "levels": self.levels}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> FeatureMap:
        numeric = {name: (float(pair[0]), float(pair[1])) for name, pair in document["numeric"].items()}
        return cls(slots=list(document["slots"]), numeric=numeric, levels=dict(document["levels"]))
