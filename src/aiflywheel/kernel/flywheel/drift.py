"""Input drift: logged inputs of an endpoint against the data its champion was trained on.

Per feature (a key of the logged inputs that is also a column of the training data):

- ``psi``, the population stability index: numeric values in ten bins at the training
  deciles, categories as they are (rare ones pooled), missing values as a bin of their
  own (values that are not numbers land there too);
  ``sum((p_now - p_train) * ln(p_now / p_train))``. Rules of thumb: < 0.1 stable,
  0.1-0.25 moderate, > 0.25 a shift worth acting on.
- ``ks``, the two-sample Kolmogorov-Smirnov statistic (scipy) for numeric features;
  categorical features fall back to PSI, the statistic having no meaning there.

The score of the endpoint is its worst feature's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_BINS = 10
_FLOOR = 1e-4  # an empty bin on one side must not make the index infinite
_MAX_CATEGORIES = 50


@dataclass(frozen=True)
class DriftReport:
    method: str
    score: float  # the worst feature's
    feature: str | None
    features: dict[str, float]  # every compared feature's score
    reference_rows: int
    current_rows: int

    def top(self, count: int = 5) -> dict[str, float]:
        ranked = sorted(self.features.items(), key=lambda item: item[1], reverse=True)
        return {name: round(score, 4) for name, score in ranked[:count]}


def drift(reference: pa.Table, current: list[Any], method: Literal["psi", "ks"] = "psi") -> DriftReport:
    """Compare ``current`` inputs (a list of objects) with the ``reference`` table, feature by feature."""
    rows = [row for row in current if isinstance(row, dict)]
    keys = {key for row in rows for key in row}
    scores = {}
    for name in reference.column_names:
        if name not in keys:
            continue
        column = reference.column(name)
        values = [row.get(name) for row in rows]
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            now = _numbers(values)
            past = column.to_numpy(zero_copy_only=False).astype(np.float64)
            scores[name] = _ks(past, now) if method == "ks" else _psi_numeric(past, now)
        elif (
            pa.types.is_string(column.type)
            or pa.types.is_large_string(column.type)
            or pa.types.is_boolean(column.type)
            or pa.types.is_dictionary(column.type)
        ):
            past = column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column
            scores[name] = _psi_categorical(_strings(past.to_pylist()), _strings(values))
    worst = max(scores, key=scores.get) if scores else None
    return DriftReport(
        method=method,
        score=scores[worst] if worst else 0.0,
        feature=worst,
        features=scores,
        reference_rows=reference.num_rows,
        current_rows=len(rows),
    )


def sample(table: pa.Table, rows: int, seed: int = 0) -> pa.Table:
    """At most ``rows`` rows of ``table``, chosen at random (drift needs a sample, not the whole history)."""
    if table.num_rows <= rows:
        return table
    picked = np.sort(np.random.default_rng(seed).choice(table.num_rows, size=rows, replace=False))
    return table.take(pa.array(picked))


def _numbers(values: list[Any]) -> np.ndarray:
    """Values as floats; what is not a number (text sent for a numeric feature) counts as missing."""
    out = np.empty(len(values), dtype=np.float64)
    for index, value in enumerate(values):
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[index] = value
            continue
        try:
            out[index] = float(value)
        except (TypeError, ValueError):
            out[index] = np.nan
    return out


def _strings(values: list[Any]) -> list[str | None]:
    return [None if value is None else str(value) for value in values]


def _fractions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return np.maximum(counts / total if total else counts, _FLOOR)


def _index(past: np.ndarray, now: np.ndarray) -> float:
    past, now = _fractions(past), _fractions(now)
    return float(np.sum((now - past) * np.log(now / past)))


def _psi_numeric(past: np.ndarray, now: np.ndarray) -> float:
    past_known, now_known = past[~np.isnan(past)], now[~np.isnan(now)]
    if past_known.size == 0:
        return 0.0
    edges = np.unique(np.quantile(past_known, np.linspace(0, 1, _BINS + 1)[1:-1]))

    def counts(values: np.ndarray, known: np.ndarray) -> np.ndarray:
        binned = np.bincount(np.searchsorted(edges, known, side="right"), minlength=edges.size + 1)
        return np.append(binned, values.size - known.size).astype(np.float64)  # the last bin: missing

    return _index(counts(past, past_known), counts(now, now_known))


def _psi_categorical(past: list[str | None], now: list[str | None]) -> float:
    frequent = pc.value_counts(pa.array(past)).to_pylist()
    frequent.sort(key=lambda item: item["counts"], reverse=True)
    levels = {item["values"]: index for index, item in enumerate(frequent[:_MAX_CATEGORIES])}
    other = len(levels)

    def counts(values: list[str | None]) -> np.ndarray:
        codes = np.fromiter((levels.get(value, other) for value in values), dtype=np.int64, count=len(values))
        return np.bincount(codes, minlength=other + 1).astype(np.float64)

    return _index(counts(past), counts(now))


def _ks(past: np.ndarray, now: np.ndarray) -> float:
    from scipy.stats import ks_2samp  # scipy comes with scikit-learn; loaded only when asked for

    past, now = past[~np.isnan(past)], now[~np.isnan(now)]
    if past.size == 0 or now.size == 0:
        return 0.0
    statistic = ks_2samp(past, now).statistic
    return 0.0 if math.isnan(statistic) else float(statistic)
