"""``flywheel up`` as a real process: demo data, workers in their own processes, and surviving a kill -9."""

import os
import signal
import socket
import subprocess
import sys

import pytest

from aiflywheel.errors import Conflict
from aiflywheel.interfaces.cli.up import _check_port_free
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.platform import Platform
from aiflywheel.settings import Settings
from aiflywheel.testing import free_port, wait_for


def start_up(home, store_url):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiflywheel",
            "--home",
            str(home),
            "--store",
            store_url,
            "up",
            "--workers",
            "1",
            "--port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so the kill below takes the job processes too, as a crash would
        env={k: v for k, v in os.environ.items() if not k.startswith("FLYWHEEL_")},
    )


def stop(process, sig=signal.SIGINT):
    os.killpg(process.pid, sig)
    return process.communicate(timeout=60)[0]


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def fw(home, store_url):
    platform = Platform(Settings.build(home=home, store=store_url, environ={}))
    yield platform
    platform.close()


@pytest.mark.slow
def test_up_seeds_demo_data_runs_jobs_and_survives_a_crash(home, fw, store_url, shared_data):
    server = start_up(home, store_url)
    try:
        assert wait_for(lambda: _has_dataset(fw, "demo-breast-cancer")), "the demo dataset never appeared"
        demo_job = fw.train("tabular", "demo-breast-cancer", {"target": "diagnosis"})
        assert wait_for(lambda: fw.jobs.get(demo_job.id).state.finished)
        assert fw.jobs.get(demo_job.id).state == JobState.SUCCEEDED, fw.jobs.get(demo_job.id).error
        assert fw.models.get("demo-breast-cancer").metrics["roc_auc"] > 0.95

        fw.datasets.create("claims", shared_data / "fraud" / "vehicle_claims_dev.csv")
        job = fw.train("tabular", "claims", {"target": "FraudFound_P"})
        assert wait_for(lambda: fw.jobs.get(job.id).state == JobState.RUNNING)
    finally:
        output = stop(server, signal.SIGKILL)
    assert fw.jobs.get(job.id).state == JobState.RUNNING, output

    restarted = start_up(home, store_url)
    try:
        assert wait_for(lambda: fw.jobs.get(job.id).state.finished), "the interrupted job was never finished"
    finally:
        output = stop(restarted)
    finished = fw.jobs.get(job.id)
    assert finished.state == JobState.SUCCEEDED and finished.attempts == 2, output
    assert any("died during attempt 1" in line.message for line in fw.jobs.logs(job.id))
    assert "Flywheel stopped." in output


def _has_dataset(fw, name):
    return any(d.name == name for d in fw.datasets.list())


def test_a_port_is_busy_while_listened_on_and_free_again_right_after():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    with pytest.raises(Conflict, match=f"port {port} on 127.0.0.1 is already in use"):
        _check_port_free("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the side that closes first keeps the port in TIME_WAIT
    client.close()
    listener.close()
    _check_port_free("127.0.0.1", port)
