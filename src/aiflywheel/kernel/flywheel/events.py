"""The flywheel's record: every decision it takes, with the numbers behind it.

An event is written in the same transaction as what it records (a stage change, a
policy's new state), so the history can never disagree with the registry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.orm import aliased

from aiflywheel.backends.store.schema import flywheel_events, model_versions, models
from aiflywheel.kernel.clock import UtcDatetime, now


class EventType(StrEnum):
    POLICY_SET = "policy_set"
    TRIGGERED = "triggered"  # a retrain was started: by N labels, schedule, drift or by hand
    PROMOTED = "promoted"  # the challenger became champion
    REFUSED = "refused"  # the challenger lost (or could not be judged) and was archived
    TRIAL_STARTED = "trial_started"  # the challenger won offline and now serves live traffic
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"  # a person turned the waiting challenger down
    ROLLED_BACK = "rolled_back"  # a new champion did worse live than its predecessor
    KEPT = "kept"  # a new champion held up live against its predecessor
    FAILED = "failed"  # a retrain or review job failed; nothing changed


# What a retrain or review job ends with: at most one per job.
DECISIONS = frozenset(
    {
        EventType.PROMOTED,
        EventType.REFUSED,
        EventType.TRIAL_STARTED,
        EventType.AWAITING_APPROVAL,
        EventType.ROLLED_BACK,
        EventType.KEPT,
    }
)


class FlywheelEvent(BaseModel):
    id: int
    endpoint: str
    type: EventType
    job_id: int | None
    champion: str | None  # "model:version" at the time of the event
    challenger: str | None
    reason: str
    details: dict[str, Any]
    created_at: UtcDatetime


def record(
    conn: Connection,
    project_id: int,
    endpoint_id: int,
    endpoint: str,
    type: EventType,
    reason: str,
    details: dict[str, Any] | None = None,
    job_id: int | None = None,
    champion_version_id: int | None = None,
    challenger_version_id: int | None = None,
) -> None:
    conn.execute(
        insert(flywheel_events).values(
            project_id=project_id,
            endpoint_id=endpoint_id,
            endpoint=endpoint,
            type=type,
            job_id=job_id,
            champion_version_id=champion_version_id,
            challenger_version_id=challenger_version_id,
            reason=reason,
            details=details or {},
            created_at=now(),
        )
    )


class Events:
    """The flywheel history of one project."""

    def __init__(self, engine: Engine, project_id: int):
        self.engine = engine
        self.project_id = project_id

    def _query(self):
        champion, champion_model = aliased(model_versions), aliased(models)
        challenger, challenger_model = aliased(model_versions), aliased(models)

        def ref(version, model):
            return model.c.name + ":" + version.c.version.cast(models.c.name.type)

        return (
            select(
                flywheel_events,
                ref(champion, champion_model).label("champion"),
                ref(challenger, challenger_model).label("challenger"),
            )
            .outerjoin(champion, champion.c.id == flywheel_events.c.champion_version_id)
            .outerjoin(champion_model, champion_model.c.id == champion.c.model_id)
            .outerjoin(challenger, challenger.c.id == flywheel_events.c.challenger_version_id)
            .outerjoin(challenger_model, challenger_model.c.id == challenger.c.model_id)
            .where(flywheel_events.c.project_id == self.project_id)
        )

    def list(self, endpoint_id: int, limit: int = 200, types: set[EventType] | None = None) -> list[FlywheelEvent]:
        """The endpoint's events, oldest first (the last ``limit`` of them)."""
        query = self._query().where(flywheel_events.c.endpoint_id == endpoint_id)
        if types:
            query = query.where(flywheel_events.c.type.in_([t.value for t in types]))
        query = query.order_by(flywheel_events.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [FlywheelEvent.model_validate(dict(row)) for row in reversed(rows)]

    def decision_of(self, job_id: int) -> FlywheelEvent | None:
        """The decision a job already recorded: a re-run job must not decide twice."""
        query = self._query().where(
            flywheel_events.c.job_id == job_id, flywheel_events.c.type.in_([t.value for t in DECISIONS])
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return FlywheelEvent.model_validate(dict(row)) if row else None
