"""One trained world per test module: the demo breast-cancer data, a tabular model served at ``cancer``,
keys of every role in project ``default`` and an admin key of project ``other``, and the REST app in-process."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.demo import DEMO_DATASET, seed_demo
from aiflywheel.kernel.keys import Keys
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.registry import ModelVersion
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import execute
from aiflywheel.settings import Settings
from aiflywheel.testing import BaselineKind, LexiconKind

MODEL = DEMO_DATASET  # a model takes its dataset's name
ENDPOINT = "cancer"


@dataclass
class World:
    platform: Platform
    serving: Serving
    http: TestClient
    keys: dict[str, str]
    rows: list[dict]  # real instances: the demo's preview without its target
    job_id: int  # the job that trained the model
    model: str = MODEL
    endpoint: str = ENDPOINT
    _clients: list[TestClient] = field(default_factory=list)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def call(self, who: str, method: str, path: str, headers: dict | None = None, **kwargs):
        return self.http.request(method, path, headers={**self.auth(who), **(headers or {})}, **kwargs)

    def invoke(self, who: str = "reader", instances: list | None = None, endpoint: str = ENDPOINT):
        body = {"instances": self.rows[:3] if instances is None else instances}
        return self.call(who, "POST", f"/v1/endpoints/{endpoint}/invocations", json=body)

    def app(self, **limits) -> TestClient:
        """Another app over the same platform and serving runtime, e.g. with other body limits."""
        client = TestClient(create_app(self.platform, self.serving, **limits), raise_server_exceptions=False)
        self._clients.append(client)
        return client


def train(platform: Platform, kind: str, dataset: str, params: dict, model: str | None = None) -> int:
    job = platform.train(kind, dataset, params, model=model)
    execute(platform, platform.all_jobs().claim("tests:1", job_id=job.id))
    return job.id


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_store_url):
    home = tmp_path_factory.mktemp("world") / "home"
    settings = Settings.build(home=home, store=module_store_url, executor="thread", workers=1, environ={})
    kinds = KindRegistry.from_entry_points()
    kinds.add(BaselineKind)
    kinds.add(LexiconKind)
    platform = Platform(settings, kinds)
    seed_demo(platform)
    job_id = train(platform, "tabular", DEMO_DATASET, {"target": "diagnosis"})
    platform.endpoints.deploy(MODEL, ENDPOINT)
    serving = Serving(
        platform.engine, platform.artifacts, platform.kinds, home / "cache" / "models", platform.prediction_log.start()
    )
    keys = Keys(platform.engine)
    issued = {role: keys.create(role, "default", f"{role} for tests")[0] for role in ("admin", "writer", "reader")}
    issued["other"] = keys.create("admin", "other", "admin of another project")[0]
    rows = [
        {k: v for k, v in row.items() if k != "diagnosis"} for row in platform.datasets.version(DEMO_DATASET).preview
    ]
    http = TestClient(create_app(platform, serving), raise_server_exceptions=False)
    world = World(platform, serving, http, issued, rows, job_id)
    yield world
    for client in [http, *world._clients]:
        client.close()
    serving.close()
    platform.close()


@pytest.fixture
def train_version(world):
    """Train the next version of a model on the demo data (a fraction of a second), and return it."""

    def next_version(model: str) -> ModelVersion:
        job_id = train(world.platform, "tabular", DEMO_DATASET, {"target": "diagnosis"}, model=model)
        result = world.platform.jobs.get(job_id).result
        return world.platform.models.get(result["model"], result["version"])

    return next_version
