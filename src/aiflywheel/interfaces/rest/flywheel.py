"""The flywheel of an endpoint: its policy, a retrain by hand, approvals and the history of decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from aiflywheel.interfaces.rest.deps import ProjectPlatform, Writer
from aiflywheel.kernel.flywheel import FlywheelEvent, FlywheelStatus
from aiflywheel.kernel.jobs import Job

router = APIRouter(prefix="/v1/endpoints/{name}", tags=["flywheel"])

PolicyBody = Annotated[
    dict[str, Any],
    Body(
        description="FlywheelPolicy fields: enabled, triggers{...}, recipe{...}, promotion{...}",
        examples=[{"triggers": {"every_n_labels": 500, "schedule": "1d"}, "promotion": {"min_gain": 0.005}}],
    ),
]


@router.get("/policy")
def get_policy(name: str, platform: ProjectPlatform) -> FlywheelStatus:
    """The endpoint's flywheel policy, the loop's state for it and what is pending."""
    return platform.flywheel.status(name)


@router.put("/policy")
def put_policy(name: str, policy: PolicyBody, platform: ProjectPlatform, _: Writer) -> FlywheelStatus:
    """Set the whole policy: fields left out take their defaults."""
    return platform.flywheel.set_policy(name, policy, replace=True)


@router.patch("/policy")
def patch_policy(name: str, changes: PolicyBody, platform: ProjectPlatform, _: Writer) -> FlywheelStatus:
    """Change some fields of the policy (creating it with defaults if there is none)."""
    return platform.flywheel.set_policy(name, changes)


@router.delete("/policy", status_code=204)
def delete_policy(name: str, platform: ProjectPlatform, _: Writer) -> None:
    platform.flywheel.delete_policy(name)


@router.post("/retrain", status_code=201)
def retrain(name: str, platform: ProjectPlatform, _: Writer) -> Job:
    """Start a retrain now; the decision it takes lands in the history."""
    return platform.flywheel.retrain(name)


@router.get("/history")
def history(
    name: str, platform: ProjectPlatform, limit: Annotated[int, Query(ge=1, le=10_000)] = 200
) -> list[FlywheelEvent]:
    """The endpoint's flywheel events, oldest first: triggers, decisions with their numbers, rollbacks."""
    return platform.flywheel.history(name, limit=limit)


@router.post("/approve")
def approve(name: str, request: Request, platform: ProjectPlatform, _: Writer) -> FlywheelEvent:
    """Promote the challenger waiting for approval."""
    event = platform.flywheel.approve(name)
    request.app.state.api.serving.forget_routes()
    return event


@router.post("/reject")
def reject(name: str, request: Request, platform: ProjectPlatform, _: Writer) -> FlywheelEvent:
    """Archive the challenger waiting for approval."""
    event = platform.flywheel.reject(name)
    request.app.state.api.serving.forget_routes()
    return event
