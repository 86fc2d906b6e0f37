"""The feedback join: late labels join, corrections replace, windows and versions filter, types are kept."""

from datetime import timedelta

import pyarrow as pa
import pytest

from aiflywheel.errors import InvalidInput, NotFound
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.flywheel.join import count_labelled, labelled_predictions, rows_table
from aiflywheel.kernel.predictions import FeedbackRequest, new_invocation_id, prediction_ids


@pytest.fixture
def endpoint(platform, tiny_model):
    return platform.endpoints.deploy("tiny")


def log(platform, endpoint, version, inputs, days_ago=0.0, shadow=False) -> list[str]:
    invocation = new_invocation_id()
    platform.prediction_log.record(
        {
            "id": invocation,
            "project_id": platform.project_id,
            "endpoint_id": endpoint.id,
            "model_version_id": version.id,
            "count": len(inputs),
            "inputs": inputs,
            "outputs": [{"value": "a"}] * len(inputs),
            "latency_ms": 1.0,
            "shadow": shadow,
            "created_at": now() - timedelta(days=days_ago),
        }
    )
    platform.prediction_log.flush()
    return prediction_ids(invocation, len(inputs))


def label(platform, prediction_id, event_id, value):
    return platform.feedback.send(FeedbackRequest(prediction_id=prediction_id, event_id=event_id, label=value))


def test_late_feedback_joins_and_a_correction_replaces_the_first_label(platform, endpoint, tiny_model):
    old = log(platform, endpoint, tiny_model, [{"x": 1}, {"x": 2}], days_ago=3)
    new = log(platform, endpoint, tiny_model, [{"x": 3}])
    label(platform, new[0], "e-new", "a")
    label(platform, old[1], "e-old", "a")  # three days after the prediction
    label(platform, old[1], "e-fix", "b")  # and corrected
    label(platform, old[1], "e-fix", "b")  # the same event again: idempotent
    joined = labelled_predictions(platform.engine, platform.project_id, endpoint.id)
    assert [(j.record.input, j.record.feedback["label"]) for j in joined] == [({"x": 2}, "b"), ({"x": 3}, "a")]
    assert joined[0].record.feedback["event_id"] == "e-fix" and joined[0].prediction_id == old[1]
    assert count_labelled(platform.engine, platform.project_id, endpoint.id) == 2

    recent = labelled_predictions(platform.engine, platform.project_id, endpoint.id, since=now() - timedelta(days=1))
    assert [j.record.input for j in recent] == [{"x": 3}]
    first_id = joined[1].feedback_id
    assert [
        j.record.input
        for j in labelled_predictions(platform.engine, platform.project_id, endpoint.id, through_id=first_id)
    ] == [{"x": 3}]


def test_rows_come_from_the_kind_and_only_from_this_endpoint_and_version(platform, endpoint, tiny_model, retrain):
    other = retrain()
    mine = log(platform, endpoint, tiny_model, [{"x": 1}])
    theirs = log(platform, endpoint, other, [{"x": 2}])
    label(platform, mine[0], "e1", "b")
    label(platform, theirs[0], "e2", "b")
    only = labelled_predictions(platform.engine, platform.project_id, endpoint.id, version_id=tiny_model.id)
    assert [j.prediction_id for j in only] == mine
    assert count_labelled(platform.engine, platform.project_id, endpoint.id, version_id=other.id) == 1
    kind = platform.kinds.get("baseline")
    rows = kind.feedback_rows(kind.Params(target="y"), [j.record for j in only])
    assert [row["y"] for row in rows] == ["b"]


def test_feedback_for_an_unknown_prediction_is_not_found(platform, endpoint):
    with pytest.raises(NotFound, match="no prediction 'pr_missing.0'"):
        label(platform, "pr_missing.0", "e1", "a")


def test_rows_take_the_base_dataset_types_or_say_which_column_cannot():
    schema = pa.schema([("age", pa.int64()), ("city", pa.string()), ("fraud", pa.int64())])
    table = rows_table([{"age": "41", "city": "Porto", "fraud": 1, "extra": 5}, {"age": None, "fraud": 0}], schema)
    assert table.schema == schema and table.column("age").to_pylist() == [41, None]
    with pytest.raises(InvalidInput, match="column 'age' cannot be read as int64"):
        rows_table([{"age": "forty", "fraud": 0}], schema)
