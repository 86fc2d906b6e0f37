"""The resources of the REST API as attributes of ``Client``: ``client.datasets``, ``.jobs``, ``.models``,
``.endpoints`` and ``.keys``, one small class each."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from aiflywheel.kernel.datasets import Dataset, DatasetVersion
from aiflywheel.kernel.endpoints import Endpoint
from aiflywheel.kernel.flywheel import FlywheelEvent, FlywheelStatus
from aiflywheel.kernel.jobs import Job, JobState, LogLine
from aiflywheel.kernel.keys import KeyInfo, Role
from aiflywheel.kernel.registry import ModelVersion, Stage

if TYPE_CHECKING:
    from aiflywheel.interfaces.sdk.client import Client


def segment(name: str | int) -> str:
    """A name as one URL path segment."""
    return quote(str(name), safe="")


class DatasetsApi:
    """``client.datasets``: named, versioned datasets."""

    def __init__(self, client: Client):
        self._client = client

    def create(
        self,
        name: str,
        file: str | os.PathLike[str] | BinaryIO,
        format: str | None = None,
        encoding: str = "utf-8",
        columns: list[str] | None = None,
    ) -> DatasetVersion:
        """Upload a local CSV, TSV, Parquet or JSONL file as dataset ``name`` (or its next version).

        Parameters
        ----------
        file:
            A path, or a binary file object (its ``name`` gives the format unless ``format`` does).
        columns:
            Keep only these columns.

        Raises
        ------
        InvalidInput
            When the server cannot read the file; the message names the file, row or column.
        PayloadTooLarge
            When the file is larger than the server's upload limit.
        """
        data = {"name": name, "encoding": encoding}
        if format is not None:
            data["format"] = format
        if columns:
            data["columns"] = ",".join(columns)
        if isinstance(file, str | os.PathLike):
            path = Path(file)
            with path.open("rb") as stream:
                return self._upload(data, path.name, stream)
        return self._upload(data, Path(getattr(file, "name", "") or "upload").name, file)

    def _upload(self, data: dict[str, str], filename: str, stream: BinaryIO) -> DatasetVersion:
        response = self._client.request(
            "POST", "/v1/datasets", data=data, files={"file": (filename, stream)}, wait_for_answer=True
        )
        return DatasetVersion.model_validate(response.json())

    def from_path(
        self,
        name: str,
        path: str,
        format: str | None = None,
        encoding: str = "utf-8",
        columns: list[str] | None = None,
    ) -> DatasetVersion:
        """Create dataset ``name`` from a file on the server's machine (admin keys only)."""
        body = {"name": name, "path": str(path), "format": format, "encoding": encoding, "columns": columns}
        response = self._client.request("POST", "/v1/datasets/from-path", json=body, wait_for_answer=True)
        return DatasetVersion.model_validate(response.json())

    def list(self) -> list[Dataset]:
        """The project's datasets, each with its latest version."""
        return self._client.get_list("/v1/datasets", Dataset)

    def get(self, name: str) -> Dataset:
        return self._client.get(f"/v1/datasets/{segment(name)}", Dataset)

    def versions(self, name: str) -> list[DatasetVersion]:
        return self._client.get_list(f"/v1/datasets/{segment(name)}/versions", DatasetVersion)

    def version(self, name: str, version: int | None = None) -> DatasetVersion:
        """Version ``version`` of dataset ``name``, or its latest version."""
        if version is None:
            return self.versions(name)[-1]
        return self._client.get(f"/v1/datasets/{segment(name)}/versions/{int(version)}", DatasetVersion)


class JobsApi:
    """``client.jobs``: training and batch prediction jobs (submit them with ``client.train`` and
    ``client.batch_predict``)."""

    def __init__(self, client: Client):
        self._client = client

    def get(self, job_id: int) -> Job:
        return self._client.get(f"/v1/jobs/{int(job_id)}", Job)

    def list(self, state: JobState | str | None = None, limit: int = 50) -> list[Job]:
        """The project's latest jobs, newest first, optionally only those in ``state``."""
        return self._client.get_list("/v1/jobs", Job, state=JobState(state).value if state else None, limit=limit)

    def logs(self, job_id: int, after: int = 0) -> list[LogLine]:
        """The job's log lines with an id greater than ``after``."""
        return self._client.get_list(f"/v1/jobs/{int(job_id)}/logs", LogLine, after=after)

    def cancel(self, job_id: int) -> Job:
        """Cancel a queued job at once, or ask a running one to stop."""
        return self._client.post(f"/v1/jobs/{int(job_id)}/cancel", Job)

    def wait(self, job_id: int, timeout: float | None = None) -> Job:
        """Poll until the job has finished (succeeded, failed or cancelled) and return it.

        Raises
        ------
        TimeoutError
            When it is still queued or running after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = 0.1
        while True:
            job = self.get(job_id)
            if job.state.finished:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.state.value} after {timeout} s")
            pause = interval if deadline is None else min(interval, max(deadline - time.monotonic(), 0.0))
            time.sleep(pause)
            interval = min(interval * 1.5, 2.0)


class ModelsApi:
    """``client.models``: the registry's models and versions."""

    def __init__(self, client: Client):
        self._client = client

    def list(self, model: str | None = None) -> list[ModelVersion]:
        """Every version of every model, or of ``model``."""
        path = "/v1/models" if model is None else f"/v1/models/{segment(model)}/versions"
        return self._client.get_list(path, ModelVersion)

    def get(self, model: str, version: int | None = None) -> ModelVersion:
        """Version ``version`` of ``model``; without one, its champion, else its latest version."""
        if version is None:
            return self._client.get(f"/v1/models/{segment(model)}", ModelVersion)
        return self._client.get(f"/v1/models/{segment(model)}/versions/{int(version)}", ModelVersion)

    def promote(self, model: str, version: int, stage: Stage | str = Stage.CHAMPION) -> ModelVersion:
        """Move a version to ``stage``; the previous champion (or challenger) is archived."""
        path = f"/v1/models/{segment(model)}/versions/{int(version)}/promote"
        return self._client.post(path, ModelVersion, {"stage": str(stage)})

    def install(
        self, kind: str, params: dict[str, Any] | None = None, model: str | None = None, promote: bool = True
    ) -> ModelVersion:
        """Install a pretrained kind with ``params`` as the next version of ``model`` (default: the kind's name)."""
        body = {"kind": kind, "params": params or {}, "promote": promote}
        return self._client.post(f"/v1/models/{segment(model or kind)}/install", ModelVersion, body)


class EndpointsApi:
    """``client.endpoints``: models served over REST (create them with ``client.deploy``)."""

    def __init__(self, client: Client):
        self._client = client

    def list(self) -> list[Endpoint]:
        return self._client.get_list("/v1/endpoints", Endpoint)

    def get(self, name: str) -> Endpoint:
        """The endpoint (``client.models.get(endpoint.model)`` is the champion it serves)."""
        return Endpoint.model_validate(self._client.request("GET", f"/v1/endpoints/{segment(name)}").json()["endpoint"])

    def configure(self, name: str, **changes: Any) -> Endpoint:
        """Change routing or batching settings, e.g. ``configure("claims", challenger_mode="shadow")``."""
        response = self._client.request("PATCH", f"/v1/endpoints/{segment(name)}", json=changes)
        return Endpoint.model_validate(response.json())

    def delete(self, name: str) -> None:
        self._client.request("DELETE", f"/v1/endpoints/{segment(name)}")

    def pairs(self, name: str = "translate") -> list[dict[str, str]]:
        """The language pairs a translation endpoint serves: ``[{"source", "target", "engine"}, ...]``."""
        return self._client.request("GET", f"/v1/endpoints/{segment(name)}/pairs").json()["pairs"]


class FlywheelApi:
    """``client.flywheel``: each endpoint's policy, retrains, approvals and the history of decisions."""

    def __init__(self, client: Client):
        self._client = client

    def _path(self, endpoint: str, leaf: str) -> str:
        return f"/v1/endpoints/{segment(endpoint)}/{leaf}"

    def policy(self, endpoint: str) -> FlywheelStatus:
        """The policy, the loop's state and what is pending (``new_labels``, the ``job`` in flight)."""
        return self._client.get(self._path(endpoint, "policy"), FlywheelStatus)

    def set_policy(self, endpoint: str, policy: dict[str, Any] | None = None, replace: bool = False) -> FlywheelStatus:
        """Change the policy, e.g. ``set_policy("claims", {"triggers": {"every_n_labels": 500}})``.

        With ``replace``, ``policy`` is the whole policy and fields left out take their defaults.
        """
        response = self._client.request(
            "PUT" if replace else "PATCH", self._path(endpoint, "policy"), json=policy or {}
        )
        return FlywheelStatus.model_validate(response.json())

    def delete_policy(self, endpoint: str) -> None:
        self._client.request("DELETE", self._path(endpoint, "policy"))

    def retrain(self, endpoint: str, wait: bool = False, timeout: float | None = None) -> Job:
        """Start a retrain now; with ``wait``, return the finished job (its ``result`` holds the decision)."""
        job = self._client.post(self._path(endpoint, "retrain"), Job)
        return self._client.jobs.wait(job.id, timeout) if wait else job

    def history(self, endpoint: str, limit: int = 200) -> list[FlywheelEvent]:
        """Triggers, decisions (with both models' metrics and the reason) and rollbacks, oldest first."""
        return self._client.get_list(self._path(endpoint, "history"), FlywheelEvent, limit=limit)

    def approve(self, endpoint: str) -> FlywheelEvent:
        return self._client.post(self._path(endpoint, "approve"), FlywheelEvent)

    def reject(self, endpoint: str) -> FlywheelEvent:
        return self._client.post(self._path(endpoint, "reject"), FlywheelEvent)


class KeysApi:
    """``client.keys``: API keys of the caller's project (admin keys only)."""

    def __init__(self, client: Client):
        self._client = client

    def create(self, role: Role | str, name: str = "") -> tuple[str, KeyInfo]:
        """Create a key; return it (shown only now: the server keeps a hash) and what is stored about it."""
        body = self._client.request("POST", "/v1/keys", json={"role": str(role), "name": name}).json()
        return body["key"], KeyInfo.model_validate(body["info"])

    def list(self) -> list[KeyInfo]:
        return self._client.get_list("/v1/keys", KeyInfo)

    def revoke(self, key_id: str) -> KeyInfo:
        """Revoke a key by its id (the part after ``fw_``)."""
        return KeyInfo.model_validate(self._client.request("DELETE", f"/v1/keys/{segment(key_id)}").json())
