"""Bots over REST: create from a definition, talk in sessions that outlive the serving process, bad input 4xx."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from aiflywheel.errors import NotFound
from aiflywheel.interfaces.rest import create_app
from aiflywheel.kernel.flywheel import FlywheelLoop
from aiflywheel.kernel.flywheel.events import EventType
from aiflywheel.kernel.keys import Keys
from aiflywheel.kernel.kinds import KindRegistry
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.registry import Stage
from aiflywheel.kernel.serving import Serving
from aiflywheel.kernel.worker import execute
from aiflywheel.kinds.bot.example import demo_definition
from aiflywheel.settings import Settings


def serving_for(platform: Platform, home) -> Serving:
    return Serving(platform.engine, platform.artifacts, platform.kinds, home / "cache", platform.prediction_log)


@pytest.fixture(scope="module")
def bots(tmp_path_factory, module_store_url):
    home = tmp_path_factory.mktemp("bots") / "home"
    settings = Settings.build(home=home, store=module_store_url, executor="thread", workers=1, environ={})
    platform = Platform(settings, KindRegistry.from_entry_points())
    platform.prediction_log.start()
    serving = serving_for(platform, home)
    key = Keys(platform.engine).create("writer", "default", "bots")[0]
    http = TestClient(create_app(platform, serving), raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {key}"
    created = http.put("/v1/bots/food", content=yaml.safe_dump(demo_definition()),
                       headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert created.status_code == 201, created.text
    yield platform, http, home, key, created.json()
    http.close()
    serving.close()
    platform.close()


def say(http: TestClient, session: str, text: str, bot: str = "food") -> dict:
    answer = http.post(f"/v1/bots/{bot}/text", json={"session_id": session, "text": text})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_create_trains_and_serves_the_bot(bots):
    _, _, _, _, created = bots
    assert created["endpoint"]["name"] == "food"
    assert created["model_version"]["stage"] == "champion"
    assert created["model_version"]["metrics"]["accuracy"] > 0.8


def test_a_conversation_keeps_its_state_across_requests_and_serving_processes(bots):
    platform, http, home, key, _ = bots
    first = say(http, "alice", "i'd like to order 2 pizzas")
    assert first["dialog_state"] == "ElicitSlot" and first["slot_to_elicit"] == "delivery_time"
    assert say(http, "bob", "hello")["intent"] == "greet"  # another session does not disturb alice's
    # A second app with its own serving runtime (what another process would have) carries on alice's order.
    other_serving = serving_for(platform, home)
    with TestClient(create_app(platform, other_serving)) as other:
        other.headers["Authorization"] = f"Bearer {key}"
        second = say(other, "alice", "at 7pm")
    other_serving.close()
    assert second["dialog_state"] == "ConfirmIntent" and second["turn"] == 2
    done = say(http, "alice", "yes")
    assert done["dialog_state"] == "Fulfilled" and done["slots"]["delivery_time"] == "19:00"


def test_every_turn_is_logged_and_takes_feedback(bots):
    platform, http, *_ = bots
    reply = say(http, "carol", "i fancy some noodles")
    platform.prediction_log.flush()
    logged = platform.prediction_log.get(platform.project_id, reply["prediction_id"])
    assert logged.input["text"] == "i fancy some noodles"
    feedback = http.post(
        "/v1/feedback", json={"prediction_id": reply["prediction_id"], "event_id": "fix-1", "label": "order_food"}
    )
    assert feedback.status_code in (200, 201), feedback.text


def test_ending_a_session_starts_afresh(bots):
    _, http, *_ = bots
    say(http, "dave", "i want to order food")
    assert http.delete("/v1/bots/food/sessions/dave").status_code == 204
    assert say(http, "dave", "hello")["turn"] == 1
    assert http.delete("/v1/bots/food/sessions/nobody").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "message"),
    [
        ("POST", "/v1/bots/food/text", {"json": {"session_id": "x", "text": ""}}, 400, "text: a non-empty string"),
        ("POST", "/v1/bots/food/text", {"json": {"session_id": "a b", "text": "hi"}}, 400, "session_id 'a b'"),
        ("POST", "/v1/bots/food/text", {"json": {"text": "hi"}}, 400, "session_id: Field required"),
        ("POST", "/v1/bots/nobot/text", {"json": {"session_id": "x", "text": "hi"}}, 404, "nobot"),
        ("PUT", "/v1/bots/broken", {"json": {"intents": [{"name": "a", "samples": []}]}}, 400, "intents[0].samples"),
        (
            "PUT",
            "/v1/bots/broken",
            {"content": b"intents: [", "headers": {"Content-Type": "application/yaml"}},
            400,
            "not valid YAML",
        ),  # fmt: skip
        (
            "PUT",
            "/v1/bots/broken",
            {"content": b"[1]", "headers": {"Content-Type": "application/json"}},
            400,
            "JSON object",
        ),  # fmt: skip
        ("PUT", "/v1/bots/bad name", {"json": demo_definition()}, 400, "name"),
    ],
)
def test_bad_input_is_a_4xx_naming_what_is_wrong(bots, method, path, kwargs, status, message):
    platform, http, *_ = bots
    answer = http.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert message in answer.text
    with pytest.raises(NotFound, match="broken"):
        platform.datasets.get("broken")  # nothing half-written


def test_unrecognised_utterances_are_grouped_into_suggested_intents(bots):
    platform, http, *_ = bots
    weather = ["what's the weather like tomorrow", "will it rain today", "is it going to rain this weekend"]
    jokes = ["tell me a joke", "tell me a funny joke", "do you know any good jokes"]
    for number, text in enumerate(weather + jokes):
        assert say(http, f"lost-{number}", text)["intent"] == "fallback", text
    platform.prediction_log.flush()
    report = http.get("/v1/bots/food/unrecognised", params={"min_count": 2})
    assert report.status_code == 200, report.text
    groups = {frozenset(s["examples"]) for s in report.json()["suggestions"]}
    assert frozenset(weather) in groups and frozenset(jokes) in groups
    assert http.get("/v1/bots/nobot/unrecognised").status_code == 404


CORRECTIONS = [  # what users said that the first bot got wrong (fallback or another intent), corrected by feedback
    ("howdy", "greet"),
    ("yo", "greet"),
    ("sup", "greet"),
    ("grub please", "order_food"),
    ("can i still get something at midnight", "opening_hours"),
    ("is the kitchen still going", "opening_hours"),
    ("do you deliver late at night", "opening_hours"),
    ("ring you after ten", "opening_hours"),
]
HOLDOUT = [  # other people's words for the same things, and the bot's own: what both versions are judged on
    ("howdy folks", "greet"),
    ("sup mate", "greet"),
    ("some grub please", "order_food"),
    ("can i still get food at midnight", "opening_hours"),
    ("is the kitchen still open", "opening_hours"),
    ("do you deliver late", "opening_hours"),
    ("i would like to order a pizza", "order_food"),
    ("i'm so hungry", "order_food"),
    ("when are you open", "opening_hours"),
    ("open on christmas", "opening_hours"),
    ("hello", "greet"),
    ("good evening all", "greet"),
]


def test_corrected_intents_retrain_a_challenger_that_is_promoted_and_then_answers_them(bots, tmp_path):
    """The whole flywheel on a bot: turns, corrected intents as feedback, a policy-triggered retrain on them,
    champion and challenger judged on a labelled holdout, promotion, and the served bot answering right."""
    platform, http, *_ = bots
    pd.DataFrame(HOLDOUT, columns=["text", "intent"]).to_csv(tmp_path / "holdout.csv", index=False)
    platform.datasets.create("food-holdout", tmp_path / "holdout.csv")
    platform.flywheel.set_policy(
        "food",
        {
            "triggers": {"every_n_labels": len(CORRECTIONS)},
            "promotion": {"holdout_dataset": "food-holdout", "min_samples": len(HOLDOUT), "recent_feedback_share": 0},
        },
    )
    wrong = 0
    for number, (text, intent) in enumerate(CORRECTIONS):
        reply = say(http, f"fix-{number}", text)
        wrong += reply["intent"] != intent
        sent = http.post(
            "/v1/feedback", json={"prediction_id": reply["prediction_id"], "event_id": f"fw-{number}", "label": intent}
        )
        assert sent.status_code in (200, 201), sent.text
    assert wrong >= len(CORRECTIONS) - 2  # the first bot really did not know these
    platform.prediction_log.flush()

    (message,) = FlywheelLoop(platform).tick()
    assert "new labelled predictions" in message
    while (job := platform.all_jobs().claim("tests:bots")) is not None:
        execute(platform, job)
        assert platform.jobs.get(job.id).error is None, platform.jobs.get(job.id).error

    decision = [e for e in platform.flywheel.history("food") if e.type not in ("policy_set", "triggered")][-1]
    assert decision.type == EventType.PROMOTED, decision.reason
    offline = decision.details["offline"]
    assert offline["rows"] == len(HOLDOUT) and offline["metric"] == "accuracy"
    assert offline["challenger"]["accuracy"] > offline["champion"]["accuracy"]
    champion = platform.models.champion("food")
    assert champion.version == 2 and platform.models.get("food", 1).stage == Stage.ARCHIVED
    training = platform.datasets.version(decision.details["training_set"].rpartition(":")[0])
    rows = platform.datasets.training_data(training).to_pandas()
    assert set(CORRECTIONS) <= {(row.text, row.intent) for row in rows.itertuples()}  # feedback became data

    http.app.state.api.serving.forget_routes()  # what the route cache does by itself within a second
    for number, (text, intent) in enumerate(CORRECTIONS):
        answer = say(http, f"after-{number}", text)
        assert (answer["intent"], answer["model_version"]) == (intent, "food:2"), text


@pytest.fixture(scope="module")
def voice(bots):
    """The asr and tts services beside the food bot, as `flywheel up` provisions them."""
    platform, http, *_ = bots
    for service in ("asr", "tts"):
        platform.install(service, {}, model=service)
        platform.endpoints.deploy(service)
    return http


def test_a_spoken_turn_is_heard_by_asr_answered_and_spoken_by_tts(voice):
    spoken = voice.post(
        "/v1/endpoints/tts/invocations", json={"instances": [{"text": "I'd like to order two pizzas."}]}
    )
    assert spoken.status_code == 200, spoken.text
    audio = spoken.json()["predictions"][0]["audio"]
    answer = voice.post("/v1/bots/food/audio", json={"session_id": "speaker", "audio": audio, "format": "mp3"})
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert "pizza" in reply["transcript"].lower()
    assert reply["intent"] == "order_food" and reply["dialog_state"] == "ElicitSlot" and reply["turn"] == 1
    assert reply["media_type"] == "audio/mpeg" and len(reply["audio"]) > 1000
    assert {reply["prediction_id"], reply["transcript_prediction_id"], reply["speech_prediction_id"]} != {None}
    assert say(voice, "speaker", "at 7pm")["turn"] == 2, "a spoken turn and a typed one share the session"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"session_id": "erin", "audio": "bm90IGF1ZGlv"}, "audio"),
        ({"session_id": "erin", "audio": ""}, "audio"),
        ({"session_id": "erin", "audio": "bm90IGF1ZGlv", "asr_endpoint": "nowhere"}, "nowhere"),
    ],
)
def test_a_bad_spoken_turn_is_a_4xx_naming_the_problem(voice, body, message):
    answer = voice.post("/v1/bots/food/audio", json=body)
    assert 400 <= answer.status_code < 500 and message in answer.text
