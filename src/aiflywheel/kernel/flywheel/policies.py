"""Stored flywheel policies, one per endpoint, with the state the loop keeps for each.

The state says what is in flight (a retrain or review job, a live trial, a challenger
awaiting approval, a new champion under watch) and what the triggers have seen. Every
change to it is a compare-and-set on ``revision``, committed together with the event
that explains it, so two loops (or a loop and a person) never act on one state twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, delete, insert, select, update

from aiflywheel.backends.store.schema import endpoints, flywheel_policies
from aiflywheel.errors import Conflict, NotFound
from aiflywheel.kernel.clock import UtcDatetime, now
from aiflywheel.kernel.endpoints import Endpoint
from aiflywheel.kernel.flywheel import events
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.flywheel.policy import FlywheelPolicy, merge, parse_policy


class Trial(BaseModel):
    """A challenger serving live traffic (a share of it, or every request in shadow) until judged."""

    version_id: int
    mode: str
    since_feedback_id: int
    started_at: UtcDatetime
    offline: dict[str, Any] = Field(default_factory=dict)  # the offline comparison that earned the trial


class Watch(BaseModel):
    """A new champion watched against its predecessor on live feedback, for an automatic rollback."""

    champion_id: int
    predecessor_id: int
    since_feedback_id: int


class PolicyState(BaseModel):
    job_id: int | None = None  # the retrain or review job in flight
    feedback_mark: int = 0  # feedback ids up to this one were available to the last retrain
    last_retrain_at: UtcDatetime | None = None
    last_drift_check_at: UtcDatetime | None = None
    last_drift: dict[str, Any] | None = None
    trial: Trial | None = None
    awaiting_approval: int | None = None  # version id of a winner waiting for a person
    watch: Watch | None = None


class PolicyView(BaseModel):
    """A policy as stored: its endpoint, the policy, the loop's state for it."""

    id: int
    project_id: int
    endpoint_id: int
    endpoint: str
    policy: FlywheelPolicy
    state: PolicyState
    revision: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


def _view(row) -> PolicyView:
    return PolicyView.model_validate(dict(row))


def _query():
    return select(flywheel_policies, endpoints.c.name.label("endpoint")).join(
        endpoints, endpoints.c.id == flywheel_policies.c.endpoint_id
    )


def all_policies(engine: Engine) -> list[PolicyView]:
    """Every project's policies: what the loop visits."""
    with engine.connect() as conn:
        rows = conn.execute(_query().order_by(flywheel_policies.c.id)).mappings().all()
    return [_view(row) for row in rows]


def write_state(conn: Connection, view: PolicyView, state: PolicyState) -> PolicyView:
    """Replace the state if nobody changed it since ``view`` was read; else raise ``Conflict``."""
    changed = conn.execute(
        update(flywheel_policies)
        .where(flywheel_policies.c.id == view.id, flywheel_policies.c.revision == view.revision)
        .values(state=state.model_dump(mode="json"), revision=view.revision + 1, updated_at=now())
    ).rowcount
    if changed != 1:
        raise Conflict(f"the flywheel of endpoint {view.endpoint!r} changed meanwhile; try again")
    return view.model_copy(update={"state": state, "revision": view.revision + 1})


class Policies:
    """The flywheel policies of one project's endpoints."""

    def __init__(self, engine: Engine, project_id: int):
        self.engine = engine
        self.project_id = project_id

    def get(self, endpoint: Endpoint) -> PolicyView | None:
        with self.engine.connect() as conn:
            row = conn.execute(_query().where(flywheel_policies.c.endpoint_id == endpoint.id)).mappings().first()
        return _view(row) if row else None

    def require(self, endpoint: Endpoint) -> PolicyView:
        view = self.get(endpoint)
        if view is None:
            raise NotFound(
                f"endpoint {endpoint.name!r} has no flywheel policy; set one with `flywheel policy set {endpoint.name}`"
            )
        return view

    def set(self, endpoint: Endpoint, changes: dict[str, Any], replace: bool = False) -> PolicyView:
        """Set the endpoint's policy: ``changes`` on top of the current one (or of the defaults)."""
        current = self.get(endpoint)
        base = {} if replace or current is None else current.policy.model_dump(mode="json")
        policy = parse_policy(merge(base, changes))
        stamp = now()
        with self.engine.begin() as conn:
            if current is None:
                conn.execute(
                    insert(flywheel_policies).values(
                        project_id=self.project_id,
                        endpoint_id=endpoint.id,
                        policy=policy.model_dump(mode="json"),
                        state=PolicyState().model_dump(mode="json"),
                        revision=0,
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
            else:
                conn.execute(
                    update(flywheel_policies)
                    .where(flywheel_policies.c.id == current.id)
                    .values(policy=policy.model_dump(mode="json"), revision=current.revision + 1, updated_at=stamp)
                )
            events.record(
                conn,
                self.project_id,
                endpoint.id,
                endpoint.name,
                EventType.POLICY_SET,
                "policy created" if current is None else "policy changed",
                {"policy": policy.model_dump(mode="json")},
            )
        return self.require(endpoint)

    def ensure(self, endpoint: Endpoint) -> PolicyView:
        """The endpoint's policy; one that only acts by hand (triggers off) if it has none."""
        return self.get(endpoint) or self.set(endpoint, {"enabled": False})

    def delete(self, endpoint: Endpoint) -> None:
        self.require(endpoint)
        with self.engine.begin() as conn:
            conn.execute(delete(flywheel_policies).where(flywheel_policies.c.endpoint_id == endpoint.id))

    def fresh(self, view: PolicyView) -> PolicyView:
        with self.engine.connect() as conn:
            row = conn.execute(_query().where(flywheel_policies.c.id == view.id)).mappings().first()
        if row is None:
            raise NotFound(f"endpoint {view.endpoint!r} has no flywheel policy any more")
        return _view(row)


def elapsed(since: datetime | None, seconds: float | None) -> bool:
    """Whether ``seconds`` have passed since ``since`` (never set: yes)."""
    if seconds is None:
        return False
    return since is None or (now() - since).total_seconds() >= seconds
