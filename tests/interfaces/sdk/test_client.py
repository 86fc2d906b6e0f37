"""The SDK against the REST app in-process (FastAPI's TestClient as its transport) with a worker pool running jobs.

The baseline kind keeps every training to milliseconds; ``test_end_to_end.py`` runs the real thing.
"""

import io
import socket
import threading
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient

import aiflywheel
from aiflywheel import Client
from aiflywheel.backends.executor import open_executor
from aiflywheel.errors import (
    Conflict,
    FlywheelError,
    Forbidden,
    InvalidInput,
    KindNotFound,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
)
from aiflywheel.interfaces.rest import create_app
from aiflywheel.interfaces.sdk.errors import error_classes
from aiflywheel.kernel.datasets import Dataset, DatasetVersion
from aiflywheel.kernel.endpoints import Endpoint
from aiflywheel.kernel.jobs import Job, JobCancelled, JobState, LogLine
from aiflywheel.kernel.keys import KeyInfo, Keys, Role
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.predictions import FeedbackRecord
from aiflywheel.kernel.registry import ModelVersion, Stage
from aiflywheel.kernel.serving import Invocation, Serving
from aiflywheel.kernel.worker import WorkerPool
from aiflywheel.settings import Settings
from aiflywheel.testing import BaselineKind, LexiconKind

URL = "http://flywheel.test"
TINY = "x,y\n" + "".join(f"{i},{'a' if i % 3 else 'b'}\n" for i in range(30))


@pytest.fixture(scope="module")
def server(tmp_path_factory, module_store_url):
    """Flywheel in this process: the REST app, its serving runtime and a worker pool on threads."""
    home = tmp_path_factory.mktemp("sdk") / "home"
    settings = Settings.build(home=home, store=module_store_url, executor="thread", workers=1, environ={})
    kinds = KindRegistry.from_entry_points()
    kinds.add(BaselineKind)
    kinds.add(LexiconKind)
    platform = Platform(settings, kinds)
    serving = Serving(
        platform.engine, platform.artifacts, platform.kinds, home / "cache" / "models", platform.prediction_log.start()
    )
    http = TestClient(create_app(platform, serving, max_upload_bytes=100_000), raise_server_exceptions=False)
    stop = threading.Event()
    pool = threading.Thread(
        target=WorkerPool(platform, open_executor("thread", 1), poll_seconds=0.02).run, args=(stop,)
    )
    pool.start()
    keys = Keys(platform.engine)
    yield SimpleNamespace(
        platform=platform,
        http=http,
        admin=keys.create(Role.ADMIN, "default")[0],
        reader=keys.create(Role.READER, "default")[0],
        home=home,
    )
    stop.set()
    pool.join()
    http.close()
    serving.close()
    platform.close()


@pytest.fixture(scope="module")
def client(server):
    with Client(URL, server.admin, http=server.http) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def deployed(client, tmp_path_factory):
    """Dataset ``tiny``, model ``tiny`` trained through the SDK and deployed at ``tiny``."""
    csv = tmp_path_factory.mktemp("data") / "tiny.csv"
    csv.write_text(TINY)
    client.datasets.create("tiny", csv)
    job = client.train("baseline", "tiny", {"target": "y"}, wait=True, timeout=60)
    assert job.state == JobState.SUCCEEDED, job.error
    return SimpleNamespace(job=job, endpoint=client.deploy("tiny"))


def test_client_is_exported():
    assert aiflywheel.Client is Client and "Client" in aiflywheel.__all__
    assert repr(Client("http://h:1/", "fw_secret_key")) == "Client(url='http://h:1')", "the key is never shown"


def test_datasets(client, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TINY)
    first = client.datasets.create("sdk-data", path)
    assert isinstance(first, DatasetVersion) and (first.ref, first.row_count) == ("sdk-data:1", 30)
    second = client.datasets.create("sdk-data", io.BytesIO(TINY.encode()), format="csv", columns=["y"])
    assert second.version == 2 and [c["name"] for c in second.columns] == ["y"] and second.row_count == 30
    assert second.source["file"] == "upload"

    assert "sdk-data" in [d.name for d in client.datasets.list()]
    found = client.datasets.get("sdk-data")
    assert isinstance(found, Dataset) and found.latest.version == 2
    assert client.datasets.version("sdk-data").version == 2
    assert client.datasets.version("sdk-data", 1) == first
    assert [v.version for v in client.datasets.versions("sdk-data")] == [1, 2]
    assert client.datasets.from_path("on-server", str(path)).row_count == 30


def test_a_dataset_error_names_the_file(client, tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(InvalidInput, match="broken.parquet"):
        client.datasets.create("broken", broken)
    with pytest.raises(PayloadTooLarge) as raised:
        client.datasets.create("big", io.BytesIO(b"x\n" + b"1\n" * 60_000))
    assert raised.value.http_status == 413 and raised.value.code == "payload_too_large"
    with pytest.raises(NotFound, match="no dataset named 'broken'"):
        client.datasets.get("broken")


def test_train_and_inspect_jobs_and_models(client, deployed):
    job = deployed.job
    assert isinstance(job, Job) and (job.result["model"], job.result["version"]) == ("tiny", 1)
    assert client.jobs.get(job.id) == job
    assert job.id in [j.id for j in client.jobs.list()]
    assert all(j.state == JobState.SUCCEEDED for j in client.jobs.list(state=JobState.SUCCEEDED))
    assert len(client.jobs.list(limit=1)) == 1
    logs = client.jobs.logs(job.id)
    assert logs and isinstance(logs[0], LogLine) and client.jobs.logs(job.id, after=logs[-1].id) == []

    versions = client.models.list()
    assert all(isinstance(v, ModelVersion) for v in versions) and "tiny:1" in [v.ref for v in versions]
    assert [v.ref for v in client.models.list("tiny")][0] == "tiny:1"
    assert client.models.get("tiny").stage == Stage.CHAMPION, "deploy made it champion"
    assert client.models.get("tiny", 1).job_id == job.id
    with pytest.raises(KindNotFound, match="known kinds"):
        client.train("nokind", "tiny")


def test_cancel_and_wait_for_a_running_job(client, deployed):
    job = client.train("baseline", "tiny", {"target": "y", "sleep_seconds": 30}, model="slow")
    with pytest.raises(TimeoutError, match=f"job {job.id} is still"):
        client.jobs.wait(job.id, timeout=0.2)
    assert client.jobs.cancel(job.id).cancel_requested
    assert client.jobs.wait(job.id, timeout=30).state == JobState.CANCELLED
    with pytest.raises(Conflict, match="already cancelled"):
        client.jobs.cancel(job.id)


def test_promote(client, deployed):
    second = client.train("baseline", "tiny", {"target": "y"}, model="promoted", wait=True)
    version = second.result["version"]
    assert client.models.promote("promoted", version, "challenger").stage == Stage.CHALLENGER
    assert client.models.promote("promoted", version).stage == Stage.CHAMPION
    with pytest.raises(InvalidInput, match="stage"):
        client.models.promote("promoted", version, "boss")


def test_install_a_pretrained_kind_and_serve_it(client):
    installed = client.models.install("lexicon", {"lexicon": {"grey": "gray"}}, model="words")
    assert (installed.model, installed.version, installed.stage) == ("words", 1, Stage.CHAMPION)
    client.deploy("words")
    assert client.predict("words", [{"text": "grey sky"}]).predictions == [{"text": "gray sky"}]
    with pytest.raises(InvalidInput, match="not pretrained"):
        client.models.install("baseline", {"target": "y"})


def test_deploy_predict_and_feedback(client, deployed):
    assert isinstance(deployed.endpoint, Endpoint) and deployed.endpoint.model == "tiny"
    answer = client.predict("tiny", [{"x": 1}, {"x": 2}])
    assert isinstance(answer, Invocation) and answer.predictions == [{"value": "a"}] * 2
    assert answer.model_version == "tiny:1" and len(set(answer.prediction_ids)) == 2

    record = client.feedback(answer.prediction_ids[0], "sdk-1", label="b")
    assert isinstance(record, FeedbackRecord) and (record.label, record.duplicate) == ("b", False)
    assert client.feedback(answer.prediction_ids[0], "sdk-1", label="b").duplicate is True
    with pytest.raises(Conflict, match="already used"):
        client.feedback(answer.prediction_ids[1], "sdk-1", label="b")
    assert client.feedback(answer.prediction_ids[1], "sdk-2", reward=0.0).reward == 0.0
    assert client.feedback(answer.prediction_ids[1], "sdk-3", outcome={"paid": False}).outcome == {"paid": False}
    with pytest.raises(InvalidInput, match="exactly one"):
        client.feedback(answer.prediction_ids[1], "sdk-4")
    with pytest.raises(InvalidInput, match="list of objects"):
        client.predict("tiny", [1, 2])
    with pytest.raises(NotFound, match="nope"):
        client.predict("nope", [{}])


def test_endpoints(client, deployed):
    client.deploy("tiny", endpoint="sdk-endpoint", config={"max_batch_size": 4})
    assert {"tiny", "sdk-endpoint"} <= {e.name for e in client.endpoints.list()}
    assert client.endpoints.get("sdk-endpoint").config.max_batch_size == 4
    changed = client.endpoints.configure("sdk-endpoint", challenger_mode="shadow", max_wait_ms=3)
    assert (changed.config.challenger_mode, changed.config.max_wait_ms) == ("shadow", 3.0)
    with pytest.raises(InvalidInput, match="max_batch_size"):
        client.endpoints.configure("sdk-endpoint", max_batch_size=0)
    assert client.endpoints.delete("sdk-endpoint") is None
    with pytest.raises(NotFound):
        client.endpoints.get("sdk-endpoint")


def test_batch_predict(client, deployed):
    job = client.batch_predict("tiny", "tiny", output="tiny-scored", wait=True, timeout=60)
    assert job.state == JobState.SUCCEEDED and job.result["rows"] == 30
    scored = client.datasets.version("tiny-scored")
    assert {"prediction_id", "predicted_value"} <= {c["name"] for c in scored.columns}
    assert client.feedback(scored.preview[0]["prediction_id"], "batch-row-0", label="b").duplicate is False


def test_keys_and_roles(client, server, deployed):
    key, info = client.keys.create("reader", name="sdk")
    assert isinstance(info, KeyInfo) and key.startswith(f"fw_{info.key_id}_") and info.role == Role.READER
    assert info.key_id in [k.key_id for k in client.keys.list()]
    with Client(URL, key, http=server.http) as reader:
        assert reader.predict("tiny", [{"x": 1}]).predictions == [{"value": "a"}]
        with pytest.raises(Forbidden, match="needs a key of role writer"):
            reader.deploy("tiny", "mine")
        with pytest.raises(Forbidden):
            reader.keys.list()
    assert client.keys.revoke(info.key_id).revoked
    with Client(URL, key, http=server.http) as revoked, pytest.raises(Unauthorized, match="revoked"):
        revoked.datasets.list()
    with Client(URL, http=server.http) as anonymous:
        assert anonymous.health()["status"] == "ok"
        with pytest.raises(Unauthorized, match="Authorization: Bearer"):
            anonymous.datasets.list()


# -- errors without a server ----------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_is_unavailable():
    url = f"http://127.0.0.1:{closed_port()}"
    with Client(url, "fw_a_b", timeout=2) as client, pytest.raises(Unavailable) as raised:
        client.datasets.list()
    assert url in raised.value.message and "flywheel up" in raised.value.message
    assert (raised.value.code, raised.value.http_status) == ("unavailable", 503)
    assert isinstance(raised.value, FlywheelError)


def mock(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_a_slow_server_is_unavailable():
    def hang(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with mock(hang) as http, pytest.raises(Unavailable, match="did not answer in time"):
        Client(URL, "k", http=http).jobs.list()


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (404, {"error": {"code": "kind_not_found", "message": "m"}}, KindNotFound, "kind_not_found"),
        (409, {"error": {"code": "job_cancelled", "message": "m"}}, JobCancelled, "job_cancelled"),
        (413, {"error": {"code": "payload_too_large", "message": "m"}}, PayloadTooLarge, "payload_too_large"),
        (405, {"error": {"code": "method_not_allowed", "message": "m"}}, FlywheelError, "method_not_allowed"),
        (404, {"error": {"code": "something_new", "message": "m"}}, NotFound, "something_new"),
        (500, {"error": {"code": "internal", "message": "m"}}, FlywheelError, "internal"),
        (502, "<html>Bad Gateway</html>", FlywheelError, "flywheel_error"),
        (503, {"detail": "not ours"}, Unavailable, "unavailable"),
    ],
)
def test_an_error_body_becomes_the_servers_error_class(status, body, cls, code):
    def answer(request):
        return httpx.Response(status, **({"json": body} if isinstance(body, dict) else {"text": body}))

    with mock(answer) as http, pytest.raises(FlywheelError) as raised:
        Client(URL, "k", http=http).models.list()
    assert type(raised.value) is cls and (raised.value.code, raised.value.http_status) == (code, status)
    if isinstance(body, str):
        assert "HTTP 502" in raised.value.message and "Bad Gateway" in raised.value.message


def test_every_error_class_is_known_by_its_code():
    classes = error_classes()
    for cls in (InvalidInput, PayloadTooLarge, Unauthorized, Forbidden, NotFound, KindNotFound, Conflict, Unavailable):
        assert classes[cls.code] is cls
    assert classes["job_cancelled"] is JobCancelled


def test_the_flywheel_through_the_sdk(client, server, deployed):
    client.train("baseline", "tiny", {"target": "y"}, model="fly", wait=True)
    client.deploy("fly")
    with pytest.raises(NotFound, match="no flywheel policy"):
        client.flywheel.policy("fly")
    with pytest.raises(InvalidInput, match="promotion.approval"):
        client.flywheel.set_policy("fly", {"promotion": {"approval": "sometimes"}})
    with Client(URL, server.reader, http=server.http) as reader, pytest.raises(Forbidden):
        reader.flywheel.set_policy("fly", {})
    status = client.flywheel.set_policy(
        "fly", {"triggers": {"every_n_labels": None}, "promotion": {"min_samples": 5, "approval": "manual"}}
    )
    assert status.policy.promotion.approval == "manual" and status.new_labels == 0

    answer = client.predict("fly", [{"x": i} for i in range(40)])
    for number, prediction_id in enumerate(answer.prediction_ids):
        client.feedback(prediction_id, f"fly-{number}", label="b")  # the world changed: everything is "b" now
    assert client.flywheel.policy("fly").new_labels == 40

    job = client.flywheel.retrain("fly", wait=True, timeout=60)
    assert job.state == JobState.SUCCEEDED and job.result["decision"] == "awaiting_approval", job.result
    with pytest.raises(NotFound, match="no endpoint named 'nope'"):
        client.flywheel.approve("nope")
    event = client.flywheel.approve("fly")
    assert event.type == "promoted" and (event.champion, event.challenger) == ("fly:1", "fly:2")
    assert event.details["decision"]["offline"]["challenger"]["accuracy"] == 1.0
    assert client.predict("fly", [{"x": 1}]).predictions == [{"value": "b"}]
    with pytest.raises(Conflict, match="no challenger waiting"):
        client.flywheel.reject("fly")

    history = client.flywheel.history("fly")
    assert [e.type for e in history] == ["policy_set", "triggered", "awaiting_approval", "promoted"]
    assert history[1].details["trigger"] == {"type": "manual"}
    replaced = client.flywheel.set_policy("fly", {"enabled": False}, replace=True)
    assert replaced.policy.promotion.approval == "auto" and not replaced.policy.enabled
    client.flywheel.delete_policy("fly")
    assert len(client.flywheel.history("fly", limit=2)) == 2
