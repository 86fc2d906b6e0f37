"""Workers: run claimed jobs to an end state, and keep a pool of them busy.

``execute`` runs one job in the current process (the CLI's ``train --wait`` uses it
directly); ``WorkerPool`` claims jobs up to the executor's slots and runs each through
the executor, recovering jobs whose worker died.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from aiflywheel.backends.executor import Executor
from aiflywheel.errors import FlywheelError
from aiflywheel.kernel.batch import JOB_TYPE as BATCH_PREDICT
from aiflywheel.kernel.batch import run_batch_prediction
from aiflywheel.kernel.flywheel.retrain import JOB_TYPE as RETRAIN
from aiflywheel.kernel.flywheel.retrain import run_retrain
from aiflywheel.kernel.flywheel.review import JOB_TYPE as REVIEW
from aiflywheel.kernel.flywheel.review import run_review
from aiflywheel.kernel.jobs import HEARTBEAT_SECONDS, Job, JobCancelled, JobQueue, JobState, this_worker
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.prediction_jobs import JOB_TYPE as PREDICTION_JOB
from aiflywheel.kernel.prediction_jobs import run_prediction_job
from aiflywheel.kernel.training import JOB_TYPE as TRAIN
from aiflywheel.kernel.training import run_training
from aiflywheel.settings import Settings

logger = logging.getLogger(__name__)

Handler = Callable[[Platform, Job, Any], dict[str, Any]]
HANDLERS: dict[str, Handler] = {
    TRAIN: run_training,
    BATCH_PREDICT: run_batch_prediction,
    RETRAIN: run_retrain,
    REVIEW: run_review,
    PREDICTION_JOB: run_prediction_job,
}


class JobProgress:
    """The ``Progress`` a kind gets: throttled writes to the queue, cancellation surfaced as an exception."""

    def __init__(self, queue: JobQueue, job_id: int, min_interval: float = 0.5):
        self.queue = queue
        self.job_id = job_id
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        moment = time.monotonic()
        if moment - self._last >= self.min_interval or fraction >= 1.0:
            self._last = moment
            self.queue.report(self.job_id, fraction, message)

    def log(self, message: str) -> None:
        self.queue.log(self.job_id, message)


class _Heartbeat(threading.Thread):
    def __init__(self, queue: JobQueue, job_id: int):
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.queue, self.job_id, self.stopped = queue, job_id, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            try:
                self.queue.heartbeat(self.job_id)
            except Exception:  # a missed beat only matters if all of them are missed
                logger.exception("heartbeat of job %s failed", self.job_id)


def execute(platform: Platform, job: Job) -> JobState:
    """Run a job this process has claimed, and record how it ended."""
    queue = platform.all_jobs()
    handler = HANDLERS.get(job.type)
    if handler is None:
        queue.finish(job.id, JobState.FAILED, "failed", error=f"no handler for job type {job.type!r}")
        return JobState.FAILED
    heartbeat = _Heartbeat(queue, job.id)
    heartbeat.start()
    try:
        result = handler(platform.in_project(job.project_id), job, JobProgress(queue, job.id))
    except JobCancelled:
        queue.finish(job.id, JobState.CANCELLED, "cancelled")
        return JobState.CANCELLED
    except FlywheelError as exc:
        queue.finish(job.id, JobState.FAILED, "failed", error=exc.message)
        return JobState.FAILED
    except Exception as exc:
        queue.log(job.id, traceback.format_exc())
        queue.finish(job.id, JobState.FAILED, "failed", error=f"{type(exc).__name__}: {exc}")
        return JobState.FAILED
    finally:
        heartbeat.stopped.set()
        heartbeat.join()  # its store connection must be back before the caller closes the platform
    queue.finish(job.id, JobState.SUCCEEDED, "succeeded", result=result)
    return JobState.SUCCEEDED


def run_in_worker_process(settings: Settings, job_id: int, kinds: KindRegistry | None = None) -> str:
    """Executor entry point: take over job ``job_id`` (claimed by the pool) and run it here."""
    platform = Platform(settings, kinds)
    try:
        job = platform.all_jobs().hand_over(job_id, this_worker())
        return execute(platform, job).value
    finally:
        platform.close()


class WorkerPool:
    """Keeps up to ``executor.slots`` jobs running until ``stop`` is set."""

    def __init__(self, platform: Platform, executor: Executor, poll_seconds: float = 1.0):
        self.platform = platform
        self.executor = executor
        self.poll_seconds = poll_seconds
        self.queue = platform.all_jobs()
        self.worker = this_worker()
        self.running: dict[Future, int] = {}

    def run(self, stop: threading.Event, on_event: Callable[[str], None] = logger.info) -> None:
        for job in self.queue.recover():
            on_event(f"job {job.id}: {job.message if job.state == JobState.QUEUED else job.error}")
        last_recovery = time.monotonic()
        while not stop.is_set():
            self._reap(on_event)
            while len(self.running) < self.executor.slots:
                job = self.queue.claim(self.worker)
                if job is None:
                    break
                on_event(f"job {job.id}: {job.type} started (attempt {job.attempts})")
                kinds = self.platform.kinds if self.platform.settings.executor == "thread" else None
                future = self.executor.submit(run_in_worker_process, self.platform.settings, job.id, kinds)
                self.running[future] = job.id
            if time.monotonic() - last_recovery > 30:
                self.queue.recover()
                last_recovery = time.monotonic()
            stop.wait(self.poll_seconds)
        self.executor.shutdown(wait=True)
        self._reap(on_event)

    def _reap(self, on_event: Callable[[str], None]) -> None:
        for future in [f for f in self.running if f.done()]:
            job_id = self.running.pop(future)
            error = future.exception()
            if error is None:
                on_event(f"job {job_id}: {future.result()}")
                continue
            # The job's process died before recording an end state: recover it now.
            on_event(f"job {job_id}: worker process failed ({type(error).__name__}: {error})")
            self.queue.recover(is_alive=lambda _worker: False, only=job_id)
