"""``flywheel train fraud --dataset NAME --target COL --entity COL --time COL`` as a user runs it."""

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
