import threading

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from aiflywheel.backends.store.schema import invocations
from aiflywheel.errors import Conflict, NotFound
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.predictions import (
    FeedbackRequest,
    PredictionLog,
    new_invocation_id,
    prediction_ids,
    split_prediction_id,
)
from aiflywheel.kernel.projects import ensure_project


def invocation(platform, version, count, shadow=False) -> dict:
    """What serving records for one request of ``count`` instances."""
    return {
        "id": new_invocation_id(),
        "project_id": platform.project_id,
        "endpoint_id": None,
        "model_version_id": version.id,
        "count": count,
        "inputs": [{"x": i} for i in range(count)],
        "outputs": [{"value": "a"} for _ in range(count)],
        "latency_ms": 1.5,
        "shadow": shadow,
        "created_at": now(),
    }


def logged(platform, version, count) -> list[str]:
    """Record an invocation in the platform's log; return its prediction ids."""
    record = invocation(platform, version, count)
    platform.prediction_log.record(record)
    return prediction_ids(record["id"], count)


def stored(platform) -> int:
    with platform.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(invocations)).scalar_one()


def test_ids_are_unique_and_a_prediction_id_names_its_invocation_and_position():
    ids = {new_invocation_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(i.startswith("pr_") and len(i) <= 40 for i in ids)
    first = new_invocation_id()
    assert prediction_ids(first, 3) == [f"{first}.0", f"{first}.1", f"{first}.2"]
    assert split_prediction_id(f"{first}.12") == (first, 12)
    for malformed in ("pr_x", "pr_x.", ".3", "pr_x.-1", "pr_x.a"):
        assert split_prediction_id(malformed) is None


def test_recorded_invocations_are_written_on_flush(platform, tiny_model):
    log = PredictionLog(platform.engine, batch_rows=7)
    for _ in range(20):
        log.record(invocation(platform, tiny_model, 3))
    assert (log.pending(), stored(platform)) == (20, 0), "recording does not touch the store"
    assert log.flush() == 20
    assert (log.pending(), stored(platform)) == (0, 20)
    log.close()


def test_get_finds_each_prediction_writing_pending_ones_first(platform, tiny_model):
    log = PredictionLog(platform.engine)
    record = invocation(platform, tiny_model, 3)
    log.record(record)
    first, second, third = prediction_ids(record["id"], 3)
    found = log.get(platform.project_id, second)
    assert (found.id, found.invocation_id, found.position) == (second, record["id"], 1)
    assert (found.input, found.output, found.shadow, found.latency_ms) == ({"x": 1}, {"value": "a"}, False, 1.5)
    assert log.get(platform.project_id, third).input == {"x": 2}
    for missing in ("pr_nope", f"{record['id']}.3", record["id"], f"{record['id']}.x", "pr_nope.0"):
        with pytest.raises(NotFound, match="no prediction"):
            log.get(platform.project_id, missing)
    with pytest.raises(NotFound):
        log.get(ensure_project(platform.engine, "other"), first)
    log.close()


def test_nothing_is_lost_on_close_while_the_writer_runs(platform, tiny_model):
    log = PredictionLog(platform.engine, flush_seconds=0.01, batch_rows=20, max_pending=50).start()

    def write():
        for _ in range(100):
            log.record(invocation(platform, tiny_model, 2))

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    log.close()
    assert (log.pending(), stored(platform)) == (0, 400)


def test_invocations_stay_buffered_when_a_write_fails(platform, tiny_model):
    log = PredictionLog(platform.engine)
    good = [invocation(platform, tiny_model, 1) for _ in range(2)]
    bad = invocation(platform, tiny_model, 1)
    bad["model_version_id"] = None  # NOT NULL: the insert fails
    for record in [*good, bad]:
        log.record(record)
    with pytest.raises(Exception):  # noqa: B017 - whatever the database driver raises
        log.flush()
    assert log.pending() == 3 and stored(platform) == 0, "a failed batch goes back to the buffer, in order"
    log._buffer.pop()
    assert log.flush() == 2
    log.close()


def test_feedback_is_idempotent_by_event_id(platform, tiny_model):
    first, second = logged(platform, tiny_model, 2)
    recorded = platform.feedback.send(FeedbackRequest(prediction_id=first, event_id="e1", label="b"))
    assert (recorded.prediction_id, recorded.label, recorded.duplicate) == (first, "b", False)
    again = platform.feedback.send(FeedbackRequest(prediction_id=first, event_id="e1", label="a"))
    assert again.duplicate and again.id == recorded.id and again.label == "b"
    with pytest.raises(Conflict, match="already used"):
        platform.feedback.send(FeedbackRequest(prediction_id=second, event_id="e1", label="b"))
    platform.feedback.send(FeedbackRequest(prediction_id=first, event_id="e2", reward=1.0))
    assert [f.event_id for f in platform.feedback.for_prediction(first)] == ["e1", "e2"]
    assert platform.feedback.for_prediction(second) == []


@pytest.mark.parametrize("value", [0, 1, 2.5, True, "benign", None, [1, "a"], {"paid": 0}])
def test_feedback_values_of_any_json_type_round_trip(platform, tiny_model, value):
    [prediction_id] = logged(platform, tiny_model, 1)
    fields = {"label": value} if value is not None else {"outcome": {"note": None}}
    record = platform.feedback.send(FeedbackRequest(prediction_id=prediction_id, event_id="e", **fields))
    assert (record.label, record.outcome) == ((value, None) if value is not None else (None, {"note": None}))
    assert type(record.label) is type(value)


def test_feedback_needs_a_prediction_of_the_project(platform, tiny_model):
    [prediction_id] = logged(platform, tiny_model, 1)
    with pytest.raises(NotFound):
        platform.feedback.send(FeedbackRequest(prediction_id="pr_unknown.0", event_id="e", label=1))
    other = platform.in_project(ensure_project(platform.engine, "other"))
    with pytest.raises(NotFound):
        other.feedback.send(FeedbackRequest(prediction_id=prediction_id, event_id="e", label=1))


@pytest.mark.parametrize(
    "fields",
    [{}, {"label": 1, "reward": 2.0}, {"label": 1, "outcome": "x", "reward": 1.0}],
)
def test_feedback_takes_exactly_one_of_label_outcome_or_reward(fields):
    with pytest.raises(ValidationError, match="exactly one of label, outcome or reward"):
        FeedbackRequest(prediction_id="pr_x", event_id="e", **fields)
