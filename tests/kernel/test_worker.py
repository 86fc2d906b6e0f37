import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from aiflywheel.backends.executor import open_executor
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.registry import Stage
from aiflywheel.kernel.worker import WorkerPool, execute
from aiflywheel.testing import wait_for


@pytest.fixture
def tiny(platform, tmp_path):
    csv = tmp_path / "tiny.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{'a' if i % 3 else 'b'}\n" for i in range(30)))
    return platform.datasets.create("tiny", csv)


def test_execute_trains_and_registers_with_lineage(platform, tiny):
    job = platform.train("baseline", "tiny", {"target": "y"})
    state = execute(platform, platform.all_jobs().claim("me:1", job_id=job.id))
    assert state == JobState.SUCCEEDED
    done = platform.jobs.get(job.id)
    version = platform.models.get(done.result["model"], done.result["version"])
    assert (version.kind, version.dataset, version.job_id, version.stage) == (
        "baseline",
        "tiny:1",
        job.id,
        Stage.CANDIDATE,
    )
    assert version.metrics["accuracy"] == pytest.approx(20 / 30)
    platform.models.promote("tiny", 1)
    second = platform.train("baseline", "tiny", {"target": "y"})
    execute(platform, platform.all_jobs().claim("me:1", job_id=second.id))
    assert platform.models.get("tiny", 2).parent_version_id == version.id, (
        "a retrain records the champion it challenges"
    )


def test_a_failing_job_records_the_error(platform, tiny, tmp_path):
    job = platform.train("baseline", "tiny", {"target": "y"})
    version = platform.datasets.version("tiny")
    os.chmod(platform.artifacts.local_path(version.artifact), 0o644)
    platform.artifacts.local_path(version.artifact).write_bytes(b"not parquet any more")
    assert execute(platform, platform.all_jobs().claim("me:1")) == JobState.FAILED
    assert platform.jobs.get(job.id).error


def test_cancel_stops_a_running_job(platform, tiny):
    job = platform.train("baseline", "tiny", {"target": "y", "sleep_seconds": 30})
    claimed = platform.all_jobs().claim("me:1")
    runner = threading.Thread(target=execute, args=(platform, claimed))
    runner.start()
    assert wait_for(lambda: platform.jobs.get(job.id).progress > 0)
    platform.jobs.cancel(job.id)
    runner.join(timeout=20)
    assert platform.jobs.get(job.id).state == JobState.CANCELLED
    assert platform.models.list() == []


def test_the_pool_runs_queued_jobs(platform, tiny):
    jobs = [platform.train("baseline", "tiny", {"target": "y"}) for _ in range(3)]
    stop = threading.Event()
    pool = WorkerPool(platform, open_executor("thread", 2), poll_seconds=0.05)
    runner = threading.Thread(target=pool.run, args=(stop,))
    runner.start()
    try:
        assert wait_for(lambda: all(platform.jobs.get(j.id).state == JobState.SUCCEEDED for j in jobs))
    finally:
        stop.set()
        runner.join()
    assert [v.version for v in platform.models.list("tiny")] == [1, 2, 3]


CRASHING_WORKER = """
import json, sys
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.jobs import this_worker
from aiflywheel.kernel.worker import execute
from aiflywheel.settings import Settings
from aiflywheel.testing import BaselineKind

settings = Settings.model_validate(json.loads(sys.argv[1]))
platform = Platform(settings, KindRegistry({"baseline": BaselineKind}))
execute(platform, platform.all_jobs().claim(this_worker(), job_id=int(sys.argv[2])))
"""


def test_a_job_survives_its_worker_being_killed(platform, tiny):
    job = platform.train("baseline", "tiny", {"target": "y", "sleep_seconds": 3})
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WORKER, platform.settings.model_dump_json(), str(job.id)]
    )
    try:
        assert wait_for(lambda: platform.jobs.get(job.id).progress > 0), "the worker never started the job"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert platform.jobs.get(job.id).state == JobState.RUNNING, "a killed worker cannot record anything"

    recovered = platform.all_jobs().recover()
    assert [j.id for j in recovered] == [job.id]
    requeued = platform.jobs.get(job.id)
    assert requeued.state == JobState.QUEUED and f"worker {requeued.worker or ''}" and "died" in requeued.message

    assert execute(platform, platform.all_jobs().claim("me:1")) == JobState.SUCCEEDED
    finished = platform.jobs.get(job.id)
    assert finished.attempts == 2
    assert any("died during attempt 1" in line.message for line in platform.jobs.logs(job.id))
    json.dumps(finished.result)
