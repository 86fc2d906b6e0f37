"""Endpoints, invocations and feedback over REST: the serving contract, routing and idle unloading."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from aiflywheel.backends.store.schema import invocations
from aiflywheel.testing import wait_for


def test_deploy_list_get_configure_and_delete_an_endpoint(world):
    deployed = world.call("writer", "POST", "/v1/endpoints", json={"model": world.model, "name": "temp"})
    assert deployed.status_code == 201, deployed.text
    assert (deployed.json()["name"], deployed.json()["model"], deployed.json()["kind"]) == (
        "temp",
        world.model,
        "tabular",
    )
    assert deployed.json()["config"]["challenger_mode"] == "off"
    assert {"cancer", "temp"} <= {e["name"] for e in world.call("reader", "GET", "/v1/endpoints").json()}

    view = world.call("reader", "GET", "/v1/endpoints/temp").json()
    assert view["endpoint"]["name"] == "temp" and view["champion"]["version"] == 1 and view["challenger"] is None

    patched = world.call("writer", "PATCH", "/v1/endpoints/temp", json={"max_batch_size": 8, "max_wait_ms": 2})
    assert patched.status_code == 200 and patched.json()["config"]["max_batch_size"] == 8
    assert patched.json()["config"]["max_wait_ms"] == 2.0
    bad = world.call("writer", "PATCH", "/v1/endpoints/temp", json={"max_batch_size": 0})
    assert bad.status_code == 400 and "max_batch_size" in bad.json()["error"]["message"]
    unknown = world.call("writer", "PATCH", "/v1/endpoints/temp", json={"batch": 3})
    assert unknown.status_code == 400 and "batch" in unknown.json()["error"]["message"]

    redeployed = world.call("writer", "POST", "/v1/endpoints", json={"model": world.model, "name": "temp"})
    assert redeployed.status_code == 201 and redeployed.json()["config"]["max_batch_size"] == 8, "a redeploy keeps it"

    assert world.call("writer", "DELETE", "/v1/endpoints/temp").status_code == 204
    assert world.call("reader", "GET", "/v1/endpoints/temp").status_code == 404
    assert world.invoke("reader", endpoint="temp").status_code == 404
    assert world.call("writer", "DELETE", "/v1/endpoints/temp").status_code == 404


def test_deploying_an_unknown_model_or_a_bad_config_is_refused(world):
    missing = world.call("writer", "POST", "/v1/endpoints", json={"model": "nope"})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    bad = {"model": world.model, "name": "x", "config": {"challenger_mode": "sometimes"}}
    response = world.call("writer", "POST", "/v1/endpoints", json=bad)
    assert response.status_code == 400 and "challenger_mode" in response.json()["error"]["message"]


def test_an_invocation_answers_each_instance_with_a_unique_prediction_id(world):
    first = world.invoke("reader", world.rows[:5])
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    body = first.json()
    assert set(body) == {"predictions", "prediction_ids", "model_version"}
    assert body["model_version"] == f"{world.model}:1"
    assert len(body["predictions"]) == len(body["prediction_ids"]) == 5
    second = world.invoke("reader", world.rows[:5]).json()
    ids = body["prediction_ids"] + second["prediction_ids"]
    assert len(set(ids)) == 10 and all(i.startswith("pr_") for i in ids)

    expected = world.platform.predictor(world.platform.models.get(world.model)).predict(world.rows[:5])
    assert body["predictions"] == expected == second["predictions"]
    assert all(p["label"] in ("benign", "malignant") and 0.0 <= p["score"] <= 1.0 for p in body["predictions"])


def test_concurrent_invocations_are_all_answered(world):
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda row: world.invoke("reader", [row]), world.rows * 2))
    assert [r.status_code for r in responses] == [200] * len(responses)
    ids = [r.json()["prediction_ids"][0] for r in responses]
    assert len(set(ids)) == len(ids)
    answers = [r.json()["predictions"][0] for r in responses]
    assert answers == world.platform.predictor(world.platform.models.get(world.model)).predict(world.rows * 2)


def test_feedback_is_idempotent_by_event_id(world):
    first_id, second_id = world.invoke("writer", world.rows[:2]).json()["prediction_ids"]
    body = {"prediction_id": first_id, "event_id": "claim-1", "label": "benign"}
    recorded = world.call("writer", "POST", "/v1/feedback", json=body)
    assert recorded.status_code == 200 and recorded.json()["duplicate"] is False
    assert (recorded.json()["prediction_id"], recorded.json()["label"]) == (first_id, "benign")

    again = world.call("writer", "POST", "/v1/feedback", json={**body, "label": "malignant"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == recorded.json()["id"] and again.json()["label"] == "benign", "the first one stands"

    reused = world.call("writer", "POST", "/v1/feedback", json={**body, "prediction_id": second_id})
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "conflict"
    assert first_id in reused.json()["error"]["message"]

    for extra in ({"outcome": {"paid": True}}, {"reward": 0.5}):
        body = {"prediction_id": second_id, "event_id": f"event-{len(extra)}-{next(iter(extra))}", **extra}
        response = world.call("writer", "POST", "/v1/feedback", json=body)
        assert response.status_code == 200 and response.json()[next(iter(extra))] == next(iter(extra.values()))


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"prediction_id": "pr_nope", "event_id": "e1", "label": 1}, 404, "pr_nope"),
        ({"prediction_id": "pr_x", "event_id": "e2"}, 400, "exactly one of label, outcome or reward"),
        ({"prediction_id": "pr_x", "event_id": "e3", "label": 1, "reward": 1.0}, 400, "exactly one"),
        ({"prediction_id": "pr_x", "event_id": "e4", "reward": "lots"}, 400, "reward"),
        ({"prediction_id": "pr_x", "label": 1}, 400, "event_id"),
        ({"prediction_id": "pr_x", "event_id": "e5", "label": 1, "extra": 2}, 400, "extra"),
    ],
)
def test_bad_feedback_is_refused_with_a_reason(world, body, status, words):
    response = world.call("writer", "POST", "/v1/feedback", json=body)
    assert response.status_code == status and words in response.json()["error"]["message"]


# -- routing between champion and challenger -----------------------------------------


def _shadow_predictions(world, version_id: int) -> int:
    world.platform.prediction_log.flush()
    with world.platform.engine.connect() as conn:
        return conn.execute(
            select(func.coalesce(func.sum(invocations.c.count), 0)).where(
                invocations.c.shadow.is_(True), invocations.c.model_version_id == version_id
            )
        ).scalar_one()


def test_split_and_shadow_routing_to_a_challenger(world, train_version):
    champion, challenger = train_version("routed"), train_version("routed")
    world.call("writer", "POST", "/v1/endpoints", json={"model": "routed", "version": champion.version})
    promoted = world.call(
        "writer", "POST", f"/v1/models/routed/versions/{challenger.version}/promote", json={"stage": "challenger"}
    )
    assert promoted.json()["stage"] == "challenger"
    view = world.call("reader", "GET", "/v1/endpoints/routed").json()
    assert (view["champion"]["version"], view["challenger"]["version"]) == (1, 2)

    assert world.invoke("reader", endpoint="routed").json()["model_version"] == "routed:1", "mode off: the champion"

    split = {"challenger_mode": "split", "challenger_share": 1.0}
    assert world.call("writer", "PATCH", "/v1/endpoints/routed", json=split).status_code == 200
    assert {world.invoke("reader", endpoint="routed").json()["model_version"] for _ in range(5)} == {"routed:2"}

    assert world.call("writer", "PATCH", "/v1/endpoints/routed", json={"challenger_mode": "shadow"}).status_code == 200
    answers = [world.invoke("reader", world.rows[:2], endpoint="routed").json() for _ in range(3)]
    assert {answer["model_version"] for answer in answers} == {"routed:1"}, "a shadow never answers"
    assert wait_for(lambda: _shadow_predictions(world, challenger.id) == 6, seconds=10), _shadow_predictions(
        world, challenger.id
    )
    assert _shadow_predictions(world, champion.id) == 0
    loaded = world.call("reader", "GET", "/v1/endpoints/routed").json()["loaded"]
    assert loaded == ["routed:1", "routed:2"]


def test_an_idle_model_is_unloaded_and_reloaded_on_the_next_call(world, train_version):
    version = train_version("idle")
    world.call("writer", "POST", "/v1/endpoints", json={"model": "idle", "config": {"idle_unload_seconds": 0.05}})
    assert world.invoke("reader", endpoint="idle").status_code == 200
    assert world.call("reader", "GET", "/v1/endpoints/idle").json()["loaded"] == [version.ref]

    assert wait_for(lambda: version.ref in world.serving.unload_idle(), seconds=5)
    assert version.ref not in world.serving.loaded()
    assert world.call("reader", "GET", "/v1/endpoints/idle").json()["loaded"] == []
    assert f"{world.model}:1" in world.serving.loaded(), "a model with the default idle time stays"

    again = world.invoke("reader", endpoint="idle")
    assert again.status_code == 200 and again.json()["model_version"] == version.ref
    assert world.call("reader", "GET", "/v1/endpoints/idle").json()["loaded"] == [version.ref]
