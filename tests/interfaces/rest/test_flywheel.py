"""The flywheel routes: policy, retrain, history, approvals — and their 4xx answers."""

import pytest

from aiflywheel.testing import assert_error

BASE = "/v1/endpoints/cancer"


@pytest.fixture
def policy(world):
    answer = world.call("writer", "PUT", f"{BASE}/policy", json={"triggers": {"every_n_labels": None}})
    assert answer.status_code == 200, answer.text
    yield answer.json()
    world.call("writer", "DELETE", f"{BASE}/policy")


def test_a_policy_is_set_read_changed_and_deleted(world, policy):
    assert policy["endpoint"] == "cancer" and policy["policy"]["triggers"]["every_n_labels"] is None
    changed = world.call("writer", "PATCH", f"{BASE}/policy", json={"promotion": {"min_gain": 0.01}}).json()
    assert (
        changed["policy"]["promotion"]["min_gain"] == 0.01 and changed["policy"]["triggers"]["every_n_labels"] is None
    )
    read = world.call("reader", "GET", f"{BASE}/policy").json()
    assert read["policy"] == changed["policy"] and read["new_labels"] >= 0
    history = world.call("reader", "GET", f"{BASE}/history").json()
    assert [e["type"] for e in history][-2:] == ["policy_set", "policy_set"]


@pytest.mark.parametrize(
    ("method", "body", "status", "code", "words"),
    [
        ("PATCH", {"promotion": {"min_gain": -1}}, 400, "invalid_input", ("promotion.min_gain",)),
        ("PATCH", {"triggers": {"schedule": "whenever"}}, 400, "invalid_input", ("triggers.schedule",)),
        ("PUT", {"surprise": True}, 400, "invalid_input", ("surprise",)),
        ("PUT", [1, 2], 400, "invalid_input", ()),
    ],
)
def test_a_bad_policy_is_a_400_naming_the_field(world, policy, method, body, status, code, words):
    assert_error(world.call("writer", method, f"{BASE}/policy", json=body), status, code, *words)
    assert world.call("reader", "GET", f"{BASE}/policy").json()["policy"] == policy["policy"]  # unchanged


def test_roles_unknown_endpoints_and_conflicts(world, policy):
    assert_error(world.call("reader", "PATCH", f"{BASE}/policy", json={}), 403, "forbidden")
    assert_error(world.call("reader", "POST", f"{BASE}/retrain"), 403, "forbidden")
    assert_error(world.call("reader", "GET", "/v1/endpoints/nope/policy"), 404, "not_found", "nope")
    assert_error(world.call("other", "GET", f"{BASE}/history"), 404, "not_found")  # another project's endpoint
    assert_error(world.call("writer", "POST", f"{BASE}/approve"), 409, "conflict", "no challenger waiting")
    assert_error(world.call("reader", "GET", f"{BASE}/history", params={"limit": 0}), 400, "invalid_input", "limit")
    job = world.call("writer", "POST", f"{BASE}/retrain")
    assert job.status_code == 201 and job.json()["type"] == "retrain"
    assert_error(world.call("writer", "POST", f"{BASE}/retrain"), 409, "conflict", "already has flywheel job")
    world.platform.jobs.cancel(job.json()["id"])
