"""Per-entity behaviour from the entity's earlier events: the same code at training and at scoring time.

For an event of entity ``e`` at time ``t``, only ``e``'s events strictly before ``t``
count: events in the same instant do not see each other, and an event scored twice
(same entity, time and variables) is recorded once, so re-scoring gives the same
answer. Features, for each look-back window ``w``: the number of earlier events in
``[t - w, t)`` and, with an amount variable, their total; the seconds since the
previous event; and for each tracked variable whether its value is new for the
entity (missing when the entity has no history).

Training walks the events in time order through a ``History``; what it holds at the
end (each entity's events inside the longest window, the first time each value was
seen) ships in the model's files, and the serving predictor keeps recording the
events it scores.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_EVENTS_PER_ENTITY = 2000  # a runaway entity (a bot) must not grow memory without bound
MAX_VALUES_PER_VARIABLE = 200


@dataclass(frozen=True)
class Observation:
    """What the history needs of one checked event."""

    entity: str | None
    time: float | None
    amount: float | None
    values: dict[str, Any]  # tracked variable -> value
    key: str  # identifies the event, so recording it twice changes nothing


def observation(
    event: Mapping[str, Any], entity: str | None, time: str | None, amount: str | None, tracked: Sequence[str]
) -> Observation:
    digest = hashlib.blake2b(json.dumps(event, sort_keys=True, default=str).encode(), digest_size=8).hexdigest()
    return Observation(
        None if entity is None else event.get(entity),
        None if time is None else event.get(time),
        None if amount is None else event.get(amount),
        {name: event.get(name) for name in tracked},
        digest,
    )


class _Entity:
    __slots__ = ("amounts", "keys", "seen", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.amounts: list[float] = []
        self.keys: set[str] = set()
        self.seen: dict[str, dict[str, float]] = {}  # variable -> value -> first time seen


class History:
    """Each entity's recent events, in time order; thread-safe."""

    def __init__(self, windows: Sequence[int], tracked: Sequence[str], has_amount: bool):
        self.windows = [int(w) for w in windows]
        self.tracked = list(tracked)
        self.has_amount = has_amount
        self._entities: dict[str, _Entity] = {}
        self._lock = threading.Lock()

    @property
    def feature_names(self) -> list[str]:
        names = [f"entity.count_{_span(w)}" for w in self.windows]
        if self.has_amount:
            names += [f"entity.amount_{_span(w)}" for w in self.windows]
        names.append("entity.seconds_since_last")
        names += [f"entity.new_{name}" for name in self.tracked]
        return names

    def features(self, observations: Sequence[Observation], record: bool = True) -> np.ndarray:
        """One row of behaviour features per observation, from strictly earlier events; then record them."""
        out = np.full((len(observations), len(self.feature_names)), np.nan)
        order = sorted(range(len(observations)), key=lambda i: _time_key(observations[i].time))
        with self._lock:
            start = 0
            while start < len(order):  # one instant at a time: its events must not see each other
                end = start + 1
                instant = observations[order[start]].time
                while end < len(order) and observations[order[end]].time == instant:
                    end += 1
                for index in order[start:end]:
                    out[index] = self._row(observations[index])
                if record:
                    for index in order[start:end]:
                        self._record(observations[index])
                start = end
        return out

    def record(self, observations: Sequence[Observation]) -> None:
        """Record events without computing their features (replaying what was scored before)."""
        with self._lock:
            for obs in sorted(observations, key=lambda obs: _time_key(obs.time)):
                self._record(obs)

    def _row(self, obs: Observation) -> list[float]:
        entity = self._entities.get(obs.entity) if obs.entity is not None and obs.time is not None else None
        width = len(self.windows) * (2 if self.has_amount else 1) + 1
        if entity is None:
            zeros = [0.0] * (width - 1) if obs.entity is not None and obs.time is not None else [math.nan] * (width - 1)
            return zeros + [math.nan] + [math.nan] * len(self.tracked)
        t = obs.time
        before = bisect_left(entity.times, t)
        counts, totals = [], []
        for window in self.windows:
            first = bisect_left(entity.times, t - window, 0, before)
            counts.append(float(before - first))
            totals.append(float(sum(entity.amounts[first:before])))
        row = counts + (totals if self.has_amount else [])
        row.append(t - entity.times[before - 1] if before else math.nan)
        for name in self.tracked:
            value = obs.values.get(name)
            if value is None or not before:
                row.append(math.nan)
                continue
            first_seen = entity.seen.get(name, {}).get(str(value))
            row.append(0.0 if first_seen is not None and first_seen < t else 1.0)
        return row

    def _record(self, obs: Observation) -> None:
        if obs.entity is None or obs.time is None:
            return
        entity = self._entities.setdefault(obs.entity, _Entity())
        if obs.key in entity.keys:
            return
        position = bisect_left(entity.times, obs.time)
        entity.times.insert(position, obs.time)
        entity.amounts.insert(position, 0.0 if obs.amount is None else float(obs.amount))
        entity.keys.add(obs.key)
        for name, value in obs.values.items():
            if value is None:
                continue
            seen = entity.seen.setdefault(name, {})
            key = str(value)
            if key in seen:
                seen[key] = min(seen[key], obs.time)
            elif len(seen) < MAX_VALUES_PER_VARIABLE:
                seen[key] = obs.time
        self._prune(entity)

    def _prune(self, entity: _Entity) -> None:
        """Keep the events inside the longest window of the latest one (and always that one)."""
        horizon = entity.times[-1] - max(self.windows)
        drop = max(bisect_left(entity.times, horizon), len(entity.times) - MAX_EVENTS_PER_ENTITY)
        drop = min(drop, len(entity.times) - 1)
        if drop > 0:
            del entity.times[:drop], entity.amounts[:drop]
            if len(entity.keys) > 4 * MAX_EVENTS_PER_ENTITY:
                entity.keys.clear()  # duplicates of events this old are no longer expected

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            entities = {
                name: {"times": e.times, "amounts": e.amounts, "keys": sorted(e.keys), "seen": e.seen}
                for name, e in self._entities.items()
            }
        return {"windows": self.windows, "tracked": self.tracked, "has_amount": self.has_amount, "entities": entities}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> History:
        history = cls(raw["windows"], raw["tracked"], raw["has_amount"])
        for name, stored in raw["entities"].items():
            entity = _Entity()
            entity.times, entity.amounts = list(stored["times"]), list(stored["amounts"])
            entity.keys, entity.seen = set(stored["keys"]), {k: dict(v) for k, v in stored["seen"].items()}
            history._entities[name] = entity
        return history

    def __len__(self) -> int:
        return len(self._entities)


def _time_key(time: float | None) -> float:
    return -math.inf if time is None else time


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
