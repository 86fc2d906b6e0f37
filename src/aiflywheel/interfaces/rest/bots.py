"""Bots: create from a definition, talk to them in text turns kept per session.

- ``PUT /v1/bots/{name}`` with the definition (JSON, or YAML with ``Content-Type: application/yaml``)
  trains the bot and serves it at endpoint ``name``;
- ``POST /v1/bots/{name}/text`` ``{"session_id", "text"}`` → intent, confidence, slots, dialog state, message;
- ``POST /v1/bots/{name}/audio`` ``{"session_id", "audio"}`` → the same, heard through the ``asr`` endpoint
  and answered with speech from the ``tts`` endpoint (the way any client would call them);
- ``DELETE /v1/bots/{name}/sessions/{session_id}`` ends a session;
- ``GET /v1/bots/{name}/unrecognised`` groups recent fallback utterances into suggested intents.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.bots import create_bot, unrecognised
from aiflywheel.interfaces.rest.deps import ProjectPlatform, Writer
from aiflywheel.interfaces.rest.serving import predict
from aiflywheel.kernel.conversations import Conversations
from aiflywheel.kernel.endpoints import Endpoint
from aiflywheel.kernel.registry import ModelVersion
from aiflywheel.kinds.bot.definition import parse_text

router = APIRouter(prefix="/v1/bots", tags=["bots"])
MAX_DEFINITION_BYTES = 2 << 20


class BotCreated(BaseModel):
    model_version: ModelVersion
    endpoint: Endpoint


class TextTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(..., description="Any id of the caller's choosing; turns with one id form a conversation")
    text: str = Field(..., description="What the user said")


class TurnReply(BaseModel):
    session_id: str
    turn: int
    intent: str
    confidence: float
    slots: dict[str, Any]
    dialog_state: str
    message: str
    slot_to_elicit: str | None = None
    fulfillment_error: str | None = None
    prediction_id: str
    model_version: str


_DEFINITION_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object"}}, "application/yaml": {"schema": {"type": "string"}}},
}


@router.put("/{name}", status_code=201, openapi_extra={"requestBody": _DEFINITION_BODY})
async def put_bot(name: str, request: Request, platform: ProjectPlatform, _: Writer) -> BotCreated:
    """Create or update a bot from its definition and train it (seconds for a small bot)."""
    body = await request.body()
    if len(body) > MAX_DEFINITION_BYTES:
        raise InvalidInput(f"the definition is larger than {MAX_DEFINITION_BYTES} bytes")
    document = _definition(body, request.headers.get("content-type", ""))
    version, endpoint = await asyncio.to_thread(create_bot, platform, name, document)
    request.app.state.api.serving.forget_routes()
    return BotCreated(model_version=version, endpoint=endpoint)


@router.post("/{name}/text")
async def text_turn(name: str, body: TextTurn, request: Request, platform: ProjectPlatform, _: Writer) -> TurnReply:
    """One text turn of a conversation: the bot's reply and the dialog's state."""
    conversations = Conversations(platform.engine, platform.project_id)
    serving = request.app.state.api.serving
    reply = await asyncio.to_thread(conversations.turn, serving, name, body.session_id, {"text": body.text})
    return TurnReply(
        session_id=reply.session_id,
        turn=reply.turn,
        prediction_id=reply.prediction_id,
        model_version=reply.model_version,
        **reply.prediction,
    )


class AudioTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(..., description="Any id of the caller's choosing; turns with one id form a conversation")
    audio: str = Field(..., min_length=1, description="What the user said: base64 WAV, FLAC, MP3, OGG or WebM")
    voice: str | None = Field(None, description="The reply's voice (default: the tts endpoint's)")
    format: str | None = Field(None, description="The reply's audio format: wav, ogg or mp3")
    asr_endpoint: str = Field("asr", description="The speech-to-text endpoint that hears the user")
    tts_endpoint: str = Field("tts", description="The text-to-speech endpoint that answers")


class AudioTurnReply(TurnReply):
    transcript: str = Field(..., description="What the asr endpoint heard")
    transcript_prediction_id: str
    audio: str | None = Field(None, description="The message spoken (base64), when there is one")
    media_type: str | None = None
    speech_prediction_id: str | None = None


@router.post("/{name}/audio")
async def audio_turn(
    name: str, body: AudioTurn, request: Request, platform: ProjectPlatform, _: Writer
) -> AudioTurnReply:
    """One spoken turn: the user's speech is transcribed, answered as a text turn, and the answer spoken."""
    serving = request.app.state.api.serving
    heard = await predict(serving, platform.project_id, body.asr_endpoint, [{"audio": body.audio}])
    transcript = str(heard["predictions"][0].get("text", "")).strip()
    if not transcript:
        raise InvalidInput("audio: no speech was heard in it")
    conversations = Conversations(platform.engine, platform.project_id)
    reply = await asyncio.to_thread(conversations.turn, serving, name, body.session_id, {"text": transcript})
    spoken: dict[str, Any] = {}
    if reply.prediction.get("message"):
        instance = {"text": reply.prediction["message"], "voice": body.voice, "format": body.format}
        said = await predict(serving, platform.project_id, body.tts_endpoint, [_without_none(instance)])
        speech = said["predictions"][0]
        spoken = {
            "audio": speech.get("audio"),
            "media_type": speech.get("media_type"),
            "speech_prediction_id": said["prediction_ids"][0],
        }
    return AudioTurnReply(
        session_id=reply.session_id,
        turn=reply.turn,
        prediction_id=reply.prediction_id,
        model_version=reply.model_version,
        transcript=transcript,
        transcript_prediction_id=heard["prediction_ids"][0],
        **spoken,
        **reply.prediction,
    )


def _without_none(instance: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in instance.items() if value is not None}


@router.delete("/{name}/sessions/{session_id}", status_code=204)
def end_session(name: str, session_id: str, platform: ProjectPlatform, _: Writer) -> None:
    Conversations(platform.engine, platform.project_id).forget(name, session_id)


class SuggestedIntent(BaseModel):
    suggested_intent: str
    count: int
    examples: list[str]


class UnrecognisedReport(BaseModel):
    bot: str
    fallback_utterances: int
    suggestions: list[SuggestedIntent]


@router.get("/{name}/unrecognised")
async def unrecognised_report(
    name: str,
    platform: ProjectPlatform,
    turns: int = Query(5000, ge=1, le=100_000, description="How many of the newest turns to look at"),
    min_count: int = Query(2, ge=1, description="Smallest group worth suggesting"),
) -> UnrecognisedReport:
    """Utterances the bot did not understand, grouped into suggested new intents."""
    count, suggestions = await asyncio.to_thread(unrecognised, platform, name, turns, min_count)
    return UnrecognisedReport(
        bot=name, fallback_utterances=count, suggestions=[SuggestedIntent(**vars(s)) for s in suggestions]
    )


def _definition(body: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"the definition is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise InvalidInput("the definition must be a JSON object with 'intents'")
        return document
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the definition is not UTF-8 text") from exc
    return parse_text(text, "the definition")
