from datetime import timedelta

import pytest

from aiflywheel.errors import Conflict, NotFound
from aiflywheel.kernel.jobs import JobCancelled, JobQueue, JobState
from aiflywheel.kernel.projects import ensure_project


@pytest.fixture
def queue(platform) -> JobQueue:
    return platform.jobs


def test_a_submitted_job_waits_in_the_queue(queue):
    job = queue.submit("train", {"kind": "baseline"})
    assert job.state == JobState.QUEUED and job.progress == 0 and job.attempts == 0
    assert [j.id for j in queue.list()] == [job.id]
    assert queue.list(state=JobState.RUNNING) == []


def test_jobs_of_another_project_are_invisible(platform, queue):
    job = queue.submit("train", {})
    other = JobQueue(platform.engine, ensure_project(platform.engine, "other"))
    assert other.list() == []
    with pytest.raises(NotFound):
        other.get(job.id)
    with pytest.raises(NotFound):
        other.cancel(job.id)


def test_only_one_worker_claims_a_job(queue, platform):
    job = queue.submit("train", {})
    workers = platform.all_jobs()
    first = workers.claim("host:1")
    assert first.id == job.id and first.state == JobState.RUNNING and first.attempts == 1
    assert workers.claim("host:2") is None
    assert workers.claim("host:2", job_id=job.id) is None


def test_progress_logs_and_success(queue, platform):
    job = queue.submit("train", {})
    workers = platform.all_jobs()
    workers.claim("host:1")
    workers.report(job.id, 0.4, "boosting")
    workers.log(job.id, "hello")
    assert queue.get(job.id).progress == pytest.approx(0.4)
    workers.finish(job.id, JobState.SUCCEEDED, "succeeded", result={"model": "m", "version": 1})
    done = queue.get(job.id)
    assert done.state == JobState.SUCCEEDED and done.progress == 1.0 and done.result["version"] == 1
    assert done.finished_at >= done.started_at >= done.created_at
    messages = [line.message for line in queue.logs(job.id)]
    assert "hello" in messages and messages[-1].startswith("succeeded")


def test_cancel_a_queued_job_at_once(queue):
    job = queue.submit("train", {})
    assert queue.cancel(job.id).state == JobState.CANCELLED
    with pytest.raises(Conflict, match="already cancelled"):
        queue.cancel(job.id)


def test_cancel_a_running_job_at_its_next_report(queue, platform):
    job = queue.submit("train", {})
    workers = platform.all_jobs()
    workers.claim("host:1")
    assert queue.cancel(job.id).state == JobState.RUNNING
    with pytest.raises(JobCancelled):
        workers.report(job.id, 0.5, "still going")


def test_a_job_whose_worker_died_is_requeued_with_the_reason(queue, platform):
    job = queue.submit("train", {})
    workers = platform.all_jobs()
    workers.claim("host:1")
    recovered = workers.recover(is_alive=lambda worker: False)
    assert [j.id for j in recovered] == [job.id]
    again = queue.get(job.id)
    assert again.state == JobState.QUEUED and "worker host:1 died during attempt 1" in again.message
    assert any("re-queued" in line.message for line in queue.logs(job.id))


def test_a_job_that_keeps_killing_its_worker_fails_with_the_reason(queue, platform):
    job = queue.submit("train", {})
    workers = platform.all_jobs()
    for attempt in range(3):
        assert workers.claim(f"host:{attempt}").id == job.id
        workers.recover(is_alive=lambda worker: False)
    failed = queue.get(job.id)
    assert failed.state == JobState.FAILED and "giving up" in failed.error and failed.attempts == 3


def test_remote_workers_are_judged_by_heartbeat(queue, platform):
    job = queue.submit("train", {})
    workers = platform.all_jobs()
    workers.claim("elsewhere:1")
    assert workers.recover(is_alive=lambda worker: None) == []
    assert workers.recover(is_alive=lambda worker: None, stale_after=timedelta(seconds=-1))[0].id == job.id


def test_live_workers_keep_their_jobs(queue, platform):
    queue.submit("train", {})
    workers = platform.all_jobs()
    workers.claim("host:1")
    assert workers.recover(is_alive=lambda worker: True, stale_after=timedelta(seconds=-1)) == []
