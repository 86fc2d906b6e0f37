import pyarrow.parquet as pq
import pytest

from aiflywheel.errors import InvalidInput, NotFound
from aiflywheel.kernel.datasets import Datasets
from aiflywheel.kernel.projects import ensure_project


@pytest.fixture
def claims(shared_data):
    return shared_data / "fraud" / "vehicle_claims_dev.csv"


def test_a_real_csv_becomes_an_immutable_parquet_version(platform, claims):
    version = platform.datasets.create("claims", claims)
    assert (version.ref, version.row_count, len(version.columns)) == ("claims:1", 12336, 33)
    assert version.source["file"] == "vehicle_claims_dev.csv"
    by_name = {c["name"]: c for c in version.columns}
    assert by_name["FraudFound_P"]["logical"] == "numeric" and by_name["Make"]["logical"] == "categorical"
    assert len(version.preview) == 20 and version.preview[0]["Make"] == "Honda"
    table = pq.read_table(platform.artifacts.local_path(version.artifact))
    assert table.num_rows == 12336
    data = platform.datasets.training_data(version)
    assert data.to_pandas(["FraudFound_P"])["FraudFound_P"].sum() == 738


def test_creating_again_adds_a_version_and_keeps_the_old_one(platform, tmp_path):
    first = tmp_path / "a.csv"
    first.write_text("x,y\n1,a\n")
    second = tmp_path / "b.csv"
    second.write_text("x,y\n1,a\n2,b\n")
    v1 = platform.datasets.create("t", first)
    v2 = platform.datasets.create("t", second)
    assert (v1.version, v2.version) == (1, 2)
    assert platform.datasets.version("t").version == 2
    assert platform.datasets.version("t", 1).row_count == 1
    assert [d.latest.version for d in platform.datasets.list()] == [2]
    with pytest.raises(NotFound, match="no version 7"):
        platform.datasets.version("t", 7)


def test_a_bad_file_leaves_nothing_behind(platform, tmp_path):
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidInput, match="ragged.csv"):
        platform.datasets.create("ragged", bad)
    with pytest.raises(NotFound):
        platform.datasets.get("ragged")
    scratch = platform.settings.home / "scratch"
    assert not scratch.exists() or not any(scratch.iterdir())


def test_names_are_checked(platform, tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("x\n1\n")
    with pytest.raises(InvalidInput, match="dataset name"):
        platform.datasets.create("../../evil", csv)


def test_datasets_of_another_project_are_invisible(platform, tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("x\n1\n")
    platform.datasets.create("mine", csv)
    other = Datasets(platform.engine, platform.artifacts, ensure_project(platform.engine, "other"), tmp_path)
    assert other.list() == []
    with pytest.raises(NotFound):
        other.version("mine")


def test_an_uploaded_stream_becomes_a_dataset(platform, claims):
    with open(claims, "rb") as stream:
        version = platform.datasets.upload("claims", stream, "../../claims.csv")
    assert version.row_count == 12336 and version.source["file"] == "claims.csv"


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(platform, claims):
    with open(claims, "rb") as stream, pytest.raises(InvalidInput, match="larger than the limit of 1000 bytes"):
        platform.datasets.upload("claims", stream, "claims.csv", max_bytes=1000)
    assert platform.datasets.list() == []
    assert not any((platform.settings.home / "scratch").iterdir())
