"""Endpoints, invocations and feedback: the stable serving contract.

- ``POST /v1/endpoints/{name}/invocations`` ``{"instances": [...]}`` →
  ``{"predictions": [...], "prediction_ids": [...], "model_version": "model:version"}``
- ``POST /v1/feedback`` ``{"prediction_id", "event_id", one of "label" | "outcome" | "reward"}``,
  idempotent by ``event_id``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.rest.deps import ProjectPlatform, Writer
from aiflywheel.kernel.endpoints import Endpoint
from aiflywheel.kernel.predictions import FeedbackRecord, FeedbackRequest
from aiflywheel.kernel.registry import ModelVersion
from aiflywheel.kernel.serving import Invocation, Serving

router = APIRouter(prefix="/v1")


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    name: str | None = Field(None, description="Endpoint name (default: the model's name)")
    version: int | None = Field(None, description="Make this version the champion first")
    config: dict[str, Any] = Field(default_factory=dict, description="EndpointConfig fields to set")


class EndpointView(BaseModel):
    endpoint: Endpoint
    champion: ModelVersion | None
    challenger: ModelVersion | None
    loaded: list[str]


@router.post("/endpoints", status_code=201, tags=["endpoints"])
def deploy(body: DeployRequest, request: Request, platform: ProjectPlatform, _: Writer) -> Endpoint:
    """Serve a model's champion at an endpoint (created, or updated if it exists)."""
    deployed = platform.endpoints.deploy(body.model, body.name, version=body.version, config=body.config)
    request.app.state.api.serving.forget_routes()
    return deployed


@router.get("/endpoints", tags=["endpoints"])
def list_endpoints(platform: ProjectPlatform) -> list[Endpoint]:
    return platform.endpoints.list()


@router.get("/endpoints/{name}", tags=["endpoints"])
def get_endpoint(name: str, request: Request, platform: ProjectPlatform) -> EndpointView:
    endpoint = platform.endpoints.get(name)
    champion, challenger = platform.models.champion(endpoint.model), platform.models.challenger(endpoint.model)
    loaded = [ref for ref in request.app.state.api.serving.loaded() if ref.startswith(f"{endpoint.model}:")]
    return EndpointView(endpoint=endpoint, champion=champion, challenger=challenger, loaded=loaded)


@router.patch("/endpoints/{name}", tags=["endpoints"])
def configure_endpoint(name: str, changes: dict[str, Any], request: Request, platform: ProjectPlatform, _: Writer):
    """Change routing or batching settings; fields are those of ``EndpointConfig``."""
    updated: Endpoint = platform.endpoints.configure(name, changes)
    request.app.state.api.serving.forget_routes()
    return updated


@router.delete("/endpoints/{name}", status_code=204, tags=["endpoints"])
def delete_endpoint(name: str, request: Request, platform: ProjectPlatform, _: Writer) -> None:
    platform.endpoints.delete(name)
    request.app.state.api.serving.forget_routes()


@router.post(
    "/endpoints/{name}/invocations",
    tags=["endpoints"],
    response_model=Invocation,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["instances"],
                        "properties": {"instances": {"type": "array", "items": {}, "minItems": 1}},
                    }
                }
            },
        }
    },
)
async def invoke(name: str, request: Request) -> Response:
    """Predict a batch of instances with the endpoint's champion (or challenger, by its routing)."""
    api = request.app.state.api
    caller = api.auth(request)  # called directly, not as a dependency: this route is the hot path
    body = await predict(api.serving, caller.project_id, name, _instances(await request.body()))
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


async def invocation(serving: Serving, project_id: int, name: str, instances: list[Any]) -> Invocation:
    """Invoke endpoint ``name`` of the project: the one serving path of the REST API and the console."""
    if not serving.ready(project_id, name):  # route lookups and model loading block: keep them off the loop
        await asyncio.to_thread(serving.prepare, project_id, name)
    return await serving.invoke(project_id, name, instances, loop=asyncio.get_running_loop())


async def predict(serving: Serving, project_id: int, name: str, instances: list[Any]) -> dict[str, Any]:
    """``invocation`` as the JSON body of an answer."""
    result = await invocation(serving, project_id, name, instances)
    return {
        "predictions": result.predictions,
        "prediction_ids": result.prediction_ids,
        "model_version": result.model_version,
    }


def _instances(body: bytes) -> list[Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or "instances" not in document:
        raise InvalidInput('the body must be a JSON object {"instances": [...]}')
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise InvalidInput('"instances" must be a non-empty list')
    return instances


@router.post("/feedback", tags=["feedback"])
def send_feedback(body: FeedbackRequest, platform: ProjectPlatform, _: Writer) -> FeedbackRecord:
    """Feedback on a prediction; the same ``event_id`` again returns the first record (``duplicate: true``)."""
    return platform.feedback.send(body)
