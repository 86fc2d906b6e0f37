"""Bad input is a 4xx with a JSON error naming the problem: never a 500, never a traceback."""

import pytest

from aiflywheel.testing import assert_error

INVOKE = "/v1/endpoints/cancer/invocations"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", ("not valid JSON",)),
        (b"\xff\xfe", ("not valid JSON",)),
        (b"", ("not valid JSON",)),
        (b"[1, 2]", ('{"instances": [...]}',)),
        (b'{"rows": [{}]}', ('{"instances": [...]}',)),
        (b'{"instances": {"mean radius": 1}}', ("non-empty list",)),
        (b'{"instances": []}', ("non-empty list",)),
        (b'{"instances": [1]}', ("row 0", "object")),
    ],
)
def test_a_malformed_invocation_is_400(world, content, words):
    response = world.http.post(
        INVOKE, content=content, headers={**world.auth("reader"), "content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_input", *words)


def test_a_bad_value_is_400_naming_the_row_and_field(world):
    good, bad = world.rows[0], {**world.rows[1], "mean radius": "wide"}
    response = world.invoke("reader", [good, bad])
    assert_error(response, 400, "invalid_input", "row 1", "mean radius", "wide")


def test_a_bad_request_fails_alone_among_concurrent_ones(world):
    from concurrent.futures import ThreadPoolExecutor

    bad = [{**world.rows[0], "mean radius": "wide"}]
    bodies = [[row] for row in world.rows[:10]] + [bad] + [[row] for row in world.rows[10:]]
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda body: world.invoke("reader", body).status_code, bodies))
    assert statuses == [200] * 10 + [400] + [200] * (len(bodies) - 11)


def test_too_many_instances_is_400(world):
    world.call("writer", "PATCH", "/v1/endpoints/cancer", json={"max_instances": 3})
    try:
        assert_error(world.invoke("reader", world.rows[:4]), 400, "invalid_input", "at most 3")
        assert world.invoke("reader", world.rows[:3]).status_code == 200
    finally:
        world.call("writer", "PATCH", "/v1/endpoints/cancer", json={"max_instances": 1000})


def test_an_unknown_endpoint_is_404(world):
    assert_error(world.invoke("reader", endpoint="nope"), 404, "not_found", "nope")


def test_a_body_over_the_limit_is_413(world):
    small = world.app(max_body_bytes=2048)
    big = {"instances": world.rows * 2}
    declared = small.post(INVOKE, json=big, headers=world.auth("reader"))
    assert_error(declared, 413, "payload_too_large", "2048 bytes")

    def chunks():  # no content-length: the limit is counted as the body streams in
        yield b'{"instances": ['
        for _ in range(100):
            yield b'{"mean radius": 14.0, "mean texture": 20.0},'
        yield b"{}]}"

    streamed = small.post(
        INVOKE, content=chunks(), headers={**world.auth("reader"), "content-type": "application/json"}
    )
    assert_error(streamed, 413, "payload_too_large", "2048 bytes")
    assert small.post(INVOKE, json={"instances": world.rows[:1]}, headers=world.auth("reader")).status_code == 200


def test_an_unknown_path_or_method_is_json(world):
    assert_error(world.call("reader", "GET", "/v1/nothing-here"), 404, "not_found", "/docs")
    assert_error(world.http.get("/favicon.ico"), 404, "not_found")
    assert_error(world.call("reader", "PUT", "/v1/datasets"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "words"),
    [
        ("POST", "/v1/jobs", {"json": {}}, ()),
        ("POST", "/v1/jobs", {"json": {"type": "explode", "kind": "tabular"}}, ("type",)),
        ("POST", "/v1/jobs", {"content": b"{oops", "headers": {"content-type": "application/json"}}, ("JSON",)),
        ("POST", "/v1/jobs", {"json": [1, 2]}, ()),
        (
            "POST",
            "/v1/jobs",
            {"json": {"type": "train", "kind": "tabular", "dataset": "demo-breast-cancer", "params": [1]}},
            ("params",),
        ),
        ("GET", "/v1/jobs/abc", {}, ("job_id",)),
        ("GET", "/v1/jobs?limit=0", {}, ("limit",)),
        ("GET", "/v1/jobs?state=sleeping", {}, ("state",)),
        ("GET", "/v1/datasets/demo-breast-cancer/versions/first", {}, ("version",)),
        ("POST", "/v1/datasets", {"data": {"name": "x"}}, ("file",)),
        ("POST", "/v1/datasets", {"data": {"name": "../x"}, "files": {"file": ("x.csv", b"a\n1\n")}}, ("../x",)),
        ("POST", "/v1/datasets", {"json": {"name": "x"}}, ()),
        ("POST", "/v1/endpoints", {"json": {"model": "demo-breast-cancer", "colour": "red"}}, ("colour",)),
        ("POST", "/v1/endpoints", {"json": {"model": "demo-breast-cancer", "name": "a b"}}, ("a b",)),
        ("PATCH", "/v1/endpoints/cancer", {"json": [1]}, ()),
        ("PATCH", "/v1/endpoints/cancer", {"json": {"challenger_share": 2}}, ("challenger_share",)),
        ("POST", "/v1/feedback", {"content": b"", "headers": {"content-type": "application/json"}}, ()),
        ("POST", "/v1/models/demo-breast-cancer/versions/x/promote", {"json": {}}, ("version",)),
    ],
)
def test_bad_requests_are_400_naming_the_problem(world, method, path, kwargs, words):
    response = world.call("admin", method, path, **kwargs)
    assert_error(response, 400, "invalid_input", *words)
