"""The durable job queue, kept in the metadata store.

A job moves ``queued → running → succeeded | failed | cancelled``. Workers claim a
queued job with a compare-and-set update, so two workers (or a worker and the CLI
running ``train --wait``) never run the same job. A running job's worker sends
heartbeats; ``recover`` finds jobs whose worker died (its process is gone, or its
heartbeat is stale) and re-queues them, or fails them with the reason once they
have used their attempts. Nothing is silently lost.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, insert, select, update

from aiflywheel.backends.store.schema import job_logs, jobs
from aiflywheel.errors import Conflict, FlywheelError, NotFound
from aiflywheel.kernel.clock import UtcDatetime, as_utc, now

MAX_ATTEMPTS = 3
HEARTBEAT_SECONDS = 5.0
STALE_AFTER = timedelta(seconds=60)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class JobCancelled(FlywheelError):
    """Raised inside a running job when somebody asked to cancel it."""

    code = "job_cancelled"
    http_status = 409


class Job(BaseModel):
    id: int
    project_id: int
    type: str
    spec: dict[str, Any]
    state: JobState
    progress: float
    message: str
    error: str | None
    result: dict[str, Any] | None
    attempts: int
    cancel_requested: bool
    worker: str | None
    heartbeat_at: UtcDatetime | None
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None


class LogLine(BaseModel):
    id: int
    at: UtcDatetime
    message: str


def this_worker() -> str:
    """The worker id of this process: ``host:pid``, so a crash can be told from a slow job."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_is_alive(worker: str) -> bool | None:
    """True/False for a worker on this host; None when it lives elsewhere (decide by heartbeat)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(int(pid))


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class JobQueue:
    """Jobs of one project (``project_id``), or of all projects for workers (``None``)."""

    def __init__(self, engine: Engine, project_id: int | None):
        self.engine = engine
        self.project_id = project_id

    def _scoped(self, query):
        return query if self.project_id is None else query.where(jobs.c.project_id == self.project_id)

    def submit(self, type: str, spec: dict[str, Any]) -> Job:
        if self.project_id is None:
            raise Conflict("submitting a job needs a project")
        with self.engine.begin() as conn:
            job_id = conn.execute(
                insert(jobs).values(
                    project_id=self.project_id,
                    type=type,
                    spec=spec,
                    state=JobState.QUEUED,
                    progress=0.0,
                    message="queued",
                    attempts=0,
                    cancel_requested=False,
                    created_at=now(),
                )
            ).inserted_primary_key[0]
        return self.get(job_id)

    def get(self, job_id: int) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(self._scoped(select(jobs).where(jobs.c.id == job_id))).mappings().first()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return Job.model_validate(dict(row))

    def list(self, state: JobState | None = None, limit: int = 50) -> list[Job]:
        query = self._scoped(select(jobs)).order_by(jobs.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(jobs.c.state == state)
        with self.engine.connect() as conn:
            return [Job.model_validate(dict(row)) for row in conn.execute(query).mappings()]

    def logs(self, job_id: int, after: int = 0) -> list[LogLine]:
        self.get(job_id)
        query = select(job_logs).where(job_logs.c.job_id == job_id, job_logs.c.id > after).order_by(job_logs.c.id)
        with self.engine.connect() as conn:
            return [LogLine(id=r.id, at=r.at, message=r.message) for r in conn.execute(query)]

    def cancel(self, job_id: int) -> Job:
        """Cancel a queued job at once; ask a running one to stop at its next progress report."""
        job = self.get(job_id)
        if job.state.finished:
            raise Conflict(f"job {job_id} has already {job.state.value}; only queued or running jobs can be cancelled")
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(cancel_requested=True))
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state == JobState.QUEUED)
                .values(state=JobState.CANCELLED, message="cancelled before it started", finished_at=now())
            )
        self.log(job_id, "cancel requested")
        return self.get(job_id)

    # -- the worker's side -------------------------------------------------

    def claim(self, worker: str, job_id: int | None = None) -> Job | None:
        """Take the oldest queued job (or job ``job_id``) for ``worker``; None if there is none to take."""
        query = select(jobs.c.id).where(jobs.c.state == JobState.QUEUED).order_by(jobs.c.id).limit(5)
        if job_id is not None:
            query = query.where(jobs.c.id == job_id)
        with self.engine.connect() as conn:
            candidates = list(conn.execute(self._scoped(query)).scalars())
        for candidate in candidates:
            with self.engine.begin() as conn:
                taken = conn.execute(
                    update(jobs)
                    .where(jobs.c.id == candidate, jobs.c.state == JobState.QUEUED)
                    .values(
                        state=JobState.RUNNING,
                        worker=worker,
                        heartbeat_at=now(),
                        started_at=now(),
                        attempts=jobs.c.attempts + 1,
                        message="started",
                    )
                ).rowcount
            if taken:
                job = self.get(candidate)
                self.log(candidate, f"attempt {job.attempts} started on worker {worker}")
                return job
        return None

    def hand_over(self, job_id: int, worker: str) -> Job:
        """Make ``worker`` (the process that will run it) the owner of a claimed job."""
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING)
                .values(worker=worker, heartbeat_at=now())
            ).rowcount
        if not taken:
            raise Conflict(f"job {job_id} is no longer running; it cannot be handed to {worker}")
        return self.get(job_id)

    def report(self, job_id: int, fraction: float, message: str) -> None:
        """Record progress; raise ``JobCancelled`` if a cancel was requested."""
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING)
                .values(progress=min(max(fraction, 0.0), 1.0), message=message, heartbeat_at=now())
            )
            cancelled = conn.execute(select(jobs.c.cancel_requested).where(jobs.c.id == job_id)).scalar()
        if cancelled:
            raise JobCancelled(f"job {job_id} was cancelled")

    def heartbeat(self, job_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING).values(heartbeat_at=now())
            )

    def log(self, job_id: int, message: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(job_logs).values(job_id=job_id, at=now(), message=message))

    def finish(
        self,
        job_id: int,
        state: JobState,
        message: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state, "message": message, "finished_at": now(), "error": error}
        if state == JobState.SUCCEEDED:
            values.update(progress=1.0, result=result)
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING).values(**values))
        self.log(job_id, f"{state.value}: {error}" if error else state.value)

    def recover(
        self,
        stale_after: timedelta = STALE_AFTER,
        is_alive: Callable[[str], bool | None] = worker_is_alive,
        max_attempts: int = MAX_ATTEMPTS,
        only: int | None = None,
    ) -> list[Job]:
        """Re-queue (or fail, past ``max_attempts``) running jobs whose worker has died."""
        query = self._scoped(select(jobs).where(jobs.c.state == JobState.RUNNING))
        if only is not None:
            query = query.where(jobs.c.id == only)
        with self.engine.connect() as conn:
            running = [Job.model_validate(dict(r)) for r in conn.execute(query).mappings()]
        recovered = []
        for job in running:
            alive = is_alive(job.worker) if job.worker else False
            heartbeat = as_utc(job.heartbeat_at)
            stale = heartbeat is None or now() - heartbeat > stale_after
            if alive or (alive is None and not stale):
                continue
            why = (
                f"worker {job.worker} died"
                if alive is False
                else f"worker {job.worker} sent no heartbeat since {heartbeat}"
            )
            if job.cancel_requested:
                state, values = JobState.CANCELLED, {"message": f"cancelled ({why})", "finished_at": now()}
            elif job.attempts >= max_attempts:
                reason = f"{why} while running attempt {job.attempts} of {max_attempts}; giving up"
                state, values = JobState.FAILED, {"message": "failed", "error": reason, "finished_at": now()}
            else:
                state = JobState.QUEUED
                values = {
                    "message": f"re-queued: {why} during attempt {job.attempts}",
                    "worker": None,
                    "progress": 0.0,
                }
            with self.engine.begin() as conn:
                changed = conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job.id, jobs.c.state == JobState.RUNNING, jobs.c.worker == job.worker)
                    .values(state=state, **values)
                ).rowcount
            if changed:
                self.log(job.id, values.get("error") or values["message"])
                recovered.append(self.get(job.id))
        return recovered
