"""Console fixtures: an in-process app over a trained world for the HTTP tests, and for the browser
tests a real ``flywheel up`` on a free port, driven by Debian's chromium through Playwright."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.demo import DEMO_DATASET, seed_demo
from aiflywheel.kernel.keys import Keys
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import execute
from aiflywheel.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # the microphone is a real LJSpeech recording played by chromium's fake capture device, granted without a prompt
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
MICROPHONE_CLIP = "speech/wavs/LJ001-0011.wav"  # "it is of the first importance that the letter used ..."
ENDPOINT = "cancer"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    """The console in-process: a platform with the demo data trained and served at ``cancer``."""

    platform: Platform
    serving: Serving
    keys: dict[str, str]
    endpoint: str = ENDPOINT
    csrf_of = staticmethod(lambda html: csrf_of(html))

    def client(self, **limits) -> TestClient:
        app = create_app(self.platform, self.serving, **limits)
        return TestClient(app, raise_server_exceptions=False, follow_redirects=False)

    def signed_in(self, who: str = "admin", **limits) -> tuple[TestClient, str]:
        """A client signed in with the key of ``who``, and its session's CSRF token."""
        client = self.client(**limits)
        token = csrf_of(client.get("/sign-in").text)
        answer = client.post("/sign-in", data={"key": self.keys[who], "csrf_token": token, "next": "/"})
        assert answer.status_code == 303, answer.text
        return client, csrf_of(client.get("/datasets").text)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture(scope="module")
def console(tmp_path_factory, module_store_url) -> Console:
    home = tmp_path_factory.mktemp("console") / "home"
    settings = Settings.build(home=home, store=module_store_url, executor="thread", workers=1, environ={})
    platform = Platform(settings, KindRegistry.from_entry_points())
    seed_demo(platform)
    job = platform.train("tabular", DEMO_DATASET, {"target": "diagnosis", "max_rounds": 60})
    execute(platform, platform.all_jobs().claim("tests:1", job_id=job.id))
    platform.endpoints.deploy(DEMO_DATASET, ENDPOINT)
    log = platform.prediction_log.start()
    serving = Serving(platform.engine, platform.artifacts, platform.kinds, home / "cache" / "models", log)
    keys = Keys(platform.engine)
    issued = {role: keys.create(role, "default", f"{role} for console tests")[0] for role in ("admin", "reader")}
    yield Console(platform, serving, issued)
    serving.close()
    platform.close()


# -- the browser ------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, shared_data):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-packages (it installs Debian's chromium)")
    microphone = f"--use-file-for-fake-audio-capture={shared_data / MICROPHONE_CLIP}"
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": [*CHROMIUM_ARGS, microphone]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 1000}}


@dataclass
class LiveFlywheel:
    url: str
    key: str
    home: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def live_flywheel(tmp_path_factory) -> LiveFlywheel:
    """``flywheel up`` in its own process, on its own home, with jobs on threads (no demo data)."""
    home = tmp_path_factory.mktemp("live") / "home"
    port = _free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLYWHEEL_")},
        "FLYWHEEL_HOME": str(home),
        "FLYWHEEL_EXECUTOR": "thread",
        "FLYWHEEL_WORKERS": "1",
    }
    command = [sys.executable, "-m", "aiflywheel", "up", "--port", str(port), "--no-demo"]
    process = subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    key, lines = None, []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        lines.append(line)
        key = key or next(iter(re.findall(r"\bfw_[A-Za-z0-9_-]+", line)), None)
        if "Flywheel is up" in line:
            break
    try:
        assert key and process.poll() is None, "flywheel up did not start:\n" + "".join(lines)
        while True:  # it says it is up just before uvicorn starts listening
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=5).read()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
                time.sleep(0.1)
        # keep reading what it prints, so a full pipe never blocks the server
        threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
        yield LiveFlywheel(url, key, home)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"  # gitignored
BROWSER_TIMEOUT_MS = 45_000


@pytest.fixture
def shot():
    """Save a screenshot of the page as a test artifact (the viewport only: a full-page screenshot resizes
    the page and can swallow the next click)."""

    def save(page, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    return save


@pytest.fixture
def console_page(page, live_flywheel):
    """A browser page signed in to the live console with the admin key, patient with a slow shared machine."""
    from playwright.sync_api import expect

    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)  # a shared CI machine can be slow; a real failure still fails
    page.goto(f"{live_flywheel.url}/sign-in")
    page.get_by_label("API key").fill(live_flywheel.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    return page
