"""The prediction log and the feedback that answers it: the raw material of the flywheel.

Predictions are logged without slowing the hot path: ``PredictionLog.record`` only
appends an invocation (a request's inputs, outputs and model version) to an in-memory
buffer, and a background thread writes the buffer in batches. One row per invocation,
not per prediction, keeps the writer ahead of any request rate; prediction ``i`` of
invocation ``pr_X`` has the id ``pr_X.i``. The buffer is bounded: past ``max_pending``
invocations, ``record`` waits for the writer rather than let memory grow. ``close``
(a clean stop) writes everything still buffered, so nothing is lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from aiflywheel.backends.store.bulk import bulk_insert
from aiflywheel.backends.store.schema import feedback, invocations
from aiflywheel.errors import Conflict, NotFound
from aiflywheel.kernel.clock import UtcDatetime, now

logger = logging.getLogger(__name__)


def new_invocation_id() -> str:
    """Time-ordered (so the index stays append-mostly) and unguessable."""
    return f"pr_{time.time_ns():x}{os.urandom(6).hex()}"


def prediction_ids(invocation_id: str, count: int) -> list[str]:
    return [f"{invocation_id}.{position}" for position in range(count)]


def split_prediction_id(prediction_id: str) -> tuple[str, int] | None:
    invocation_id, dot, position = prediction_id.rpartition(".")
    if not dot or not invocation_id or not position.isdigit():
        return None
    return invocation_id, int(position)


class PredictionRecord(BaseModel):
    """One logged prediction: an instance of an invocation, with its output."""

    id: str
    invocation_id: str
    position: int
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

    def __init__(self, engine: Engine, flush_seconds: float = 0.2, batch_rows: int = 100, max_pending: int = 20_000):
        self.engine = engine
        self.flush_seconds = flush_seconds
        self.batch_rows = batch_rows
        self.max_pending = max_pending
        self._buffer: deque[dict[str, Any]] = deque()
        self._drained = threading.Condition()
        self._write_lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection = None  # the writer's own, kept open: opening one per flush costs more than the insert

    def start(self) -> PredictionLog:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()
        return self

    def record(self, invocation: dict[str, Any]) -> None:
        """Queue an invocation (a dict of the ``invocations`` columns) for writing.

        Returns at once, unless the writer has fallen ``max_pending`` invocations behind: then
        it waits (up to a few seconds at a time) rather than buffer without bound.
        """
        if len(self._buffer) >= self.max_pending and self._thread is not None:
            with self._drained:
                if not self._drained.wait_for(lambda: len(self._buffer) < self.max_pending, timeout=5.0):
                    logger.warning("the prediction log is %d invocations behind the store", len(self._buffer))
        self._buffer.append(invocation)

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
                        bulk_insert(self._connection, invocations, batch)
                except Exception:
                    self._buffer.extendleft(reversed(batch))
                    self._disconnect()
                    raise
                written += len(batch)
                with self._drained:
                    self._drained.notify_all()
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

    def served_inputs(self, model_version_id: int) -> Iterator[Any]:
        """Every input endpoints answered with this model version, oldest first (buffered ones are written first).

        Batch-prediction jobs are left out: they score datasets, not live traffic.
        """
        self.flush()
        query = (
            select(invocations.c.inputs)
            .where(invocations.c.model_version_id == model_version_id, invocations.c.endpoint_id.is_not(None))
            .order_by(invocations.c.id)  # ids are time-ordered
        )
        with self.engine.connect() as conn:
            for (inputs,) in conn.execution_options(yield_per=500).execute(query):
                yield from inputs

    def get(self, project_id: int, prediction_id: str) -> PredictionRecord:
        """A logged prediction of the project; buffered invocations are written first if needed."""
        parts = split_prediction_id(prediction_id)
        if parts is not None:
            invocation_id, position = parts
            for attempt in range(2):
                with self.engine.connect() as conn:
                    row = (
                        conn.execute(
                            select(invocations).where(
                                invocations.c.id == invocation_id, invocations.c.project_id == project_id
                            )
                        )
                        .mappings()
                        .first()
                    )
                if row is not None:
                    if position >= row["count"]:
                        break
                    return PredictionRecord(
                        id=prediction_id,
                        invocation_id=invocation_id,
                        position=position,
                        input=row["inputs"][position],
                        output=row["outputs"][position],
                        **{
                            key: row[key]
                            for key in (
                                "project_id",
                                "endpoint_id",
                                "model_version_id",
                                "latency_ms",
                                "shadow",
                                "created_at",
                            )
                        },
                    )
                if attempt == 0:
                    # Buffered, or in the writer's hands right now: flushing takes the write lock,
                    # so it also waits for a batch the writer has taken but not yet committed.
                    self.flush()
        raise NotFound(f"no prediction {prediction_id!r} in this project")


class FeedbackRequest(BaseModel):
    """Feedback on one prediction: exactly one of label, outcome or reward, idempotent by event id."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(min_length=1, max_length=60)
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
        prediction = self.log.get(self.project_id, request.prediction_id)
        values = request.model_dump(include={"prediction_id", "event_id", "label", "outcome", "reward"})
        values.update(invocation_id=prediction.invocation_id, position=prediction.position)
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
