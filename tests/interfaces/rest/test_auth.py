"""Who may call what: keys, roles, and projects that cannot see each other."""

import pytest

from aiflywheel.kernel.keys import Keys


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-key",
        "Bearer fw_000000000000_unknownsecret",
    ],
)
def test_a_missing_malformed_or_unknown_key_is_401(world, header):
    headers = {"Authorization": header} if header else {}
    response = world.http.get("/v1/datasets", headers=headers)
    assert response.status_code == 401 and error_code(response) == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_key_with_a_wrong_secret_is_401(world):
    key_id = world.keys["reader"].split("_")[1]
    response = world.http.get("/v1/datasets", headers={"Authorization": f"Bearer fw_{key_id}_wrongsecret"})
    assert response.status_code == 401


def test_a_revoked_key_is_401(world):
    created = world.call("admin", "POST", "/v1/keys", json={"role": "reader", "name": "short-lived"})
    assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["info"]["key_id"]
    assert world.http.get("/v1/datasets", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    revoked = world.call("admin", "DELETE", f"/v1/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    response = world.http.get("/v1/datasets", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]


def test_healthz_needs_no_key(world):
    assert world.http.get("/healthz").json()["status"] == "ok"


WRITES = [
    ("POST", "/v1/datasets", {"data": {"name": "x"}, "files": {"file": ("x.csv", b"a,b\n1,2\n")}}),
    ("POST", "/v1/jobs", {"json": {"type": "train", "kind": "tabular", "dataset": "demo-breast-cancer"}}),
    ("POST", "/v1/jobs/1/cancel", {}),
    ("POST", "/v1/endpoints", {"json": {"model": "demo-breast-cancer", "name": "other"}}),
    ("PATCH", "/v1/endpoints/cancer", {"json": {"max_batch_size": 2}}),
    ("DELETE", "/v1/endpoints/cancer", {}),
    ("POST", "/v1/models/demo-breast-cancer/versions/1/promote", {"json": {"stage": "champion"}}),
    ("POST", "/v1/feedback", {"json": {"prediction_id": "pr_x", "event_id": "e", "label": "benign"}}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_reader_cannot_write(world, method, path, body):
    response = world.call("reader", method, path, **body)
    assert response.status_code == 403 and error_code(response) == "forbidden"
    assert "needs a key of role writer" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/keys", {"json": {"role": "reader"}}),
        ("GET", "/v1/keys", {}),
        ("DELETE", "/v1/keys/abc", {}),
        ("POST", "/v1/datasets/from-path", {"json": {"name": "x", "path": "/etc/hostname"}}),
    ],
)
def test_only_an_admin_manages_keys_and_reads_the_servers_disk(world, method, path, body):
    response = world.call("writer", method, path, **body)
    assert response.status_code == 403 and "needs a key of role admin" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/datasets",
        "/v1/datasets/demo-breast-cancer",
        "/v1/datasets/demo-breast-cancer/versions",
        "/v1/datasets/demo-breast-cancer/versions/1",
        "/v1/jobs",
        "/v1/jobs/{job}",
        "/v1/jobs/{job}/logs",
        "/v1/models",
        "/v1/models/demo-breast-cancer",
        "/v1/models/demo-breast-cancer/versions",
        "/v1/models/demo-breast-cancer/versions/1",
        "/v1/endpoints",
        "/v1/endpoints/cancer",
    ],
)
def test_a_reader_can_read(world, path):
    assert world.call("reader", "GET", path.format(job=world.job_id)).status_code == 200


def test_a_reader_can_invoke(world):
    response = world.invoke("reader")
    assert response.status_code == 200 and len(response.json()["predictions"]) == 3


# -- projects: a key of project "other" sees nothing of project "default" ------------


def test_another_project_cannot_see_datasets(world):
    assert world.call("other", "GET", "/v1/datasets").json() == []
    for path in ("", "/versions", "/versions/1"):
        response = world.call("other", "GET", f"/v1/datasets/demo-breast-cancer{path}")
        assert response.status_code == 404 and error_code(response) == "not_found", path
    training = {"type": "train", "kind": "tabular", "dataset": "demo-breast-cancer", "params": {"target": "diagnosis"}}
    assert world.call("other", "POST", "/v1/jobs", json=training).status_code == 404


def test_another_project_cannot_see_jobs(world):
    assert world.job_id not in [job["id"] for job in world.call("other", "GET", "/v1/jobs").json()]
    for method, path in (("GET", ""), ("GET", "/logs"), ("POST", "/cancel")):
        response = world.call("other", method, f"/v1/jobs/{world.job_id}{path}")
        assert response.status_code == 404 and error_code(response) == "not_found", path


def test_another_project_cannot_see_models(world):
    assert world.call("other", "GET", "/v1/models").json() == []
    for method, path, body in (
        ("GET", "", None),
        ("GET", "/versions", None),
        ("GET", "/versions/1", None),
        ("POST", "/versions/1/promote", {"stage": "champion"}),
    ):
        response = world.call("other", method, f"/v1/models/demo-breast-cancer{path}", json=body)
        assert response.status_code == 404 and error_code(response) == "not_found", path
    deploy = {"model": "demo-breast-cancer", "name": "stolen"}
    assert world.call("other", "POST", "/v1/endpoints", json=deploy).status_code == 404
    batch = {"type": "batch_predict", "model": "demo-breast-cancer", "dataset": "demo-breast-cancer"}
    assert world.call("other", "POST", "/v1/jobs", json=batch).status_code == 404


def test_another_project_cannot_see_or_invoke_endpoints(world):
    assert world.call("other", "GET", "/v1/endpoints").json() == []
    for method, body in (("GET", None), ("PATCH", {"max_batch_size": 2}), ("DELETE", None)):
        response = world.call("other", method, "/v1/endpoints/cancer", json=body)
        assert response.status_code == 404 and error_code(response) == "not_found", method
    response = world.invoke("other")
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert world.invoke("reader").status_code == 200, "the owner's endpoint still serves"


def test_another_project_cannot_give_feedback_on_predictions(world):
    prediction_id = world.invoke("writer").json()["prediction_ids"][0]
    feedback = {"prediction_id": prediction_id, "event_id": "cross-project", "label": "benign"}
    response = world.call("other", "POST", "/v1/feedback", json=feedback)
    assert response.status_code == 404 and prediction_id in response.json()["error"]["message"]
    assert world.call("writer", "POST", "/v1/feedback", json=feedback).json()["duplicate"] is False, (
        "the owner's event id was not taken by the refused call"
    )


def test_another_project_cannot_see_or_revoke_keys(world):
    key_ids = {info["key_id"] for info in world.call("other", "GET", "/v1/keys").json()}
    reader_id = world.keys["reader"].split("_")[1]
    assert reader_id not in key_ids
    response = world.call("other", "DELETE", f"/v1/keys/{reader_id}")
    assert response.status_code == 404
    assert Keys(world.platform.engine).get(reader_id).revoked is False
