"""Vision beside the standard path: multipart uploads for people and browsers, and face collections.

Both call the kernel's serving path (``Serving.invoke`` on an endpoint, ``faces`` by
default), never a kind directly: an upload is the same invocation as the JSON one, logged
with prediction ids for feedback, and a collection follows the faces model the project
serves.
"""

from __future__ import annotations

import asyncio
import base64
import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.rest.deps import ProjectPlatform, Writer
from aiflywheel.interfaces.rest.serving import invocation
from aiflywheel.kernel.face_collections import FaceCollection, IndexedFace
from aiflywheel.kernel.serving import Invocation
from aiflywheel.kinds.components.video import sample_frames
from aiflywheel.kinds.vision.faces import similarity_from_distance

router = APIRouter(prefix="/v1", tags=["vision"])
IMAGE_FIELDS = ("image", "source", "target")


async def invoke(request: Request, endpoint: str, instances: list[dict[str, Any]]) -> Invocation:
    api = request.app.state.api
    return await invocation(api.serving, api.auth(request).project_id, endpoint, instances)


@router.post("/endpoints/{name}/upload")
async def upload(name: str, request: Request) -> Invocation:
    """One instance from a multipart form: file fields ``image`` (or ``source`` and ``target``), other fields as text.

    ``curl -F image=@photo.jpg -H "Authorization: Bearer $KEY" .../v1/endpoints/labels/upload``
    """
    instance: dict[str, Any] = {}
    try:
        form = await request.form()
    except Exception as exc:  # starlette raises its own parser errors for a malformed body
        raise InvalidInput(f"the body is not a readable multipart form: {exc}") from exc
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                instance[key] = base64.b64encode(await value.read()).decode()
            else:
                instance[key] = _form_value(value)
    finally:
        await form.close()  # the uploaded files are spooled to temporary files
    if not any(field in instance for field in IMAGE_FIELDS):
        raise InvalidInput('the form has no file field "image" (or "source" and "target"); send -F image=@photo.jpg')
    return await invoke(request, name, [instance])


def _form_value(value: str) -> Any:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return value


class CollectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class IndexBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: str = Field(description="The photo, base64.")
    external_id: str = Field(description="Your id for the person or photo, returned by searches.")
    all_faces: bool = Field(False, description="Index every face found, not only the largest.")
    endpoint: str = Field("faces", description="The faces endpoint that computes the embeddings.")


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: str = Field(description="The photo, base64; its largest face is searched for.")
    max_results: int = Field(5, ge=1, le=1000)
    threshold: float = Field(50.0, ge=0.0, le=100.0, description="Least similarity (0-100) of a match.")
    endpoint: str = "faces"


@router.post("/face-collections", status_code=201)
def create_collection(body: CollectionBody, platform: ProjectPlatform, _: Writer) -> FaceCollection:
    return platform.face_collections.create(body.name)


@router.get("/face-collections")
def list_collections(platform: ProjectPlatform) -> list[FaceCollection]:
    return platform.face_collections.list()


@router.get("/face-collections/{name}")
def get_collection(name: str, platform: ProjectPlatform) -> FaceCollection:
    return platform.face_collections.get(name)


@router.delete("/face-collections/{name}", status_code=204)
def delete_collection(name: str, platform: ProjectPlatform, _: Writer) -> None:
    platform.face_collections.delete(name)


async def _faces(request: Request, endpoint: str, image: str) -> list[dict[str, Any]]:
    result = await invoke(request, endpoint, [{"image": image, "return_embeddings": True}])
    faces = result.predictions[0].get("faces") if isinstance(result.predictions[0], dict) else None
    if faces is None or any("embedding" not in face for face in faces):
        raise InvalidInput(f"endpoint {endpoint!r} does not return face embeddings: use a faces endpoint")
    return faces


@router.post("/face-collections/{name}/faces", status_code=201)
async def index_faces(name: str, body: IndexBody, request: Request, platform: ProjectPlatform, _: Writer):
    """Find the faces in a photo and index the largest (or all) under ``external_id``."""
    platform.face_collections.get(name)  # a 404 before the model runs
    faces = await _faces(request, body.endpoint, body.image)
    if not faces:
        raise InvalidInput("image: no face found to index")
    chosen = faces if body.all_faces else faces[:1]
    stored = [
        (np.asarray(face["embedding"], np.float32), {"box": face["box"], "quality": face["quality"]}) for face in chosen
    ]
    indexed = await asyncio.to_thread(platform.face_collections.add, name, body.external_id, stored)
    return {"faces": [face.model_dump(mode="json") for face in indexed], "unindexed": len(faces) - len(chosen)}


@router.get("/face-collections/{name}/faces")
def list_faces(name: str, platform: ProjectPlatform) -> list[IndexedFace]:
    return platform.face_collections.faces(name)


@router.delete("/face-collections/{name}/faces/{face_id}", status_code=204)
def delete_face(name: str, face_id: int, platform: ProjectPlatform, _: Writer) -> None:
    platform.face_collections.remove(name, face_id)


@router.post("/face-collections/{name}/search")
async def search_faces(name: str, body: SearchBody, request: Request, platform: ProjectPlatform):
    """The indexed faces most like the largest face in the photo, with similarity 0-100, best first."""
    platform.face_collections.get(name)
    faces = await _faces(request, body.endpoint, body.image)
    if not faces:
        return {"searched_face": None, "matches": [], "note": "no face found in image"}
    found = await asyncio.to_thread(
        platform.face_collections.search, name, np.asarray(faces[0]["embedding"], np.float32), body.max_results
    )
    matches = []
    for match in found:
        score = similarity_from_distance(match.distance)
        if score >= body.threshold:
            matches.append(
                {"face_id": match.face_id, "external_id": match.external_id, "similarity": score, **match.details}
            )
    searched = {key: value for key, value in faces[0].items() if key != "embedding"}
    return {"searched_face": searched, "matches": matches}


VIDEO_SERVICES = ("labels", "faces")


@router.post("/vision/video", status_code=202)
async def analyse_video(request: Request, platform: ProjectPlatform, _: Writer) -> dict[str, Any]:
    """Frames of an uploaded video become a dataset (``seconds``, ``image``), analysed by batch-prediction jobs.

    Multipart fields: the file ``video``; ``every_seconds`` (1.0); ``services`` (endpoint
    models, comma-separated: ``labels,faces``); ``name`` (the frames' dataset, default from
    the file name). Each service's job writes ``<name>-<service>`` with a prediction per frame.
    """
    try:
        form = await request.form()
    except Exception as exc:
        raise InvalidInput(f"the body is not a readable multipart form: {exc}") from exc
    try:
        upload_file = form.get("video")
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput('the form has no file field "video"; send -F video=@clip.mp4')
        every = _number(form.get("every_seconds", "1.0"), "every_seconds")
        services = [s.strip() for s in str(form.get("services", ",".join(VIDEO_SERVICES))).split(",") if s.strip()]
        stem = Path(upload_file.filename or "video").stem.lower()
        name = str(form.get("name") or "video-" + "".join(c if c.isalnum() else "-" for c in stem)).strip("-")
        for service in services:
            platform.models.get(service)  # a 404 naming the service before any decoding
        scratch = platform.settings.home / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=scratch, prefix="video-") as folder:
            clip = Path(folder) / "clip"
            clip.write_bytes(await upload_file.read())
            frames = await asyncio.to_thread(sample_frames, clip, every)
            table = pa.table(
                {
                    "seconds": [frame.seconds for frame in frames],
                    "image": [_jpeg64(frame.image) for frame in frames],
                }
            )
            pq.write_table(table, Path(folder) / "frames.parquet")
            version = await asyncio.to_thread(
                platform.datasets.create, name, Path(folder) / "frames.parquet", source_name=upload_file.filename
            )
    finally:
        await form.close()
    jobs = [
        {
            "service": service,
            "job_id": platform.batch_predict(service, version.dataset, output=f"{name}-{service}").id,
            "output": f"{name}-{service}",
        }
        for service in services
    ]
    return {"dataset": version.dataset, "version": version.version, "frames": len(frames), "jobs": jobs}


def _number(value: Any, field: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field} must be a number of seconds, got {value!r}") from exc


def _jpeg64(image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()
