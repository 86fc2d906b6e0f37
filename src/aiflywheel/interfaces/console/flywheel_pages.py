"""The flywheel pages: each endpoint's policy (edited through a generated form), its timeline of
retrains, promotions and refusals, and the metric at each decision as a chart."""

from __future__ import annotations

from fastapi import APIRouter, Request

from aiflywheel.errors import InvalidInput, NotFound
from aiflywheel.interfaces.console import charts
from aiflywheel.interfaces.console.forms import fields_from_schema, values_from_form
from aiflywheel.interfaces.console.web import ConsoleRoute, CsrfChecked, ProjectPlatform, Writer, page, redirect
from aiflywheel.interfaces.rest.flywheel import approve, history, put_policy, reject, retrain
from aiflywheel.kernel.flywheel import FlywheelPolicy
from aiflywheel.kernel.platform import Platform

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
POLICY_PREFIX = "policy."


def _status(platform: Platform, name: str):
    try:
        return platform.flywheel.status(name)
    except NotFound:
        platform.endpoints.get(name)  # an unknown endpoint is still a 404
        return None


@router.get("/flywheel")
def flywheel_page(request: Request, platform: ProjectPlatform):
    rows = [(endpoint, _status(platform, endpoint.name)) for endpoint in platform.endpoints.list()]
    return page(request, "flywheel.html", rows=rows)


def _policy_page(request: Request, platform: Platform, name: str, values=None, error=None):
    status = _status(platform, name)
    policy = values if values is not None else (status.policy if status else FlywheelPolicy()).model_dump()
    events = history(name, platform, limit=500) if status else []
    points = charts.decision_points(events)
    return page(
        request,
        "flywheel_endpoint.html",
        status_code=error.http_status if error else 200,
        name=name,
        endpoint=platform.endpoints.get(name),
        status=status,
        fields=fields_from_schema(FlywheelPolicy.model_json_schema(), policy, prefix=POLICY_PREFIX),
        events=list(reversed(events)),
        points=points,
        figure=charts.flywheel_figure(points),
        error=error,
    )


@router.get("/flywheel/{name}")
def policy_page(name: str, request: Request, platform: ProjectPlatform):
    return _policy_page(request, platform, name)


@router.post("/flywheel/{name}/policy", dependencies=[CsrfChecked])
async def save_policy(name: str, request: Request, platform: ProjectPlatform, visitor: Writer):
    form = await request.form()
    fields = fields_from_schema(FlywheelPolicy.model_json_schema(), prefix=POLICY_PREFIX)
    try:
        policy = values_from_form(fields, form).get("policy", {})
        put_policy(name, policy, platform, visitor)
    except InvalidInput as error:
        return _policy_page(request, platform, name, error=error)
    return redirect(f"/flywheel/{name}")


@router.post("/flywheel/{name}/retrain", dependencies=[CsrfChecked])
def retrain_now(name: str, platform: ProjectPlatform, visitor: Writer):
    job = retrain(name, platform, visitor)
    return redirect(f"/jobs/{job.id}")


@router.post("/flywheel/{name}/approve", dependencies=[CsrfChecked])
def approve_waiting(name: str, request: Request, platform: ProjectPlatform, visitor: Writer):
    approve(name, request, platform, visitor)
    return redirect(f"/flywheel/{name}")


@router.post("/flywheel/{name}/reject", dependencies=[CsrfChecked])
def reject_waiting(name: str, request: Request, platform: ProjectPlatform, visitor: Writer):
    reject(name, request, platform, visitor)
    return redirect(f"/flywheel/{name}")
