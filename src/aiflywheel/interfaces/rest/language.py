"""Language conveniences beside the standard invocation route.

- ``GET /v1/endpoints/{name}/pairs`` → the language pairs a translation endpoint's champion
  translates, each with its engine (``neural``, ``ctranslate2``, ``bergamot``, ``apertium``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.rest.deps import Caller
from aiflywheel.kinds.translator.predictor import TranslatorPredictor

router = APIRouter(prefix="/v1", tags=["language"])


@router.get("/endpoints/{name}/pairs")
async def pairs(name: str, request: Request, caller: Caller) -> dict[str, Any]:
    """The pairs the endpoint's champion translates (its own user models first), with their engines."""
    serving = request.app.state.api.serving
    version, predictor = await asyncio.to_thread(serving.champion, caller.project_id, name)
    if not isinstance(predictor, TranslatorPredictor):
        raise InvalidInput(f"endpoint {name!r} serves a {version.kind!r} model, not a translator: it has no pairs")
    return {"endpoint": name, "model_version": version.ref, "pairs": predictor.pairs()}
