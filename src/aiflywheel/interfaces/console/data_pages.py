"""Overview, datasets, training and jobs pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from aiflywheel.errors import InvalidInput
from aiflywheel.interfaces.console.forms import fields_from_schema, values_from_form
from aiflywheel.interfaces.console.web import (
    ConsoleRoute,
    CsrfChecked,
    ProjectPlatform,
    Writer,
    json_response,
    page,
    redirect,
    wants_json,
)
from aiflywheel.interfaces.rest.resources import TrainRequest, cancel_job, submit_job, upload_dataset
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.platform import Platform

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PARAMS_PREFIX = "params."


def active_jobs(platform: Platform) -> list:
    return platform.jobs.list(state=JobState.RUNNING) + platform.jobs.list(state=JobState.QUEUED)


@router.get("/")
def overview(request: Request, platform: ProjectPlatform):
    endpoints = [(endpoint, platform.traffic.summary(endpoint.id)) for endpoint in platform.endpoints.list()]
    return page(
        request,
        "overview.html",
        kinds=platform.kinds.all(),
        endpoints=endpoints,
        active=active_jobs(platform),
        recent=platform.jobs.list(limit=8),
    )


# -- datasets ---------------------------------------------------------------


@router.get("/datasets")
def datasets_page(request: Request, platform: ProjectPlatform):
    return page(request, "datasets.html", datasets=platform.datasets.list())


@router.post("/datasets", dependencies=[CsrfChecked])
def upload(
    request: Request,
    platform: ProjectPlatform,
    visitor: Writer,
    name: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
    format: Annotated[str, Form()] = "",
):
    if file is None or not file.filename:
        raise InvalidInput("file: choose a CSV, TSV, Parquet or JSONL file to upload")
    name = name.strip() or _name_from(file.filename)
    created = upload_dataset(request, platform, visitor, name, file, format=format or None)
    if wants_json(request):
        return json_response(created.model_dump(), status_code=201)
    return redirect(f"/datasets/{created.dataset}?version={created.version}")


def _name_from(filename: str) -> str:
    """A dataset name from a file name: ``Claims 2024.csv`` → ``Claims-2024``."""
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem).strip("-._")
    return cleaned[:100] or "upload"


@router.get("/datasets/{name}")
def dataset_page(name: str, request: Request, platform: ProjectPlatform, version: int | None = None):
    dataset = platform.datasets.get(name)
    return page(
        request,
        "dataset.html",
        dataset=dataset,
        versions=list(reversed(platform.datasets.versions(name))),
        shown=platform.datasets.version(name, version),
    )


# -- training ---------------------------------------------------------------


def _training_page(
    request: Request,
    platform: Platform,
    kind_name: str | None,
    dataset_name: str | None,
    values: dict[str, Any] | None = None,
    model: str = "",
    error: Exception | None = None,
):
    kinds = [kind for kind in platform.kinds.all() if not getattr(kind, "pretrained", False)] or platform.kinds.all()
    datasets = platform.datasets.list()
    kind = platform.kinds.get(kind_name) if kind_name else (kinds[0] if kinds else None)
    dataset = next((d for d in datasets if d.name == dataset_name), datasets[0] if datasets else None)
    fields = fields_from_schema(kind.Params.model_json_schema(), values, prefix=PARAMS_PREFIX) if kind else []
    columns = [column["name"] for column in dataset.latest.columns] if dataset and dataset.latest else []
    return page(
        request,
        "training.html",
        status_code=error.http_status if error else 200,
        kinds=kinds,
        kind=kind,
        datasets=datasets,
        dataset=dataset,
        fields=fields,
        columns=columns,
        model=model,
        error=error,
    )


@router.get("/training")
def training_page(request: Request, platform: ProjectPlatform, kind: str | None = None, dataset: str | None = None):
    return _training_page(request, platform, kind, dataset)


@router.post("/training", dependencies=[CsrfChecked])
async def train(request: Request, platform: ProjectPlatform, visitor: Writer):
    form = await request.form()
    kind_name, dataset_name = str(form.get("kind", "")), str(form.get("dataset", ""))
    model = str(form.get("model", "")).strip()
    kind = platform.kinds.get(kind_name)
    fields = fields_from_schema(kind.Params.model_json_schema(), prefix=PARAMS_PREFIX)
    try:
        params = values_from_form(fields, form).get("params", {})
        job = submit_job(
            TrainRequest(kind=kind_name, dataset=dataset_name, params=params, model=model or None), platform, visitor
        )
    except InvalidInput as error:
        submitted = {key[len(PARAMS_PREFIX) :]: value for key, value in form.items() if key.startswith(PARAMS_PREFIX)}
        return _training_page(request, platform, kind_name, dataset_name, submitted, model, error)
    return redirect(f"/jobs/{job.id}")


# -- jobs -------------------------------------------------------------------


@router.get("/jobs/{job_id}")
def job_page(job_id: int, request: Request, platform: ProjectPlatform):
    job = platform.jobs.get(job_id)
    return page(request, "job.html", job=job, logs=platform.jobs.logs(job_id), model=platform.models.by_job(job_id))


@router.get("/jobs/{job_id}/live")
def job_live(job_id: int, platform: ProjectPlatform, after: int = 0):
    """What the job page's script polls: the job's state and its log lines after ``after``."""
    job = platform.jobs.get(job_id)
    model = platform.models.by_job(job_id) if job.state.finished else None
    return json_response(
        {
            "id": job.id,
            "state": job.state.value,
            "finished": job.state.finished,
            "progress": job.progress,
            "message": job.message,
            "error": job.error,
            "model": model.ref if model else None,
            "logs": [line.model_dump() for line in platform.jobs.logs(job_id, after=after)],
        }
    )


@router.post("/jobs/{job_id}/cancel", dependencies=[CsrfChecked])
def cancel(job_id: int, platform: ProjectPlatform, visitor: Writer):
    cancel_job(job_id, platform, visitor)
    return redirect(f"/jobs/{job_id}")
