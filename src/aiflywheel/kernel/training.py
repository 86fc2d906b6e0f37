"""Training jobs: validated at submission, run by a worker, registered as a model version."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from aiflywheel.kernel.datasets import DatasetVersion
from aiflywheel.kernel.jobs import Job
from aiflywheel.kernel.kinds import Kind, Progress, TrainResult, parse_params
from aiflywheel.kernel.model_files import pack
from aiflywheel.kernel.registry import ModelVersion

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform

JOB_TYPE = "train"


def submit_training(
    platform: Platform,
    kind_name: str,
    dataset: str,
    params: dict[str, Any],
    model: str | None = None,
    dataset_version: int | None = None,
) -> Job:
    """Check everything that can be checked now, then queue the training job.

    Raises
    ------
    KindNotFound, NotFound, InvalidInput
        For an unknown kind or dataset, or parameters the kind rejects (named field and value).
    """
    kind = platform.kinds.get(kind_name)
    parsed = parse_params(kind, params)
    version = platform.datasets.version(dataset, dataset_version)
    kind.validate(parsed, platform.datasets.training_data(version).columns)
    spec = {
        "kind": kind_name,
        "dataset": version.dataset,
        "dataset_version_id": version.id,
        "params": parsed.model_dump(mode="json"),
        "model": model or version.dataset,
    }
    job = platform.jobs.submit(JOB_TYPE, spec)
    platform.jobs.log(job.id, f"train {kind_name} on dataset {version.ref} ({version.row_count} rows)")
    return job


def run_training(platform: Platform, job: Job, progress: Progress) -> dict[str, Any]:
    spec = job.spec
    kind = platform.kinds.get(spec["kind"])
    params = parse_params(kind, spec["params"])
    version = platform.datasets.version_by_id(spec["dataset_version_id"])
    champion = platform.models.champion(spec["model"])
    registered, trained = train_version(platform, job, kind, params, version, spec["model"], champion, progress)
    return {"model": registered.model, "version": registered.version, "summary": trained.summary}


def train_version(
    platform: Platform,
    job: Job,
    kind: Kind,
    params: BaseModel,
    dataset: DatasetVersion,
    model: str,
    parent: ModelVersion | None,
    progress: Progress,
) -> tuple[ModelVersion, TrainResult]:
    """Train ``kind`` on ``dataset`` and register the result as the next (candidate) version of ``model``."""
    data = platform.datasets.training_data(dataset)
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=f"train-{job.id}-") as workdir:
        trained = kind.train(data, params, progress, Path(workdir))
        digest = pack(Path(workdir), platform.artifacts, scratch)
    registered = platform.models.register(
        model=model,
        kind=kind.name,
        params=params.model_dump(mode="json"),
        metrics=trained.metrics,
        primary_metric=trained.primary_metric,
        artifact=digest,
        dataset_version_id=dataset.id,
        job_id=job.id,
        parent_version_id=parent.id if parent else None,
    )
    progress.log(
        f"registered model version {registered.ref} ({trained.primary_metric.name}="
        f"{trained.metrics.get(trained.primary_metric.name)})"
    )
    return registered, trained
