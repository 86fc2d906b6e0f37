"""The prediction log and the feedback that answers it: the raw material of the flywheel.

Predictions are logged without slowing the hot path: ``PredictionLog.record`` only
appends to an in-memory buffer, and a background thread writes the buffer in batches.
``close`` (a clean stop) writes everything still buffered, so nothing is lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from aiflywheel.backends.store.bulk import bulk_insert
from aiflywheel.backends.store.schema import feedback, predictions
from aiflywheel.errors import Conflict, NotFound
from aiflywheel.kernel.clock import UtcDatetime, now

logger = logging.getLogger(__name__)


def new_prediction_ids(count: int) -> list[str]:
    """Time-ordered (so the index stays append-mostly) and unguessable; one random draw per call."""
    stamp = f"pr_{time.time_ns():x}"
    noise = os.urandom(6 * count).hex()
    return [stamp + noise[12 * i : 12 * (i + 1)] for i in range(count)]


class PredictionRecord(BaseModel):
    id: str
    project_id: int
    endpoint_id: int | None
    model_version_id: int
    input: Any
    output: Any
    latency_ms: float
    shadow: bool
    created_at: UtcDatetime


class PredictionLog:
    """Buffered, batched writes of prediction records; one per process."""

    def __init__(self, engine: Engine, flush_seconds: float = 0.2, batch_rows: int = 250):
        self.engine = engine
        self.flush_seconds = flush_seconds
        self.batch_rows = batch_rows
        self._buffer: deque[dict[str, Any]] = deque()
        self._write_lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection = None  # the writer's own, kept open: opening one per flush costs more than the insert

    def start(self) -> PredictionLog:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()
        return self

    def record(self, rows: list[dict[str, Any]]) -> None:
        """Queue rows (dicts with the ``predictions`` columns) for writing; returns at once."""
        self._buffer.extend(rows)

    def _run(self) -> None:
        while not self._stopped.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:  # the store may be briefly unavailable; the rows stay buffered
                logger.exception("writing the prediction log failed; will retry")

    def flush(self) -> int:
        """Write everything buffered now; return how many rows were written."""
        written = 0
        with self._write_lock:
            while self._buffer:
                batch = []
                while self._buffer and len(batch) < self.batch_rows:
                    batch.append(self._buffer.popleft())
                try:
                    if self._connection is None:
                        self._connection = self.engine.connect()
                    with self._connection.begin():
                        bulk_insert(self._connection, predictions, batch)
                except Exception:
                    self._buffer.extendleft(reversed(batch))
                    self._disconnect()
                    raise
                written += len(batch)
                time.sleep(0)  # small transactions, and the GIL handed back between them: no latency spikes
        return written

    def _disconnect(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    def pending(self) -> int:
        return len(self._buffer)

    def close(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.flush()
        finally:
            with self._write_lock:
                self._disconnect()

    def get(self, project_id: int, prediction_id: str) -> PredictionRecord:
        """A logged prediction of the project; buffered rows are written first if needed."""
        for attempt in range(2):
            with self.engine.connect() as conn:
                row = (
                    conn.execute(
                        select(predictions).where(
                            predictions.c.id == prediction_id, predictions.c.project_id == project_id
                        )
                    )
                    .mappings()
                    .first()
                )
            if row is not None:
                return PredictionRecord.model_validate(dict(row))
            if attempt == 0 and self.pending():
                self.flush()
        raise NotFound(f"no prediction {prediction_id!r} in this project")


class FeedbackRequest(BaseModel):
    """Feedback on one prediction: exactly one of label, outcome or reward, idempotent by event id."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(min_length=1, max_length=40)
    event_id: str = Field(min_length=1, max_length=200)
    label: Any = None
    outcome: Any = None
    reward: float | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FeedbackRequest:
        given = [name for name in ("label", "outcome", "reward") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of label, outcome or reward (got {', '.join(given) or 'none'})")
        return self


class FeedbackRecord(BaseModel):
    id: int
    event_id: str
    prediction_id: str
    label: Any
    outcome: Any
    reward: float | None
    created_at: UtcDatetime
    duplicate: bool = False


class Feedback:
    """Feedback of one project."""

    def __init__(self, engine: Engine, project_id: int, log: PredictionLog):
        self.engine = engine
        self.project_id = project_id
        self.log = log

    def send(self, request: FeedbackRequest) -> FeedbackRecord:
        """Record feedback; sending the same event again returns the first record, marked duplicate."""
        existing = self._by_event(request.event_id)
        if existing is not None:
            return self._same_or_conflict(existing, request)
        self.log.get(self.project_id, request.prediction_id)
        values = request.model_dump(include={"prediction_id", "event_id", "label", "outcome", "reward"})
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(feedback).values(project_id=self.project_id, created_at=now(), **values))
        except IntegrityError:
            existing = self._by_event(request.event_id)  # a concurrent duplicate won the race
            if existing is None:
                raise
            return self._same_or_conflict(existing, request)
        return self._by_event(request.event_id)

    def _same_or_conflict(self, existing: FeedbackRecord, request: FeedbackRequest) -> FeedbackRecord:
        if existing.prediction_id != request.prediction_id:
            raise Conflict(
                f"event {request.event_id!r} was already used for prediction {existing.prediction_id!r}; "
                "use a new event_id for a different prediction"
            )
        return existing.model_copy(update={"duplicate": True})

    def _by_event(self, event_id: str) -> FeedbackRecord | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(feedback).where(feedback.c.project_id == self.project_id, feedback.c.event_id == event_id)
                )
                .mappings()
                .first()
            )
        return FeedbackRecord.model_validate(dict(row)) if row else None

    def for_prediction(self, prediction_id: str) -> list[FeedbackRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(feedback)
                .where(feedback.c.project_id == self.project_id, feedback.c.prediction_id == prediction_id)
                .order_by(feedback.c.id)
            ).mappings()
            return [FeedbackRecord.model_validate(dict(row)) for row in rows]
