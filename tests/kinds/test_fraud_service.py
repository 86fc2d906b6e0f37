"""The fraud kind served for real: events through the REST endpoint, bad events as 4xx, and later labels
turned by the flywheel into a retrained, promoted detector."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.flywheel import FlywheelLoop
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.keys import Keys
from aiflywheel.kernel.predictions import FeedbackRequest, PredictionLog
from aiflywheel.kernel.registry import Stage
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import execute
from aiflywheel.kinds.fraud.example import PARAMS, make_events

pytestmark = pytest.mark.slow
BASE_EVENTS = 200  # the first champion sees a week or so: too little to know each customer
HOLDOUT_EVENTS = 160


@pytest.fixture(scope="module")
def events():
    return make_events(customers=16, days=30)


@pytest.fixture
def service(platform, tmp_path, events):
    serving = serving_of(platform, tmp_path / "models", platform.prediction_log.start())
    for name, rows in (("cards-base", events.iloc[:BASE_EVENTS]), ("cards-holdout", events.iloc[-HOLDOUT_EVENTS:])):
        rows.to_csv(tmp_path / f"{name}.csv", index=False)
        platform.datasets.create(name, tmp_path / f"{name}.csv")
    job = platform.train("fraud", "cards-base", PARAMS, model="cards")
    run(platform, job.id)
    assert platform.jobs.get(job.id).error is None, platform.jobs.get(job.id).error
    platform.endpoints.deploy("cards")
    key, _ = Keys(platform.engine).create("writer", "default", "tests")
    http = TestClient(create_app(platform, serving), raise_server_exceptions=False)
    yield serving, http, {"Authorization": f"Bearer {key}"}
    http.close()
    serving.close()


def serving_of(platform, folder, log):
    return Serving(platform.engine, platform.artifacts, platform.kinds, folder, log, route_seconds=0.0)


def run(platform, job_id=None):
    while (job := platform.all_jobs().claim("test:1", job_id=job_id)) is not None:
        execute(platform, job)
        if job_id is not None:
            break


def test_an_event_is_scored_through_the_endpoint(service, events):
    _, http, auth = service
    event = events.iloc[BASE_EVENTS].drop(labels=["is_fraud"]).to_dict()
    response = http.post("/v1/endpoints/cards/invocations", json={"instances": [event]}, headers=auth)
    assert response.status_code == 200, response.text
    (prediction,) = response.json()["predictions"]
    assert set(prediction) == {"score", "outcome", "rules", "explanations"}
    assert 0 <= prediction["score"] <= 1 and prediction["outcome"] in ("approve", "review", "block")
    assert prediction["explanations"] and {"variable", "contribution"} == set(prediction["explanations"][0])


@pytest.mark.parametrize(
    "event, words",
    [
        ({"ts": "2026-02-01T10:00:00"}, "required variable 'customer'"),
        ({"customer": "c1", "ts": "2026-02-01T10:00:00", "amount": "lots"}, "variable 'amount'"),
        ({"customer": "c1", "ts": "2026-02-01T10:00:00", "event_type": "signup"}, "unknown event type 'signup'"),
    ],
)
def test_a_bad_event_is_a_4xx_naming_the_variable(service, event, words):
    _, http, auth = service
    response = http.post("/v1/endpoints/cards/invocations", json={"instances": [event]}, headers=auth)
    assert 400 <= response.status_code < 500, response.text
    assert words in response.text


def test_a_restarted_server_scores_an_entity_with_the_history_it_served(platform, service, tmp_path):
    serving, http, auth = service
    card = {"customer": "c-restart", "amount": 60.0, "email": "user5@post.fr", "channel": "web"}
    probe = {**card, "ts": "2026-03-12T22:10:00", "country": "FR", "ip": "10.2.0.2"}
    burst = [{**card, "ts": f"2026-03-12T22:0{minute}:00", "country": "FR", "ip": "10.2.0.2"} for minute in (0, 4, 8)]

    def score(client, instances):
        response = client.post("/v1/endpoints/cards/invocations", json={"instances": instances}, headers=auth)
        assert response.status_code == 200, response.text
        return response.json()["predictions"]

    (unknown,) = score(http, [probe])  # the first payment of the card
    score(http, burst)  # three earlier payments minutes apart
    (remembered,) = score(http, [probe])
    assert remembered != unknown  # the same event, now seen after the burst
    serving.close()  # a clean stop, as `flywheel up` does on SIGTERM: the prediction log is written

    restarted = serving_of(platform, tmp_path / "models-after-restart", PredictionLog(platform.engine).start())
    try:
        with TestClient(create_app(platform, restarted)) as client:
            (after_restart,) = score(client, [probe])
    finally:
        restarted.close()
    assert after_restart == remembered


def test_later_labels_retrain_and_promote_a_detector_that_knows_the_customers(platform, service, events):
    serving, _, _ = service
    platform.flywheel.set_policy(
        "cards",
        {"triggers": {"every_n_labels": 50}, "promotion": {"holdout_dataset": "cards-holdout", "min_samples": 100}},
    )
    traffic = events.iloc[BASE_EVENTS:-HOLDOUT_EVENTS]
    instances = traffic.drop(columns=["is_fraud"]).to_dict("records")
    ids = []
    for offset in range(0, len(instances), 25):
        ids += serving.invoke(platform.project_id, "cards", instances[offset : offset + 25]).result(30).prediction_ids
    for number, (prediction_id, label) in enumerate(zip(ids, traffic["is_fraud"], strict=True)):
        platform.feedback.send(FeedbackRequest(prediction_id=prediction_id, event_id=f"e{number}", label=int(label)))

    (message,) = FlywheelLoop(platform).tick()
    assert "new labelled predictions" in message
    run(platform)
    failed = [job.error for job in platform.jobs.list() if job.error]
    assert failed == []
    decision = [e for e in platform.flywheel.history("cards") if e.type not in ("policy_set", "triggered")][-1]
    assert decision.type == EventType.PROMOTED, decision.reason
    offline = decision.details["offline"]
    assert offline["metric"] == "pr_auc"
    assert offline["challenger"]["pr_auc"] > offline["champion"]["pr_auc"]
    assert platform.models.champion("cards").version == 2
    assert platform.models.get("cards", 1).stage == Stage.ARCHIVED
    training = platform.datasets.version("cards.training")
    assert training.source["feedback_rows"] > 0
