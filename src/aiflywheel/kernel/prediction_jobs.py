"""Prediction jobs: one instance too big for a request (a long text to speak, an hour of audio), answered as a job.

The model's predictor must be a ``JobPredictor``. Submitting checks the instance with the
predictor the endpoint already serves (a bad one is refused before anything is queued) and
keeps an uploaded source file in the artifact store; the job loads the same model version in
its worker, lets the predictor write its output files, keeps each in the artifact store and
records them in the job's result, with the prediction, logged like an endpoint's so feedback
can answer it. ``GET /v1/jobs/{id}/files/{name}`` fetches a file.
"""

from __future__ import annotations

import mimetypes
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiflywheel.errors import InvalidInput, NotFound
from aiflywheel.kernel.batch import log_job_predictions
from aiflywheel.kernel.jobs import Job, JobState
from aiflywheel.kernel.kinds import JobPredictor, Predictor, Progress
from aiflywheel.kernel.registry import ModelVersion

if TYPE_CHECKING:
    from aiflywheel.kernel.platform import Platform

JOB_TYPE = "prediction_job"
Upload = tuple[Path, str] | None  # an uploaded file a job reads: where it is now, and the name it was sent with
mimetypes.add_type("application/jsonl", ".jsonl")
mimetypes.add_type("text/vtt", ".vtt")


def submit_prediction_job(
    platform: Platform, version: ModelVersion, predictor: Predictor, instance: Any, upload: Upload = None
) -> Job:
    """Queue ``instance`` (and the uploaded file) for ``version``, once ``predictor`` (its loaded copy) accepts it."""
    if not isinstance(predictor, JobPredictor):
        raise InvalidInput(f"model {version.ref} ({version.kind}) does not take jobs; use its endpoint")
    source, source_name = upload or (None, None)
    predictor.check_job(instance, source)
    spec = {
        "model": version.ref,
        "model_version_id": version.id,
        "instance": instance,
        "source": platform.artifacts.put_file(source) if source is not None else None,
        "source_name": source_name,
    }
    job = platform.jobs.submit(JOB_TYPE, spec)
    platform.jobs.log(job.id, f"predict one instance with {version.ref}" + (f" from {source_name}" * bool(source_name)))
    return job


def run_prediction_job(platform: Platform, job: Job, progress: Progress) -> dict[str, Any]:
    spec = job.spec
    version = platform.models.by_id(spec["model_version_id"])
    predictor = platform.predictor(version)
    if not isinstance(predictor, JobPredictor):
        raise InvalidInput(f"model {version.ref} ({version.kind}) does not take jobs")
    source = platform.artifacts.local_path(spec["source"]) if spec.get("source") else None
    scratch = platform.settings.home / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=f"job-{job.id}-") as folder:
        prediction = predictor.run_job(spec["instance"], source, Path(folder), progress)
        files = {
            path.name: {
                "digest": platform.artifacts.put_file(path),
                "bytes": path.stat().st_size,
                "media_type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            }
            for path in sorted(Path(folder).iterdir())
            if path.is_file()
        }
    prediction_id = _log(platform, version.id, spec, prediction)
    progress.log(f"wrote {', '.join(files) or 'no files'}")
    return {"model": version.ref, "prediction_id": prediction_id, "prediction": prediction, "files": files}


def job_file(platform: Platform, job_id: int, name: str) -> tuple[Path, str]:
    """The local path and media type of output file ``name`` of a finished prediction job."""
    job = platform.jobs.get(job_id)
    if job.type != JOB_TYPE:
        raise NotFound(f"job {job_id} is a {job.type} job; only prediction jobs have files")
    if job.state != JobState.SUCCEEDED:
        raise NotFound(f"job {job_id} is {job.state.value}; its files exist once it has succeeded")
    files = (job.result or {}).get("files", {})
    if name not in files:
        raise NotFound(f"job {job_id} has no file {name!r}; it has {', '.join(files) or 'none'}")
    return platform.artifacts.local_path(files[name]["digest"]), files[name]["media_type"]


def _log(platform: Platform, version_id: int, spec: dict[str, Any], prediction: dict[str, Any]) -> str:
    logged = dict(spec["instance"]) if isinstance(spec["instance"], dict) else {"instance": spec["instance"]}
    if spec.get("source"):
        logged["source"] = spec["source"]  # the uploaded file's digest in the artifact store
    prediction_id = log_job_predictions(platform, version_id, [logged], [prediction])[0]
    platform.prediction_log.flush()
    return prediction_id
