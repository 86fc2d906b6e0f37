"""One speech world per test session: tts and asr installed as built-in services, served over REST in-process."""

from __future__ import annotations

import base64
import csv
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.keys import Keys
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.serving import Serving
from aiflywheel.kinds.speech.asr import AsrParams, AsrPredictor
from aiflywheel.settings import Settings


@dataclass
class SpeechWorld:
    platform: Platform
    http: TestClient
    headers: dict[str, str]

    def invoke(self, endpoint: str, instances: list):
        return self.http.post(f"/v1/endpoints/{endpoint}/invocations", json={"instances": instances},
                              headers=self.headers)  # fmt: skip


@pytest.fixture(scope="session")
def speech_world(tmp_path_factory):
    home = tmp_path_factory.mktemp("speech") / "home"
    store = f"sqlite:///{home.parent / 'flywheel.db'}"  # this world's own file: TEST_STORE_URL is emptied per module
    settings = Settings.build(home=home, store=store, executor="thread", workers=1, environ={})
    kinds = KindRegistry.from_entry_points()
    platform = Platform(settings, kinds)
    created = platform.provision_services()
    assert {"tts", "asr"} <= set(created)
    serving = Serving(
        platform.engine, platform.artifacts, platform.kinds, home / "cache" / "models", platform.prediction_log.start()
    )
    key = Keys(platform.engine).create("writer", "default", "speech tests")[0]
    http = TestClient(create_app(platform, serving), raise_server_exceptions=False)
    yield SpeechWorld(platform, http, {"Authorization": f"Bearer {key}"})
    http.close()
    serving.close()
    platform.close()


@dataclass(frozen=True)
class Clip:
    path: Path
    transcript: str
    seconds: float

    def base64(self) -> str:
        return base64.b64encode(self.path.read_bytes()).decode()


@pytest.fixture(scope="session")
def lj_clips(shared_data) -> list[Clip]:
    folder = shared_data / "speech"
    with open(folder / "transcripts.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [Clip(folder / row["file"], row["transcript"], float(row["duration_s"])) for row in rows]


@pytest.fixture(scope="session")
def whisper_base(tmp_path_factory) -> AsrPredictor:
    """The default recogniser (Whisper base), loaded once for the tests that call the predictor directly."""
    return AsrPredictor(AsrParams(model="base"), tmp_path_factory.mktemp("asr-cache"))
