from datetime import timedelta

import pytest

from aiflywheel.kernel.predictions import PredictionLog
from aiflywheel.kernel.serving import Serving


@pytest.fixture
def served(platform, tiny_model, tmp_path):
    """Model ``tiny`` at endpoint ``tiny``, and a serving runtime writing to the prediction log."""
    endpoint = platform.endpoints.deploy("tiny")
    runtime = Serving(
        platform.engine, platform.artifacts, platform.kinds, tmp_path / "models", PredictionLog(platform.engine).start()
    )
    yield endpoint, runtime
    runtime.close()


def test_traffic_counts_requests_predictions_and_latency(platform, served):
    endpoint, serving = served
    empty = platform.traffic.summary(endpoint.id)
    assert (empty.requests, empty.predictions, empty.p50_ms, empty.last_at) == (0, 0, None, None)
    for size in (1, 2, 3):
        serving.invoke(platform.project_id, "tiny", [{"x": i} for i in range(size)]).result(timeout=10)
    serving.log.flush()
    summary = platform.traffic.summary(endpoint.id)
    assert (summary.requests, summary.predictions) == (3, 6)
    assert 0 < summary.p50_ms <= summary.p95_ms and summary.last_at is not None
    series = platform.traffic.series(endpoint.id, window=timedelta(minutes=10), buckets=10)
    assert len(series) == 10 and series[0].start < series[-1].start
    assert sum(bucket.requests for bucket in series) == 3 and series[-1].requests == 3
    recent = platform.traffic.recent(endpoint.id, limit=2)
    assert [r.count for r in recent] == [3, 2]  # newest first
    assert recent[0].inputs == [{"x": 0}, {"x": 1}, {"x": 2}] and len(recent[0].outputs) == 3


def test_traffic_stays_inside_its_project(platform, served):
    endpoint, serving = served
    serving.invoke(platform.project_id, "tiny", [{"x": 1}]).result(timeout=10)
    serving.log.flush()
    other = platform.in_project(platform.project_id + 1000)
    assert other.traffic.summary(endpoint.id).requests == 0
    assert other.traffic.recent(endpoint.id) == []
