"""The flywheel's state machine with real models: trigger → train → evaluate → promote or archive → rollback."""

from __future__ import annotations

import time

import pytest

import aiflywheel.kernel.flywheel as flywheel_module
from aiflywheel.errors import Conflict
from aiflywheel.kernel.clock import now
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.flywheel.policies import write_state
from aiflywheel.kernel.jobs import JobState
from aiflywheel.kernel.registry import Stage

pytestmark = pytest.mark.slow

HOLDOUT = {"holdout_dataset": "cancer-holdout", "min_samples": 50}


def test_new_labels_trigger_a_retrain_that_promotes_a_better_model(scenario, platform):
    scenario.deploy()
    platform.flywheel.set_policy("cancer", {"triggers": {"every_n_labels": 200}, "promotion": HOLDOUT})
    scenario.traffic(40, 150)
    assert scenario.turn() == []  # 150 labels: not yet
    scenario.traffic(190, 100)
    (message,) = scenario.turn()
    assert "250 new labelled predictions" in message

    promoted = scenario.decisions()[-1]
    assert promoted.type == EventType.PROMOTED, promoted.reason
    assert (promoted.champion, promoted.challenger) == ("cancer:1", "cancer:2")
    offline = promoted.details["offline"]
    assert offline["metric"] == "roc_auc" and offline["gain"] > 0.001
    assert offline["challenger"]["roc_auc"] > offline["champion"]["roc_auc"]
    assert offline["rows"] == 150 + 62  # the holdout, and the newest quarter of the feedback
    champion = platform.models.champion("cancer")
    assert champion.version == 2 and champion.parent_version_id == platform.models.get("cancer", 1).id
    assert platform.models.get("cancer", 1).stage == Stage.ARCHIVED

    training = platform.datasets.version("cancer.training")
    assert champion.dataset == training.ref and training.row_count == 40 + 188
    assert training.source["base"] == "cancer-base:1" and training.source["feedback_rows"] == 188
    assert training.parent_version_id == platform.datasets.version("cancer-base").id
    triggered = [e for e in scenario.history() if e.type == EventType.TRIGGERED]
    assert triggered[-1].details["trigger"] == {"type": "labels", "new_labels": 250, "every_n_labels": 200}
    assert platform.flywheel.status("cancer").new_labels == 0


def test_a_challenger_short_of_the_minimum_gain_is_archived_with_the_reason(scenario, platform):
    scenario.deploy()
    platform.flywheel.set_policy("cancer", {"promotion": {**HOLDOUT, "min_gain": 0.5}})
    scenario.traffic(40, 120)
    platform.flywheel.retrain("cancer")
    assert scenario.run() == [JobState.SUCCEEDED]
    refused = scenario.decisions()[-1]
    assert refused.type == EventType.REFUSED
    assert "needs a gain of at least 0.5" in refused.reason and "roc_auc" in refused.reason
    assert platform.models.get("cancer", 2).stage == Stage.ARCHIVED
    assert platform.models.champion("cancer").version == 1


def test_too_few_evaluation_rows_refuse_rather_than_guess(scenario, platform):
    scenario.deploy()
    platform.flywheel.set_policy("cancer", {"promotion": {"min_samples": 500}})
    scenario.traffic(40, 60)
    platform.flywheel.retrain("cancer")
    scenario.run()
    refused = scenario.decisions()[-1]
    assert refused.type == EventType.REFUSED
    assert "has 15 rows; the rule needs at least 500" in refused.reason


def test_a_winner_waits_for_approval_and_blocks_retrains_meanwhile(scenario, platform):
    scenario.deploy()
    platform.flywheel.set_policy(
        "cancer", {"triggers": {"every_n_labels": 50}, "promotion": {**HOLDOUT, "approval": "manual"}}
    )
    scenario.traffic(40, 200)
    scenario.turn()
    waiting = scenario.decisions()[-1]
    assert waiting.type == EventType.AWAITING_APPROVAL, waiting.reason
    assert platform.models.challenger("cancer").version == 2
    scenario.traffic(240, 60)
    assert scenario.turn() == []  # 60 more labels, but a winner is waiting
    approved = platform.flywheel.approve("cancer")
    assert approved.type == EventType.PROMOTED and "approved by hand" in approved.reason
    assert platform.models.champion("cancer").version == 2
    with pytest.raises(Conflict, match="no challenger waiting"):
        platform.flywheel.reject("cancer")


def test_bad_labels_promote_a_worse_model_and_live_truth_rolls_it_back(scenario, platform, cancer):
    scenario.deploy(base_rows=150)
    platform.flywheel.set_policy(
        "cancer",
        {"promotion": {"min_samples": 20, "rollback_margin": 0.02, "rollback_min_samples": 100}},
    )
    # A labelling bug: every label sent is the opposite of the truth, and the evaluation feedback agrees with it.
    flipped = ["benign" if label == "malignant" else "malignant" for label in cancer[TARGET].iloc[150:350]]
    scenario.traffic(150, 200, labels=flipped)
    platform.flywheel.retrain("cancer")
    scenario.run()
    assert scenario.decisions()[-1].type == EventType.PROMOTED
    assert platform.models.champion("cancer").version == 2
    scenario.traffic(350, 120)  # the truth, live
    scenario.turn()
    rolled = scenario.decisions()[-1]
    assert rolled.type == EventType.ROLLED_BACK, rolled.reason
    assert "rolled back to cancer:1" in rolled.reason
    online = rolled.details["online"]
    assert online["rows"] == 120 and online["gain"] < -0.02
    assert platform.models.champion("cancer").version == 1
    assert platform.models.get("cancer", 2).stage == Stage.ARCHIVED


def test_a_split_trial_judges_the_challenger_on_live_feedback(scenario, platform):
    scenario.deploy()
    platform.flywheel.set_policy(
        "cancer",
        {"promotion": {**HOLDOUT, "online": "split", "online_share": 0.5, "online_min_samples": 20}},
    )
    scenario.traffic(40, 200)
    platform.flywheel.retrain("cancer")
    scenario.run()
    trial = scenario.decisions()[-1]
    assert trial.type == EventType.TRIAL_STARTED, trial.reason
    endpoint = platform.endpoints.get("cancer")
    assert (endpoint.config.challenger_mode, endpoint.config.challenger_share) == ("split", 0.5)
    scenario.traffic(240, 150, batch=1)
    scenario.turn()
    judged = scenario.decisions()[-1]
    assert judged.type in (EventType.PROMOTED, EventType.REFUSED)
    assert judged.details["mode"] == "split" and judged.details["online"]["rows"] >= 20
    assert "offline" in judged.details
    assert platform.endpoints.get("cancer").config.challenger_mode == "off"
    assert platform.flywheel.status("cancer").state.trial is None


def test_a_crash_after_training_resumes_without_a_second_model_or_decision(scenario, platform, monkeypatch):
    scenario.deploy()
    platform.flywheel.set_policy("cancer", {"promotion": HOLDOUT})
    scenario.traffic(40, 120)
    job = platform.flywheel.retrain("cancer")
    claimed = platform.all_jobs().claim("dead:1", job_id=job.id)

    class PowerCut(BaseException):
        pass

    def cut(*args, **kwargs):
        raise PowerCut

    from aiflywheel.kernel.flywheel import retrain
    from aiflywheel.kernel.worker import JobProgress

    monkeypatch.setattr(retrain, "compare", cut)
    with pytest.raises(PowerCut):
        retrain.run_retrain(platform, claimed, JobProgress(platform.all_jobs(), job.id))
    assert platform.models.get("cancer", 2).stage == Stage.CANDIDATE  # trained, registered, not decided
    monkeypatch.undo()

    (recovered,) = platform.all_jobs().recover(is_alive=lambda worker: False)
    assert recovered.state == JobState.QUEUED
    assert scenario.run() == [JobState.SUCCEEDED]
    assert [v.version for v in platform.models.list("cancer")] == [1, 2]
    assert len(platform.datasets.versions("cancer.training")) == 1
    decisions = scenario.decisions()
    assert len(decisions) == 1 and decisions[0].job_id == job.id
    assert {v.stage for v in platform.models.list("cancer")} <= {Stage.CHAMPION, Stage.ARCHIVED}


def test_a_failed_retrain_is_recorded_and_frees_the_endpoint(scenario, platform):
    scenario.deploy()
    platform.flywheel.set_policy("cancer", {"recipe": {"base_dataset": "no-such-dataset"}})
    job = platform.flywheel.retrain("cancer")
    with pytest.raises(Conflict, match="already has flywheel job"):
        platform.flywheel.retrain("cancer")
    scenario.run()
    assert platform.jobs.get(job.id).state == JobState.FAILED
    (message,) = scenario.turn()
    failed = scenario.history()[-1]
    assert failed.type == EventType.FAILED and "no-such-dataset" in failed.reason
    assert platform.flywheel.status("cancer").job is None
    platform.flywheel.retrain("cancer")  # free again


TARGET = "diagnosis"


def test_input_drift_triggers_a_retrain_naming_the_feature(scenario, platform, cancer):
    scenario.deploy(base_rows=250)
    off = {"every_n_labels": None, "drift_threshold": 0.5, "drift_window": 200, "drift_check_every": "1s"}
    platform.flywheel.set_policy("cancer", {"triggers": off})
    rows = cancer.drop(columns=[TARGET]).iloc[250:450].to_dict("records")
    scenario.serving.invoke(platform.project_id, "cancer", rows).result(timeout=30)
    assert scenario.loop.tick() == []  # the same population
    status = platform.flywheel.status("cancer")
    assert status.state.last_drift["score"] < 0.5 and status.state.last_drift["rows"] == 200

    shifted = [{**row, "mean radius": row["mean radius"] * 3} for row in rows]
    scenario.serving.invoke(platform.project_id, "cancer", shifted).result(timeout=30)
    platform.flywheel.set_policy("cancer", {"triggers": {"drift_check_every": "1s"}})
    time.sleep(1.1)
    (message,) = scenario.loop.tick()
    assert "input drift: psi" in message and "'mean radius'" in message
    trigger = scenario.history()[-1].details["trigger"]
    assert trigger["type"] == "drift" and trigger["feature"] == "mean radius" and trigger["score"] > 0.5


def test_a_schedule_triggers_a_retrain(scenario, platform):
    scenario.deploy()
    platform.flywheel.set_policy(
        "cancer", {"triggers": {"every_n_labels": None, "drift_threshold": None, "schedule": "1s"}}
    )
    time.sleep(1.1)
    (message,) = scenario.loop.tick()
    assert message.startswith("cancer: scheduled (every 1 s): retrain job")
    assert scenario.loop.tick() == []  # the retrain is in flight


def test_a_retrain_by_hand_that_meets_the_loops_write_is_decided_again(scenario, platform, monkeypatch):
    scenario.deploy()
    policies = platform.flywheel.policies
    read = policies.ensure
    writes = []

    def read_then_the_loop_writes(endpoint):
        view = read(endpoint)
        if len(writes) < 2:  # the loop records a drift check between the person's read and write, twice
            with platform.engine.begin() as conn:
                writes.append(write_state(conn, view, view.state.model_copy(update={"last_drift_check_at": now()})))
        return view

    monkeypatch.setattr(policies, "ensure", read_then_the_loop_writes)
    job = platform.flywheel.retrain("cancer")
    assert len(writes) == 2
    state = platform.flywheel.status("cancer").state
    assert state.job_id == job.id and state.last_drift_check_at is not None
    cancelled = [j for j in platform.jobs.list() if j.id != job.id and j.type == job.type]
    assert cancelled and all(j.state == JobState.CANCELLED for j in cancelled)

    writes.clear()
    monkeypatch.setattr(flywheel_module, "MANUAL_ATTEMPTS", 2)
    scenario.run()
    with pytest.raises(Conflict, match="changed meanwhile"):
        platform.flywheel.retrain("cancer")
