"""Datasets, jobs, models and keys: each route parses, authorizes, calls the kernel once, renders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from aiflywheel.errors import NotFound
from aiflywheel.interfaces.rest.deps import Admin, ProjectPlatform, Writer
from aiflywheel.kernel.datasets import Dataset, DatasetVersion
from aiflywheel.kernel.jobs import Job, JobState, LogLine
from aiflywheel.kernel.keys import KeyInfo, Keys, Role
from aiflywheel.kernel.registry import ModelVersion, Stage

router = APIRouter(prefix="/v1")


# -- datasets ---------------------------------------------------------------


@router.get("/datasets", tags=["datasets"])
def list_datasets(platform: ProjectPlatform) -> list[Dataset]:
    return platform.datasets.list()


@router.post("/datasets", status_code=201, tags=["datasets"])
def upload_dataset(
    request: Request,
    platform: ProjectPlatform,
    _: Writer,
    name: Annotated[str, Form(description="Dataset name; an existing name gets a new version")],
    file: Annotated[UploadFile, File(description="A CSV, TSV, Parquet or JSONL file")],
    format: Annotated[str | None, Form()] = None,
    encoding: Annotated[str, Form()] = "utf-8",
    columns: Annotated[str | None, Form(description="Keep only these columns (comma-separated)")] = None,
) -> DatasetVersion:
    """Upload a file as a new dataset (or its next version)."""
    selected = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    return platform.datasets.upload(
        name,
        file.file,
        file.filename or "upload",
        format=format,
        encoding=encoding,
        columns=selected,
        max_bytes=request.app.state.api.max_upload_bytes,
    )


class DatasetFromPath(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    path: str = Field(description="A file on the server's machine")
    format: str | None = None
    encoding: str = "utf-8"
    columns: list[str] | None = None


@router.post("/datasets/from-path", status_code=201, tags=["datasets"])
def dataset_from_path(body: DatasetFromPath, platform: ProjectPlatform, _: Admin) -> DatasetVersion:
    """Create a dataset from a file already on the server (admin keys only: it reads the server's disk)."""
    return platform.datasets.create(
        body.name, Path(body.path), format=body.format, encoding=body.encoding, columns=body.columns
    )


@router.get("/datasets/{name}", tags=["datasets"])
def get_dataset(name: str, platform: ProjectPlatform) -> Dataset:
    return platform.datasets.get(name)


@router.get("/datasets/{name}/versions", tags=["datasets"])
def list_dataset_versions(name: str, platform: ProjectPlatform) -> list[DatasetVersion]:
    platform.datasets.get(name)
    return platform.datasets.versions(name)


@router.get("/datasets/{name}/versions/{version}", tags=["datasets"])
def get_dataset_version(name: str, version: int, platform: ProjectPlatform) -> DatasetVersion:
    return platform.datasets.version(name, version)


# -- jobs -------------------------------------------------------------------


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["train"] = "train"
    kind: str
    dataset: str
    params: dict[str, Any] = Field(default_factory=dict)
    model: str | None = None


class BatchPredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["batch_predict"]
    model: str
    version: int | None = None
    dataset: str
    output: str | None = None


@router.post("/jobs", status_code=201, tags=["jobs"])
def submit_job(
    body: Annotated[TrainRequest | BatchPredictRequest, Field(discriminator="type")],
    platform: ProjectPlatform,
    _: Writer,
) -> Job:
    """Queue a training job (``type: train``) or a batch prediction job (``type: batch_predict``)."""
    if isinstance(body, TrainRequest):
        return platform.train(body.kind, body.dataset, body.params, model=body.model)
    return platform.batch_predict(body.model, body.dataset, version=body.version, output=body.output)


@router.get("/jobs", tags=["jobs"])
def list_jobs(
    platform: ProjectPlatform,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[Job]:
    return platform.jobs.list(state=state, limit=limit)


@router.get("/jobs/{job_id}", tags=["jobs"])
def get_job(job_id: int, platform: ProjectPlatform) -> Job:
    return platform.jobs.get(job_id)


@router.get("/jobs/{job_id}/logs", tags=["jobs"])
def job_logs(job_id: int, platform: ProjectPlatform, after: int = 0) -> list[LogLine]:
    return platform.jobs.logs(job_id, after=after)


@router.get("/jobs/{job_id}/files/{name}", tags=["jobs"], response_class=FileResponse)
def job_file(job_id: int, name: str, platform: ProjectPlatform) -> FileResponse:
    """An output file of a succeeded prediction job (the audio of a synthesis job, a transcript, ...)."""
    path, media_type = platform.job_file(job_id, name)
    return FileResponse(path, media_type=media_type, filename=name)


@router.post("/jobs/{job_id}/cancel", tags=["jobs"])
def cancel_job(job_id: int, platform: ProjectPlatform, _: Writer) -> Job:
    return platform.jobs.cancel(job_id)


# -- models -----------------------------------------------------------------


@router.get("/models", tags=["models"])
def list_model_versions(platform: ProjectPlatform) -> list[ModelVersion]:
    return platform.models.list()


@router.get("/models/{model}/versions", tags=["models"])
def list_versions_of(model: str, platform: ProjectPlatform) -> list[ModelVersion]:
    return platform.models.list(model)


@router.get("/models/{model}", tags=["models"])
def get_model(model: str, platform: ProjectPlatform) -> ModelVersion:
    """The model's champion, or its latest version if it has none."""
    return platform.models.get(model)


@router.get("/models/{model}/versions/{version}", tags=["models"])
def get_model_version(model: str, version: int, platform: ProjectPlatform) -> ModelVersion:
    return platform.models.get(model, version)


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Stage = Stage.CHAMPION


@router.post("/models/{model}/versions/{version}/promote", tags=["models"])
def promote(model: str, version: int, body: PromoteRequest, request: Request, platform: ProjectPlatform, _: Writer):
    promoted: ModelVersion = platform.models.promote(model, version, body.stage)
    request.app.state.api.serving.forget_routes()
    return promoted


class InstallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    promote: bool = Field(default=True, description="Make the new version champion (endpoints switch at once)")


@router.post("/models/{model}/install", status_code=201, tags=["models"])
def install(model: str, body: InstallRequest, request: Request, platform: ProjectPlatform, _: Writer) -> ModelVersion:
    """Install a pretrained kind (speech, vision, language, ...) with these params as the next version of ``model``."""
    installed = platform.install(body.kind, body.params, model=model, promote=body.promote)
    request.app.state.api.serving.forget_routes()
    return installed


# -- keys -------------------------------------------------------------------


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    name: str = ""


class NewKey(BaseModel):
    key: str = Field(description="The key itself: shown once, stored only hashed")
    info: KeyInfo


@router.post("/keys", status_code=201, tags=["keys"])
def create_key(body: KeyRequest, platform: ProjectPlatform, caller: Admin) -> NewKey:
    key, info = Keys(platform.engine).create(body.role, caller.project, body.name)
    return NewKey(key=key, info=info)


@router.get("/keys", tags=["keys"])
def list_keys(platform: ProjectPlatform, caller: Admin) -> list[KeyInfo]:
    return Keys(platform.engine).list(caller.project)


@router.delete("/keys/{key_id}", tags=["keys"])
def revoke_key(key_id: str, request: Request, platform: ProjectPlatform, caller: Admin) -> KeyInfo:
    keys = Keys(platform.engine)
    if keys.get(key_id).project != caller.project:
        raise NotFound(f"no key {key_id}")
    revoked = keys.revoke(key_id)
    request.app.state.api.auth.forget()
    return revoked
