"""Models (versions, metrics, lineage, compare, promote, deploy) and endpoints (routing, charts, try it)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.console import charts
from aiflywheel.interfaces.console.forms import values_from_form
from aiflywheel.interfaces.console.tryit import (
    INSTANCES_FIELD,
    SESSION_FIELD,
    form_instances,
    panel_context,
    try_fields,
    try_panel,
)
from aiflywheel.interfaces.console.web import (
    ConsoleRoute,
    CsrfChecked,
    ProjectPlatform,
    Visitor,
    Writer,
    json_response,
    page,
    redirect,
    wants_json,
)
from aiflywheel.interfaces.rest.bots import TextTurn, text_turn
from aiflywheel.interfaces.rest.resources import PromoteRequest, promote
from aiflywheel.interfaces.rest.serving import DeployRequest, configure_endpoint, deploy, get_endpoint, predict
from aiflywheel.interfaces.rest.serving import send_feedback as rest_feedback
from aiflywheel.kernel.keys import Role
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.predictions import FeedbackRequest
from aiflywheel.kernel.registry import ModelVersion, Stage

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


# -- models -----------------------------------------------------------------


@router.get("/models")
def models_page(request: Request, platform: ProjectPlatform):
    grouped: dict[str, list[ModelVersion]] = {}
    for version in platform.models.list():
        grouped.setdefault(version.model, []).append(version)
    return page(request, "models.html", models=grouped)


@router.get("/models/{model}")
def model_page(model: str, request: Request, platform: ProjectPlatform):
    versions = sorted(platform.models.list(model), key=lambda v: v.version, reverse=True)
    if not versions:
        platform.models.get(model)  # raises NotFound naming the model
    by_id = {version.id: version for version in versions}
    return page(request, "model.html", model=model, versions=versions, by_id=by_id, stages=list(Stage))


@router.get("/models/{model}/compare")
def compare_page(model: str, request: Request, platform: ProjectPlatform, a: int, b: int):
    first, second = platform.models.get(model, a), platform.models.get(model, b)
    metrics = sorted(set(first.metrics) | set(second.metrics))
    params = sorted(set(first.params) | set(second.params))
    return page(request, "compare.html", model=model, a=first, b=second, metrics=metrics, params=params)


@router.post("/models/{model}/versions/{version}/promote", dependencies=[CsrfChecked])
def promote_version(
    model: str,
    version: int,
    request: Request,
    platform: ProjectPlatform,
    visitor: Writer,
    stage: Annotated[Stage, Form()] = Stage.CHAMPION,
):
    promote(model, version, PromoteRequest(stage=stage), request, platform, visitor)
    return redirect(f"/models/{model}")


@router.post("/models/{model}/deploy", dependencies=[CsrfChecked])
def deploy_model(
    model: str,
    request: Request,
    platform: ProjectPlatform,
    visitor: Writer,
    endpoint: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
):
    body = DeployRequest(model=model, name=endpoint.strip() or None, version=version)
    deployed = deploy(body, request, platform, visitor)
    return redirect(f"/endpoints/{deployed.name}")


# -- endpoints --------------------------------------------------------------


@router.get("/endpoints")
def endpoints_page(request: Request, platform: ProjectPlatform):
    rows = [(endpoint, platform.traffic.summary(endpoint.id)) for endpoint in platform.endpoints.list()]
    return page(request, "endpoints.html", endpoints=rows)


def _endpoint_page(
    request: Request,
    platform: Platform,
    name: str,
    result: dict | None = None,
    instances_text: str | None = None,
    error: Exception | None = None,
    notice: str | None = None,
    session_id: str | None = None,
):
    view = get_endpoint(name, request, platform)
    endpoint = view.endpoint
    kind = platform.kinds.get(endpoint.kind)
    series = platform.traffic.series(endpoint.id)
    failures = request.app.state.api.serving.failures(platform.project_id, endpoint.id)
    fields = try_fields(platform, view.champion, kind)
    example = values_from_form(fields, {f.name: f.value if f.widget != "checkbox" else str(f.checked) for f in fields})
    return page(
        request,
        "endpoint.html",
        status_code=error.http_status if error else 200,
        view=view,
        kind=kind,
        summary=platform.traffic.summary(endpoint.id),
        traffic=charts.traffic_figure(series, failures),
        latency=charts.latency_figure(series),
        series=series,
        failures=len(failures),
        recent=platform.traffic.recent(endpoint.id),
        fields=fields,
        try_template=try_panel(endpoint.kind),
        instances_text=instances_text or json.dumps([example.get("input", {})], indent=2),
        result=result,
        error=error,
        notice=notice,
        **panel_context(platform, view, result, session_id),
    )


@router.get("/endpoints/{name}")
def endpoint_page(name: str, request: Request, platform: ProjectPlatform):
    return _endpoint_page(request, platform, name)


@router.post("/endpoints/{name}/routing", dependencies=[CsrfChecked])
def set_routing(
    name: str,
    request: Request,
    platform: ProjectPlatform,
    visitor: Writer,
    challenger_mode: Annotated[str, Form()] = "off",
    challenger_share: Annotated[str, Form()] = "0.1",
):
    try:
        share = float(challenger_share) / 100.0
    except ValueError:
        raise InvalidInput(f"challenger share: {challenger_share!r} is not a number of percent") from None
    changes = {"challenger_mode": challenger_mode, "challenger_share": share}
    configure_endpoint(name, changes, request, platform, visitor)
    return redirect(f"/endpoints/{name}")


@router.post("/endpoints/{name}/try", dependencies=[CsrfChecked])
async def try_it(name: str, request: Request, platform: ProjectPlatform, visitor: Visitor):
    """Predict from the try-it panel through the same serving path as ``POST /v1/endpoints/{name}/invocations``;
    a form with a ``session_id`` is a turn of that conversation (kept by the kernel, as ``/v1/bots`` keeps it)."""
    form = await request.form()
    view = get_endpoint(name, request, platform)
    fields = try_fields(platform, view.champion, platform.kinds.get(view.endpoint.kind))
    session_id = form.get(SESSION_FIELD) if isinstance(form.get(SESSION_FIELD), str) else None
    try:
        instances, text, uploads = await form_instances(form, fields)
        if session_id is not None:
            result = await _turn(name, session_id, instances, request, platform, visitor)
        else:
            result = await predict(request.app.state.api.serving, visitor.project_id, name, instances)
    except InvalidInput as error:
        if wants_json(request):
            raise
        text = form.get(INSTANCES_FIELD) if form.get("mode") == "json" else None
        return _endpoint_page(request, platform, name, instances_text=text, error=error, session_id=session_id)
    finally:
        await form.close()  # uploaded files are spooled to temporary files
    if wants_json(request):
        return json_response(result)
    shown = text or (None if uploads else json.dumps(instances, indent=2, default=str))
    return _endpoint_page(
        request,
        platform,
        name,
        result={**result, "instances": instances, "uploads": uploads},
        instances_text=shown,
        session_id=session_id,
    )


async def _turn(name: str, session_id: str, instances: list, request: Request, platform, visitor) -> dict:
    """One turn of a conversation with the endpoint, through the REST route's own function."""
    visitor.require(Role.WRITER)  # a turn changes the session's stored state, as over REST
    if len(instances) != 1 or not isinstance(instances[0], dict) or not isinstance(instances[0].get("text"), str):
        raise InvalidInput('text: a conversation turn is one instance with "text"')
    said = TextTurn(session_id=session_id, text=instances[0]["text"])
    reply = await text_turn(name, said, request, platform, visitor)
    prediction = reply.model_dump(exclude={"session_id", "turn", "prediction_id", "model_version"})
    return {
        "predictions": [prediction],
        "prediction_ids": [reply.prediction_id],
        "model_version": reply.model_version,
        "session_id": reply.session_id,
        "turn": reply.turn,
    }


@router.post("/endpoints/{name}/feedback", dependencies=[CsrfChecked])
def feedback(
    name: str,
    request: Request,
    platform: ProjectPlatform,
    visitor: Writer,
    prediction_id: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
    session_id: Annotated[str, Form()] = "",
):
    text = label.strip()
    if not text:
        raise InvalidInput("label: type the right answer for this prediction")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text  # a bare word is a string label
    record = rest_feedback(
        FeedbackRequest(prediction_id=prediction_id, event_id=f"console-{uuid.uuid4()}", label=value),
        platform,
        visitor,
    )
    notice = f"Feedback recorded for {record.prediction_id}."
    return _endpoint_page(request, platform, name, notice=notice, session_id=session_id or None)
