"""Speech conveniences for people and browsers, beside the standard invocation route.

- ``POST /v1/endpoints/{name}/speech`` ``{"text", "voice"?, "format"?, "sample_rate"?}`` → the audio
  file itself (``audio/wav``, ``audio/ogg``, ``audio/mpeg``), its prediction id in ``X-Prediction-Id``;
- ``POST /v1/endpoints/{name}/transcriptions`` (multipart, field ``file``) → ``{"text", "words", ...,
  "prediction_id"}``;
- ``GET /v1/voices`` → the voices this server knows, with language, gender, engine and whether installed.

Both routes build one standard instance and go through the same kernel serving path as
``/invocations`` (logged, routed to champion/challenger, feedback-ready).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.rest.deps import Caller
from aiflywheel.kernel.serving import Invocation
from aiflywheel.kinds.speech.voices import listing

router = APIRouter(prefix="/v1", tags=["speech"])


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, description="Plain text or SSML (<speak>...</speak>)")
    voice: str | None = None
    format: str | None = Field(None, description="wav, ogg (Opus) or mp3")
    sample_rate: int | None = Field(None, description="8000, 16000, 22050 or 24000")


async def _invoke_one(request: Request, endpoint: str, instance: dict[str, Any]) -> tuple[dict[str, Any], str]:
    api = request.app.state.api
    caller = api.auth(request)
    serving = api.serving
    if not serving.ready(caller.project_id, endpoint):
        await asyncio.to_thread(serving.prepare, caller.project_id, endpoint)
    result: Invocation = await serving.invoke(caller.project_id, endpoint, [instance], loop=asyncio.get_running_loop())
    return result.predictions[0], result.prediction_ids[0]


@router.post("/endpoints/{name}/speech", response_class=Response, responses={200: {"content": {"audio/wav": {}}}})
async def speak(name: str, body: SpeechRequest, request: Request) -> Response:
    """Speak ``text`` with a tts endpoint and return the audio file itself."""
    instance = body.model_dump(exclude_none=True)
    prediction, prediction_id = await _invoke_one(request, name, instance)
    if not isinstance(prediction, dict) or "audio" not in prediction:
        raise InvalidInput(f"endpoint {name!r} does not return audio: use it through /invocations")
    return Response(
        base64.b64decode(prediction["audio"]),
        media_type=prediction.get("media_type", "application/octet-stream"),
        headers={"X-Prediction-Id": prediction_id, "X-Duration-Ms": str(prediction.get("duration_ms", ""))},
    )


@router.post("/endpoints/{name}/transcriptions")
async def transcribe(name: str, file: UploadFile, request: Request) -> dict[str, Any]:
    """Transcribe an uploaded audio file (WAV, FLAC, MP3, OGG, WebM) with an asr endpoint."""
    data = await file.read()
    if not data:
        raise InvalidInput("file: the uploaded file is empty")
    prediction, prediction_id = await _invoke_one(request, name, {"audio": base64.b64encode(data).decode()})
    return {**prediction, "prediction_id": prediction_id}


@router.get("/voices")
def voices(_: Caller) -> list[dict[str, Any]]:
    """Every voice: id, language, gender, engine, sample rate, and whether it is installed on this server."""
    return listing()
