import json

import pyarrow.parquet as pq
import pytest

from aiflywheel.errors import InvalidInput, NotFound
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.predictions import FeedbackRequest
from aiflywheel.kernel.worker import execute


def run(platform, job):
    return execute(platform, platform.all_jobs().claim("me:1", job_id=job.id))


def test_every_row_gets_a_prediction_and_an_id_that_takes_feedback(platform, tiny_model):
    job = platform.batch_predict("tiny", "tiny")
    assert job.spec["output"] == "tiny-predictions" and job.spec["model"] == "tiny:1"
    assert run(platform, job) == JobState.SUCCEEDED, platform.jobs.get(job.id).error
    assert platform.jobs.get(job.id).result == {"dataset": "tiny-predictions", "version": 1, "rows": 30}

    output = platform.datasets.version("tiny-predictions")
    table = pq.read_table(platform.artifacts.local_path(output.artifact))
    assert table.column_names == ["x", "y", "prediction_id", "predicted_value", "prediction"]
    assert table.num_rows == output.row_count == 30
    assert table.column("x").to_pylist() == list(range(30)), "rows keep their order"
    assert set(table.column("predicted_value").to_pylist()) == {"a"}
    assert json.loads(table.column("prediction")[0].as_py()) == {"value": "a"}
    ids = table.column("prediction_id").to_pylist()
    assert len(set(ids)) == 30

    logged = platform.prediction_log.get(platform.project_id, ids[3])
    assert (logged.input, logged.output, logged.endpoint_id) == ({"x": 3, "y": "b"}, {"value": "a"}, None)
    record = platform.feedback.send(FeedbackRequest(prediction_id=ids[3], event_id="row-3", label="b"))
    assert record.prediction_id == ids[3] and not record.duplicate


def test_a_chosen_version_and_output_name(platform, tiny_model, retrain):
    retrain()
    platform.models.promote("tiny", 2)
    job = platform.batch_predict("tiny", "tiny", version=1, output="scored")
    assert job.spec["model"] == "tiny:1"
    run(platform, job)
    assert platform.datasets.version("scored").source["file"] == "predictions of tiny:1 for tiny:1"


def test_refusals_before_queueing(platform, tiny_model):
    with pytest.raises(InvalidInput, match="must not be the input"):
        platform.batch_predict("tiny", "tiny", output="tiny")
    with pytest.raises(NotFound):
        platform.batch_predict("nope", "tiny")
    with pytest.raises(NotFound):
        platform.batch_predict("tiny", "nope")
    with pytest.raises(NotFound):
        platform.batch_predict("tiny", "tiny", version=9)
    with pytest.raises(InvalidInput):
        platform.batch_predict("tiny", "tiny", output="not a name")
    assert platform.jobs.list() == [platform.jobs.get(1)], "only the training job exists"
