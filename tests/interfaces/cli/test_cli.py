"""The CLI as a new user drives it, on the real vehicle-insurance fraud data."""

import json

import pytest

from aiflywheel.interfaces.cli import main
from aiflywheel.kinds.fraud.example import make_events


@pytest.fixture
def flywheel(tmp_path, store_url, capsys):
    home = tmp_path / "home"

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(["--home", str(home), "--store", store_url, *args])
            code = 0
        except SystemExit as exit:
            code = exit.code or 0
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def claims_csv(shared_data):
    return shared_data / "fraud" / "vehicle_claims_dev.csv"


@pytest.mark.slow
def test_create_train_list_promote(flywheel, claims_csv):
    code, out, _ = flywheel("datasets", "create", "claims", str(claims_csv))
    assert code == 0 and "claims:1" in out and "12336 rows" in out

    code, out, _ = flywheel("datasets", "list", "--json")
    assert json.loads(out)[0]["latest"]["row_count"] == 12336

    code, out, err = flywheel("train", "tabular", "--dataset", "claims", "--target", "FraudFound_P", "--wait")
    assert code == 0, err
    assert "registered claims:1" in out and "roc_auc" in out

    code, out, _ = flywheel("models", "list", "--json")
    [version] = json.loads(out)
    assert version["dataset"] == "claims:1" and version["job_id"] and version["kind"] == "tabular"
    assert version["metrics"]["roc_auc"] > version["metrics"]["baseline_roc_auc"] + 0.2

    code, out, _ = flywheel("models", "promote", "claims", "1")
    assert code == 0 and "champion" in out
    code, out, _ = flywheel("models", "show", "claims", "--json")
    assert json.loads(out)["stage"] == "champion"

    code, out, _ = flywheel("jobs", "list", "--json")
    [job] = json.loads(out)
    assert job["state"] == "succeeded" and job["result"]["model"] == "claims"
    code, out, _ = flywheel("jobs", "logs", str(job["id"]))
    assert code == 0 and "registered model version claims:1" in out
    code, out, _ = flywheel("jobs", "show", str(job["id"]))
    assert code == 0 and "succeeded" in out


def test_train_without_wait_queues_the_job(flywheel, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("x,y\n1,a\n2,b\n3,a\n")
    flywheel("datasets", "create", "t", str(csv))
    code, out, _ = flywheel("train", "tabular", "--dataset", "t", "--target", "y", "--json")
    assert code == 0 and json.loads(out)["state"] == "queued"
    code, out, _ = flywheel("jobs", "cancel", str(json.loads(out)["id"]))
    assert code == 0 and "cancelled" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("datasets", "create", "x", "/no/such/file.csv"), "file.csv"),
        (("datasets", "show", "nope"), "no dataset named 'nope'"),
        (("train", "nokind", "--dataset", "t"), "known kinds: "),
        (("train", "tabular", "--dataset", "t", "--target", "missing"), "missing"),
        (("train", "tabular", "--dataset", "t", "--param", "oops"), "not key=value"),
        (("jobs", "show", "999"), "no job 999"),
        (("models", "show", "nope"), "no model named 'nope'"),
        (("install", "tabular"), "not pretrained"),
        (("install", "nokind", "--param", "a=1"), "known kinds: "),
    ],
)
def test_errors_print_one_line_and_exit_non_zero(flywheel, tmp_path, args, expected):
    csv = tmp_path / "t.csv"
    csv.write_text("x,y\n1,a\n2,b\n")
    flywheel("datasets", "create", "t", str(csv))
    code, out, err = flywheel(*args)
    assert code == 1
    assert err.startswith("error:") and expected in err and "Traceback" not in err + out


def test_kinds_list(flywheel):
    code, out, _ = flywheel("kinds", "list", "--json")
    assert code == 0 and "tabular" in [k["name"] for k in json.loads(out)]


@pytest.mark.slow
def test_train_fraud_with_entity_and_time_flags(flywheel, tmp_path):
    path = tmp_path / "cards.csv"
    make_events(customers=12, days=30).to_csv(path, index=False)
    assert flywheel("datasets", "create", "cards", str(path))[0] == 0
    common = ["--dataset", "cards", "--target", "is_fraud", "--entity", "customer", "--time", "ts"]
    code, out, err = flywheel("train", "fraud", *common, "--param", "amount_column=amount", "--wait", "--json")
    assert code == 0, err
    job = json.loads(out)
    code, out, _ = flywheel("models", "show", job["result"]["model"], "--json")
    version = json.loads(out)
    assert version["kind"] == "fraud" and version["params"]["entity_column"] == "customer"
    assert version["params"]["time_column"] == "ts" and "pr_auc" in version["metrics"]

    code, _, err = flywheel("train", "tabular", *common, "--wait")  # tabular has no entity: refused, named
    assert code != 0 and "entity_column" in err
