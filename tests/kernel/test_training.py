import pytest

from aiflywheel.errors import InvalidInput, KindNotFound, NotFound


@pytest.fixture
def tiny(platform, tmp_path):
    csv = tmp_path / "tiny.csv"
    csv.write_text("x,y\n1,a\n2,b\n")
    return platform.datasets.create("tiny", csv)


@pytest.mark.parametrize(
    ("kind", "dataset", "params", "error", "match"),
    [
        ("nope", "tiny", {"target": "y"}, KindNotFound, "known kinds"),
        ("baseline", "none", {"target": "y"}, NotFound, "no dataset named 'none'"),
        ("baseline", "tiny", {"target": "zzz"}, InvalidInput, "'zzz' is not in the dataset"),
        ("baseline", "tiny", {"target": "y", "bogus": 1}, InvalidInput, "bogus: Extra inputs"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_queued(platform, tiny, kind, dataset, params, error, match):
    with pytest.raises(error, match=match):
        platform.train(kind, dataset, params)
    assert platform.jobs.list() == []


def test_the_job_pins_the_dataset_version_it_was_asked_for(platform, tiny, tmp_path):
    job = platform.train("baseline", "tiny", {"target": "y"}, model="my-model")
    more = tmp_path / "more.csv"
    more.write_text("x,y\n1,a\n")
    platform.datasets.create("tiny", more)
    assert job.spec["dataset_version_id"] == tiny.id and job.spec["model"] == "my-model"
    assert job.spec["params"] == {"target": "y", "sleep_seconds": 0.0}
