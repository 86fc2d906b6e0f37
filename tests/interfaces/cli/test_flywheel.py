"""``flywheel demo`` on the real claims data, then the flywheel commands on what it built."""

import json

import pytest

from aiflywheel.interfaces.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory, module_store_url, shared_data):
    """One demo run for the module (about half a minute)."""
    home = tmp_path_factory.mktemp("demo") / "home"
    with pytest.raises(SystemExit) as exit:
        main(["--home", str(home), "--store", module_store_url, "demo", "--data", str(shared_data)])
    assert exit.value.code == 0
    return home


@pytest.fixture
def flywheel(demo_home, module_store_url, capsys):
    capsys.readouterr()

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(["--home", str(demo_home), "--store", module_store_url, *args])
            code = 0
        except SystemExit as exit:
            code = exit.code or 0
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_the_demo_improves_quality_on_unseen_claims_from_feedback_alone(demo_home, flywheel):
    result = json.loads((demo_home / "demo" / "flywheel.json").read_text())
    assert result["split"] == {"first": 1500, "holdout": 0, "live": 8336, "future": 2500}
    decisions = [event for r in result["rounds"] for event in r["events"]]
    assert any(d.startswith("promoted") for d in decisions) and any(d.startswith("refused") for d in decisions)
    assert result["rounds"][-1]["future_auc"] > result["first_auc"] + 0.02
    assert (demo_home / "demo" / "flywheel.png").read_bytes()[:4] == b"\x89PNG"

    code, out, _ = flywheel("demo")  # a second run shows the first one's results
    assert code == 0 and "already ran" in out and "from feedback alone" in out


def test_history_explains_every_decision_with_numbers(flywheel):
    code, out, _ = flywheel("history", "flywheel-demo", "--json", "--limit", "1000")
    events = json.loads(out)
    decided = [e for e in events if e["type"] in ("promoted", "refused", "rolled_back", "kept")]
    assert decided
    for event in decided:
        numbers = event["details"].get("offline") or event["details"].get("online")
        assert numbers["metric"] == "roc_auc" and numbers["rows"] >= 300
        assert "roc_auc" in event["reason"] and event["challenger"]
        if event["type"] != "promoted":
            continue
        assert event["details"]["training_set"].startswith("flywheel-demo.training:")
        assert event["details"]["evaluation_set"].startswith("flywheel-demo.evaluation:")
    code, out, _ = flywheel("history", "flywheel-demo")
    assert code == 0 and "promoted" in out and "roc_auc" in out


def test_policy_commands(flywheel):
    code, out, err = flywheel(
        "policy",
        "set",
        "flywheel-demo",
        "--every-n-labels",
        "off",
        "--schedule",
        "1d",
        "--approval",
        "manual",
        "--json",
    )
    assert code == 0, err
    status = json.loads(out)
    assert status["policy"]["triggers"]["every_n_labels"] is None
    assert status["policy"]["triggers"]["schedule"] == 86400.0
    assert status["policy"]["promotion"]["approval"] == "manual"
    assert status["policy"]["promotion"]["recent_feedback_share"] == 0.3  # kept from before
    code, out, _ = flywheel("policy", "show", "flywheel-demo")
    assert code == 0 and "promotion.approval" in out and "manual" in out

    code, _, err = flywheel("policy", "set", "flywheel-demo", "--min-gain", "-1")
    assert code == 1 and "promotion.min_gain" in err
    code, _, err = flywheel("policy", "set", "flywheel-demo", "--params", "{not json")
    assert code == 1 and "--params is not valid JSON" in err
    code, _, err = flywheel("approve", "flywheel-demo")
    assert code == 1 and "no challenger waiting" in err
    code, _, err = flywheel("policy", "show", "nope")
    assert code == 1 and "no endpoint named 'nope'" in err


def test_retrain_by_hand_shows_the_decision(flywheel):
    code, out, err = flywheel("retrain", "flywheel-demo", "--wait")
    assert code == 0, err
    assert any(word in out for word in ("refused", "promoted", "awaiting_approval"))
    code, out, _ = flywheel("history", "flywheel-demo", "--json", "--limit", "2")
    triggered, decided = json.loads(out)
    assert triggered["details"]["trigger"] == {"type": "manual"} and decided["job_id"] == triggered["job_id"]
