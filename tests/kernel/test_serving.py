import threading
import time

import pytest
from sqlalchemy import func, select

from aiflywheel.backends.store.schema import invocations
from aiflywheel.errors import InvalidInput, KindFailed, NotFound
from aiflywheel.kernel.predictions import PredictionLog
from aiflywheel.kernel.registry import Stage
from aiflywheel.kernel.serving import Serving
from aiflywheel.testing import BaselineKind


class SpyPredictor:
    """The baseline predictor, recording the size of every batch it is called with."""

    def __init__(self, inner, calls: list[int], seconds: float):
        self.inner, self.calls, self.seconds = inner, calls, seconds

    def predict(self, batch):
        self.calls.append(len(batch))
        time.sleep(self.seconds)  # a model takes time: requests arriving meanwhile queue up
        if any(isinstance(row, dict) and row.get("boom") for row in batch):
            raise RuntimeError("the model exploded")
        return self.inner.predict(batch)


@pytest.fixture
def calls() -> list[int]:
    return []


@pytest.fixture
def loads() -> list[str]:
    return []


@pytest.fixture
def spied(platform, tiny_model, retrain, calls, loads):
    """Model ``spied`` of kind ``spy`` (the baseline, watched) deployed at endpoint ``spied``."""

    class SpyKind(BaselineKind):
        name = "spy"

        def load(self, workdir):
            loads.append(str(workdir))
            return SpyPredictor(super().load(workdir), calls, 0.002)

    platform.kinds.add(SpyKind)
    retrain("spied", "spy")
    return platform.endpoints.deploy("spied", config={"max_wait_ms": 20.0})


@pytest.fixture
def serving(platform, tmp_path):
    runtime = Serving(
        platform.engine,
        platform.artifacts,
        platform.kinds,
        tmp_path / "models",
        PredictionLog(platform.engine).start(),
        route_seconds=60.0,
    )
    yield runtime
    runtime.close()


def invoke(serving, platform, instances, endpoint="spied"):
    return serving.invoke(platform.project_id, endpoint, instances).result(timeout=10)


def test_an_invocation_is_answered_and_logged(platform, serving, spied):
    answer = invoke(serving, platform, [{"x": 1}, {"x": 2}])
    assert answer.predictions == [{"value": "a"}, {"value": "a"}] and answer.model_version == "spied:1"
    assert len(set(answer.prediction_ids)) == 2
    serving.log.flush()
    record = serving.log.get(platform.project_id, answer.prediction_ids[1])
    assert (record.input, record.output, record.endpoint_id, record.shadow) == (
        {"x": 2},
        {"value": "a"},
        spied.id,
        False,
    )
    assert serving.loaded() == ["spied:1"]


def test_concurrent_requests_share_predictor_calls(platform, serving, spied, calls):
    serving.prepare(platform.project_id, "spied")
    start = threading.Barrier(40)
    answers = [None] * 40

    def one(i):
        start.wait()
        answers[i] = invoke(serving, platform, [{"x": i}])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a.predictions == [{"value": "a"}] for a in answers)
    assert sum(calls) == 40 and len(calls) < 40, calls
    assert len({a.prediction_ids[0] for a in answers}) == 40


def test_a_batch_holds_at_most_max_batch_size_rows(platform, serving, spied, calls):
    platform.endpoints.configure("spied", {"max_batch_size": 4, "max_wait_ms": 50.0})
    serving.prepare(platform.project_id, "spied")
    futures = [serving.invoke(platform.project_id, "spied", [{"x": i}]) for i in range(10)]
    assert [f.result(timeout=10).predictions for f in futures] == [[{"value": "a"}]] * 10
    assert max(calls) <= 4 and sum(calls) == 10


def test_a_reconfigured_batch_size_applies_to_a_loaded_model(platform, serving, spied, calls):
    serving.prepare(platform.project_id, "spied")
    platform.endpoints.configure("spied", {"max_batch_size": 2, "max_wait_ms": 50.0})
    serving.forget_routes()
    futures = [serving.invoke(platform.project_id, "spied", [{"x": i}]) for i in range(6)]
    assert [len(f.result(timeout=10).predictions) for f in futures] == [1] * 6
    assert max(calls) <= 2 and sum(calls) == 6


def test_a_bad_request_batched_with_good_ones_fails_alone(platform, serving, spied, calls):
    serving.prepare(platform.project_id, "spied")
    futures = [serving.invoke(platform.project_id, "spied", [{"x": i}]) for i in range(5)]
    bad = serving.invoke(platform.project_id, "spied", [1])
    futures += [serving.invoke(platform.project_id, "spied", [{"x": i}]) for i in range(5)]
    with pytest.raises(InvalidInput, match="list of objects"):
        bad.result(timeout=10)
    assert [f.result(timeout=10).predictions for f in futures] == [[{"value": "a"}]] * 10
    assert calls[0] == 11, "all eleven were batched into one call, which failed and was retried one by one"


def test_a_failing_model_is_kind_failed_and_the_next_request_is_served(platform, serving, spied):
    with pytest.raises(KindFailed, match="exploded"):
        invoke(serving, platform, [{"boom": True}])
    assert invoke(serving, platform, [{"x": 1}]).predictions == [{"value": "a"}]


def test_instances_are_checked(platform, serving, spied):
    platform.endpoints.configure("spied", {"max_instances": 2})
    with pytest.raises(InvalidInput, match="at most 2"):
        serving.invoke(platform.project_id, "spied", [{}, {}, {}])
    with pytest.raises(InvalidInput, match="non-empty list"):
        serving.invoke(platform.project_id, "spied", [])
    with pytest.raises(NotFound):
        serving.invoke(platform.project_id, "nope", [{}])


def test_routes_are_re_read_after_forget_routes(platform, serving, spied, retrain):
    assert invoke(serving, platform, [{}]).model_version == "spied:1"
    second = retrain("spied", "spy")
    platform.models.promote("spied", second.version, Stage.CHAMPION)
    assert invoke(serving, platform, [{}]).model_version == "spied:1", "the route is cached for route_seconds"
    serving.forget_routes()
    assert invoke(serving, platform, [{}]).model_version == "spied:2"


def test_split_and_shadow_routing(platform, serving, spied, retrain):
    challenger = retrain("spied", "spy")
    platform.models.promote("spied", challenger.version, Stage.CHALLENGER)
    platform.endpoints.configure("spied", {"challenger_mode": "split", "challenger_share": 1.0})
    serving.forget_routes()
    assert invoke(serving, platform, [{}]).model_version == "spied:2"

    platform.endpoints.configure("spied", {"challenger_mode": "shadow"})
    serving.forget_routes()
    assert {invoke(serving, platform, [{}, {}]).model_version for _ in range(3)} == {"spied:1"}

    def shadow_rows():
        serving.log.flush()
        with platform.engine.connect() as conn:
            return conn.execute(
                select(func.coalesce(func.sum(invocations.c.count), 0)).where(
                    invocations.c.model_version_id == challenger.id
                )
            ).scalar_one()

    deadline = time.monotonic() + 10
    while shadow_rows() < 7 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert shadow_rows() == 7, "one split answer and six shadow predictions"


def test_an_idle_model_is_unloaded_and_reloaded(platform, serving, spied, loads):
    platform.endpoints.configure("spied", {"idle_unload_seconds": 0.01})
    invoke(serving, platform, [{}])
    time.sleep(0.05)
    assert serving.unload_idle() == ["spied:1"] and serving.loaded() == []
    assert invoke(serving, platform, [{}]).predictions == [{"value": "a"}]
    assert serving.loaded() == ["spied:1"] and len(loads) == 2


def test_a_model_with_idle_unload_zero_stays(platform, serving, spied):
    platform.endpoints.configure("spied", {"idle_unload_seconds": 0})
    invoke(serving, platform, [{}])
    time.sleep(0.02)
    assert serving.unload_idle() == [] and serving.loaded() == ["spied:1"]


def test_close_writes_the_log(platform, serving, spied):
    answer = invoke(serving, platform, [{"x": 1}])
    serving.close()
    assert serving.log.pending() == 0 and serving.loaded() == []
    assert platform.prediction_log.get(platform.project_id, answer.prediction_ids[0]).input == {"x": 1}


def test_failed_requests_are_counted_for_their_endpoint(platform, serving, spied):
    assert serving.failures(platform.project_id, spied.id) == []
    with pytest.raises(KindFailed):
        invoke(serving, platform, [{"boom": True}])
    invoke(serving, platform, [{"x": 1}])
    failed = serving.failures(platform.project_id, spied.id)
    assert len(failed) == 1 and failed[0].tzinfo is not None
    assert serving.failures(platform.project_id, spied.id + 1) == []
