"""What an endpoint has been doing: requests, predictions and latency over time, and its latest predictions.

Read from the prediction log (the ``invocations`` table), so every figure counts what was
really served; shadow invocations are left out of traffic (no caller waited for them).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy import Engine, select

from aiflywheel.backends.store.schema import invocations
from aiflywheel.kernel.clock import UtcDatetime, as_utc, now

MAX_ROWS = 100_000  # invocations read for one summary at most: the newest, so a busy endpoint stays cheap


class TrafficSummary(BaseModel):
    """An endpoint's traffic over a window."""

    window_seconds: float
    requests: int
    predictions: int
    p50_ms: float | None
    p95_ms: float | None
    last_at: UtcDatetime | None


class TrafficBucket(BaseModel):
    """One time bucket of traffic: how many requests, and their latency."""

    start: UtcDatetime
    requests: int
    predictions: int
    p50_ms: float | None
    p95_ms: float | None


class RecentPrediction(BaseModel):
    """One logged invocation, newest first in ``Traffic.recent``."""

    invocation_id: str
    model_version_id: int
    count: int
    inputs: list[Any]
    outputs: list[Any]
    latency_ms: float
    shadow: bool
    created_at: UtcDatetime


class Traffic:
    """Traffic figures of the endpoints of one project."""

    def __init__(self, engine: Engine, project_id: int):
        self.engine = engine
        self.project_id = project_id

    def _rows(self, endpoint_id: int, since: datetime) -> list[tuple[datetime, int, float]]:
        query = (
            select(invocations.c.created_at, invocations.c["count"], invocations.c.latency_ms)
            .where(
                invocations.c.project_id == self.project_id,
                invocations.c.endpoint_id == endpoint_id,
                invocations.c.shadow.is_(False),
                invocations.c.created_at >= since,
            )
            .order_by(invocations.c.created_at.desc())
            .limit(MAX_ROWS)
        )
        with self.engine.connect() as conn:
            return [(as_utc(at), count, latency) for at, count, latency in conn.execute(query)]

    def summary(self, endpoint_id: int, window: timedelta = timedelta(hours=1)) -> TrafficSummary:
        rows = self._rows(endpoint_id, now() - window)
        p50, p95 = _percentiles([latency for _, _, latency in rows])
        return TrafficSummary(
            window_seconds=window.total_seconds(),
            requests=len(rows),
            predictions=sum(count for _, count, _ in rows),
            p50_ms=p50,
            p95_ms=p95,
            last_at=rows[0][0] if rows else None,
        )

    def series(
        self, endpoint_id: int, window: timedelta = timedelta(hours=1), buckets: int = 60
    ) -> list[TrafficBucket]:
        """``buckets`` equal time buckets covering the last ``window``, oldest first (empty ones included)."""
        end = now()
        start = end - window
        width = window / buckets
        grouped: list[list[tuple[int, float]]] = [[] for _ in range(buckets)]
        for at, count, latency in self._rows(endpoint_id, start):
            index = min(int((at - start) / width), buckets - 1)
            grouped[index].append((count, latency))
        series = []
        for index, rows in enumerate(grouped):
            p50, p95 = _percentiles([latency for _, latency in rows])
            series.append(
                TrafficBucket(
                    start=start + index * width,
                    requests=len(rows),
                    predictions=sum(count for count, _ in rows),
                    p50_ms=p50,
                    p95_ms=p95,
                )
            )
        return series

    def recent(self, endpoint_id: int, limit: int = 20) -> list[RecentPrediction]:
        """The endpoint's latest invocations (shadow ones included, marked), newest first."""
        query = (
            select(invocations)
            .where(invocations.c.project_id == self.project_id, invocations.c.endpoint_id == endpoint_id)
            .order_by(invocations.c.created_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            RecentPrediction(invocation_id=row["id"], **{k: row[k] for k in RecentPrediction.model_fields if k in row})
            for row in rows
        ]


def _percentiles(latencies: list[float]) -> tuple[float | None, float | None]:
    if not latencies:
        return None, None
    p50, p95 = np.percentile(np.asarray(latencies, dtype=float), [50, 95])
    return round(float(p50), 3), round(float(p95), 3)
