"""Speech conveniences for people and browsers, beside the standard invocation route.

- ``POST /v1/endpoints/{name}/speech`` ``{"text", "voice"?, "format"?, "sample_rate"?}`` → the audio
  file itself (``audio/wav``, ``audio/ogg``, ``audio/mpeg``), its prediction id in ``X-Prediction-Id``;
- ``POST /v1/endpoints/{name}/transcriptions`` (multipart, field ``file``) → ``{"text", "words", ...,
  "prediction_id"}``;
- ``WS /v1/endpoints/{name}/live`` → live transcription of streamed PCM, partial and final results;
- ``POST /v1/endpoints/{name}/speech/stream`` (as ``/speech``) → the audio file as a chunked response,
  sentence by sentence as it is spoken;
- ``POST /v1/endpoints/{name}/synthesis-jobs`` ``{"text" (up to 100,000 characters), ...}`` and
  ``POST /v1/endpoints/{name}/transcription-jobs`` (multipart, field ``file``) → 202 and the queued job;
  poll ``GET /v1/jobs/{id}``, fetch its files at ``GET /v1/jobs/{id}/files/{name}``;
- ``GET /v1/voices`` → the voices this server knows, with language, gender, engine and whether installed.

Each route builds one standard instance and goes through the kernel's serving path (logged, routed,
feedback-ready) or its job queue; none calls a kind.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tempfile
import wave
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from aiflywheel.errors import FlywheelError, InvalidInput
from aiflywheel.interfaces.rest.deps import Caller, ProjectPlatform, Writer
from aiflywheel.interfaces.rest.serving import invocation
from aiflywheel.kernel.jobs import Job
from aiflywheel.kinds.speech.voices import listing

router = APIRouter(prefix="/v1", tags=["speech"])
UPLOAD_ENDINGS = ("/transcription-jobs",)  # long recordings: these take the upload size limit, not the body limit


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, description="Plain text or SSML (<speak>...</speak>)")
    voice: str | None = None
    format: str | None = Field(None, description="wav, ogg (Opus) or mp3")
    sample_rate: int | None = Field(None, description="8000, 16000, 22050 or 24000")


async def _invoke_one(request: Request, endpoint: str, instance: dict[str, Any]) -> tuple[dict[str, Any], str]:
    api = request.app.state.api
    result = await invocation(api.serving, api.auth(request).project_id, endpoint, [instance])
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


@router.post("/endpoints/{name}/speech/stream", response_class=StreamingResponse,
             responses={200: {"content": {"audio/mpeg": {}}}})  # fmt: skip
async def speak_streaming(name: str, body: SpeechRequest, request: Request) -> StreamingResponse:
    """Speak ``text`` and send the audio as it is made, sentence by sentence (a chunked response)."""
    api = request.app.state.api
    project_id = api.auth(request).project_id
    streamed = await asyncio.to_thread(api.serving.stream, project_id, name, body.model_dump(exclude_none=True))
    return StreamingResponse(
        streamed.pieces,  # a plain iterator: Starlette draws each piece on a worker thread
        media_type=streamed.described.get("media_type", "application/octet-stream"),
        headers={"X-Prediction-Id": streamed.prediction_id, "X-Model-Version": streamed.model_version},
    )


class SynthesisJobRequest(SpeechRequest):
    speech_marks: bool = Field(False, description="Also write speech-marks.jsonl (sentence and word times)")


@router.post("/endpoints/{name}/synthesis-jobs", status_code=202)
async def synthesis_job(name: str, body: SynthesisJobRequest, request: Request, platform: ProjectPlatform,
                        _: Writer) -> Job:  # fmt: skip
    """Speak a long text (up to 100,000 characters) as a job that writes the audio file."""
    return await _submit(request, platform, name, body.model_dump(exclude_none=True), None)


@router.post("/endpoints/{name}/transcription-jobs", status_code=202)
async def transcription_job(
    name: str,
    request: Request,
    platform: ProjectPlatform,
    _: Writer,
    file: Annotated[UploadFile, File(description="A long recording: WAV, FLAC, MP3, OGG or WebM")],
    word_timestamps: Annotated[bool, Form()] = True,
) -> Job:
    """Transcribe a long recording as a job: segments with times, transcript.json and transcript.vtt."""
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="upload-") as folder:
        path = Path(folder) / "audio"
        with open(path, "wb") as saved:
            while chunk := await file.read(1 << 20):
                saved.write(chunk)
        instance = {"word_timestamps": word_timestamps}
        return await _submit(request, platform, name, instance, (path, file.filename or "upload"))


async def _submit(request, platform, name: str, instance: dict, upload: tuple[Path, str] | None) -> Job:
    api = request.app.state.api
    version, predictor = await asyncio.to_thread(api.serving.champion, platform.project_id, name)
    return await asyncio.to_thread(platform.prediction_job, version, predictor, instance, upload)


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


PARTIAL_EVERY_SECONDS = 1.0  # a partial result after each second of new audio
SEGMENT_SECONDS = 25.0  # Whisper hears 30 s at a time: a longer utterance is finalised in segments


@router.websocket("/endpoints/{name}/live")
async def live(name: str, socket: WebSocket) -> None:
    """Live transcription: raw 16-bit mono PCM in, partial and final transcripts out.

    Protocol: the first message is JSON ``{"sample_rate": 16000, "api_key"?: "..."}`` (the key
    may come in the ``Authorization`` header instead); then binary messages of PCM. The server
    sends ``{"type": "partial", "text"}`` as audio arrives, ``{"type": "final", "text", "words",
    "prediction_id"}`` for each segment and at ``{"type": "end"}``, then closes. Every transcript
    is an invocation of the endpoint through the standard serving path.
    """
    await socket.accept()
    api = socket.app.state.api
    try:
        config = _live_config(await socket.receive())
        rate = config.get("sample_rate", 16000)
        caller = api.auth(_Credentials(socket, config))
        pcm, since_partial = bytearray(), 0
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes"):
                pcm += message["bytes"]
                since_partial += len(message["bytes"])
                if len(pcm) >= SEGMENT_SECONDS * rate * 2:
                    await _live_final(socket, api, caller.project_id, name, pcm, rate)
                    pcm, since_partial = bytearray(), 0
                elif since_partial >= PARTIAL_EVERY_SECONDS * rate * 2:
                    since_partial = 0
                    heard, _ = await _live_invoke(api, caller.project_id, name, pcm, rate)
                    await socket.send_json({"type": "partial", "text": heard.get("text", "")})
            elif message.get("text") is not None and _end(message["text"]):
                if pcm:
                    await _live_final(socket, api, caller.project_id, name, pcm, rate)
                await socket.close()
                return
    except WebSocketDisconnect:
        return
    except FlywheelError as exc:
        await socket.send_json({"type": "error", **exc.to_dict()})
        await socket.close(code=1008)


class _Credentials:
    """The socket's headers, with the first message's ``api_key`` as the bearer key when no header carries one
    (a browser's WebSocket cannot set headers)."""

    def __init__(self, socket: WebSocket, config: dict):
        self.headers = dict(socket.headers)
        if "authorization" not in self.headers and isinstance(config.get("api_key"), str):
            self.headers["authorization"] = f"Bearer {config['api_key']}"


def _live_config(message: dict) -> dict:
    try:
        config = json.loads(message.get("text") or "null")
    except ValueError:
        config = None
    if not isinstance(config, dict):
        raise InvalidInput('the first message must be a JSON object like {"sample_rate": 16000}')
    rate = config.get("sample_rate", 16000)
    if not isinstance(rate, int) or not 8000 <= rate <= 48000:
        raise InvalidInput(f"sample_rate: expected a whole number of Hz from 8000 to 48000, got {rate!r}")
    return config


def _end(text: str) -> bool:
    try:
        return json.loads(text).get("type") == "end"
    except (ValueError, AttributeError) as exc:
        raise InvalidInput('text messages must be JSON, {"type": "end"} to finish') from exc


async def _live_invoke(api, project_id: int, endpoint: str, pcm: bytearray, rate: int) -> tuple[dict, str]:
    wav = io.BytesIO()
    with wave.open(wav, "wb") as container:  # the PCM in a WAV container, as any client would send it
        container.setnchannels(1)
        container.setsampwidth(2)
        container.setframerate(rate)
        container.writeframes(bytes(pcm[: len(pcm) // 2 * 2]))
    instance = {"audio": base64.b64encode(wav.getvalue()).decode()}
    result = await invocation(api.serving, project_id, endpoint, [instance])
    return result.predictions[0], result.prediction_ids[0]


async def _live_final(socket: WebSocket, api, project_id: int, endpoint: str, pcm: bytearray, rate: int) -> None:
    heard, prediction_id = await _live_invoke(api, project_id, endpoint, pcm, rate)
    await socket.send_json({"type": "final", **heard, "prediction_id": prediction_id})
