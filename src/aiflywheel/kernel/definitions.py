"""A model from a definition in one step: rows become a dataset version, trained, served at an endpoint.

What a user of a service defined in a file (a bot, say) expects from "create":
no separate upload, train and deploy. Each step is the ordinary kernel step, so the
dataset, job, model version and endpoint are all there to inspect, retrain and roll back.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from aiflywheel.errors import InvalidInput, KindFailed
from aiflywheel.kernel.endpoints import Endpoint
from aiflywheel.kernel.jobs import Job, JobState, this_worker
from aiflywheel.kernel.kinds import parse_params
from aiflywheel.kernel.names import check_name
from aiflywheel.kernel.registry import ModelVersion
from aiflywheel.kernel.worker import execute

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform


def submit_service(platform: Platform, kind: str, name: str, rows: list[dict[str, Any]], params: dict[str, Any]) -> Job:
    """Check ``params``, store ``rows`` as the next version of dataset ``name``, queue training of model ``name``.

    Raises
    ------
    InvalidInput
        Before anything is written, for a bad name, parameters or empty rows.
    """
    check_name(name, "service")
    parse_params(platform.kinds.get(kind), params)  # a bad definition must not leave a dataset version behind
    if not rows:
        raise InvalidInput(f"{kind} {name!r} has no training rows")
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="service-") as folder:
        path = Path(folder) / f"{name}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
        platform.datasets.create(name, path, origin={"service": kind, "rows": len(rows)})
    return platform.train(kind, name, params, model=name)


def run_here(platform: Platform, job: Job) -> Job:
    """Run a queued job in this process now (unless a worker already took it) and return how it ended."""
    claimed = platform.all_jobs().claim(this_worker(), job_id=job.id)
    if claimed is not None:
        execute(platform, claimed)
    return platform.jobs.get(job.id)


def serve(platform: Platform, job: Job) -> tuple[ModelVersion, Endpoint]:
    """Make the version a succeeded training job registered the champion, served at the model's name."""
    if job.state != JobState.SUCCEEDED:
        raise KindFailed(f"training job {job.id} {job.state.value}: {job.error or job.message}")
    version = platform.models.get(job.result["model"], job.result["version"])
    endpoint = platform.endpoints.deploy(version.model, version.model, version=version.version)
    return platform.models.get(version.model, version.version), endpoint
