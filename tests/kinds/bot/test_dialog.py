"""The demo bot end to end: NLU, slots and multi-turn dialog on a real trained model."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.bot.example import demo_definition

from .conftest import train_bot


def test_elicit_confirm_and_fulfil_an_order(talk):
    replies = talk("i want to order food", "two pizzas please", "7pm", "yes")
    assert [r["dialog_state"] for r in replies] == ["ElicitSlot", "ElicitSlot", "ConfirmIntent", "Fulfilled"]
    assert replies[0]["slot_to_elicit"] == "dish"
    assert replies[1]["slots"] == {"dish": "pizza", "quantity": 2}
    assert replies[2]["message"] == "So that's 2 pizza at 19:00. Shall I place the order?"
    assert "Flywheel Pizza" in replies[3]["message"]  # a session attribute in the response


def test_slots_in_the_first_utterance_skip_their_prompts(talk):
    first = talk("can i get 3 burgers at 8pm")[0]
    assert first["intent"] == "order_food"
    assert first["slots"] == {"dish": "burger", "quantity": 3, "delivery_time": "20:00"}
    assert first["dialog_state"] == "ConfirmIntent"


def test_declining_or_cancelling_ends_the_intent(talk):
    assert talk("can i get 3 burgers at 8pm", "no")[-1]["dialog_state"] == "Cancelled"
    cancelled = talk("i want to order food", "cancel", "hello")
    assert cancelled[1]["intent"] == "cancel" and cancelled[1]["dialog_state"] == "Cancelled"
    assert cancelled[2]["intent"] == "greet"


def test_a_wrong_answer_is_reprompted_then_the_dialog_gives_up(talk):
    replies = talk("i want to order food", "something green and tasty", "umm, whatever")
    assert replies[1]["message"].startswith("Sorry, we only have")
    assert replies[2]["dialog_state"] == "Failed"


def test_contexts_gate_intents_and_attributes_carry_over(talk):
    before = talk("where is my order")[0]
    assert before["intent"] != "order_status"  # needs the context an order sets
    after = talk("can i get 2 salads at 7pm", "yes", "where is my order")[-1]
    assert after["intent"] == "order_status"
    assert after["message"] == "Your salad is in the oven and will be with you soon."


def test_out_of_scope_utterances_fall_back(talk):
    replies = talk("what is the capital of peru", "how do i change a car tyre")
    assert [r["intent"] for r in replies] == ["fallback", "fallback"]
    assert replies[0]["message"].startswith("Sorry, I can only take food orders")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"text": ""}, r"instances\[0\]\.text: a non-empty string"),
        ({"text": 5}, r"instances\[0\]\.text"),
        ({"text": "hi", "session": "x"}, r"instances\[0\]\.session: expected an object"),
        ("hi", r"instances\[0\]: expected an object"),
        ({"text": "x" * 1001}, "at most 1000 characters"),
    ],
)
def test_bad_turns_are_rejected_naming_the_field(food_bot, row, message):
    with pytest.raises(InvalidInput, match=message):
        food_bot.predict([row])


class Kitchen(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - the name http.server calls
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Kitchen.received.append(request)
        body = json.dumps({"message": f"Order {len(Kitchen.received)} placed: {request['slots']['dish']}",
                           "session_attributes": {"order_id": "AB1234"}}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_webhook_fulfils_the_intent_and_a_dead_one_fails_the_turn_not_the_call(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), Kitchen)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        definition = demo_definition()
        definition["intents"][0]["fulfillment"] = {"webhook": f"http://127.0.0.1:{server.server_port}/order"}
        bot = train_bot(tmp_path / "hook", definition)
        reply = bot.predict([{"text": "can i get 2 pizzas at 7pm"}])[0]
        done = bot.predict([{"text": "yes please", "session": reply["session"]}])[0]
        assert done["dialog_state"] == "Fulfilled" and done["message"] == "Order 1 placed: pizza"
        assert Kitchen.received[-1]["intent"] == "order_food"
        assert done["session"]["attributes"]["order_id"] == "AB1234"
    finally:
        server.shutdown()
        server.server_close()
    failed = bot.predict([{"text": "yes", "session": reply["session"]}])[0]
    assert failed["dialog_state"] == "Failed" and failed["fulfillment_error"].startswith("fulfilment failed")


def test_an_entry_point_callable_fulfils_the_intent(tmp_path, monkeypatch):
    # A real plug-in on sys.path: a module and the dist-info that declares its entry point.
    (tmp_path / "pizza_shop.py").write_text(
        "def place(request):\n"
        "    return {'message': 'Shop got ' + str(request['slots']['quantity']) + ' ' + request['slots']['dish']}\n"
    )
    info = tmp_path / "pizza_shop-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pizza-shop\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[aiflywheel.bot_fulfillment]\npizza-shop-place = pizza_shop:place\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    definition = demo_definition()
    definition["intents"][0].pop("confirmation")
    definition["intents"][0]["fulfillment"] = {"entry_point": "pizza-shop-place"}
    bot = train_bot(tmp_path / "shop", definition)
    done = bot.predict([{"text": "can i get 2 pizzas at 7pm"}])[0]
    assert done["dialog_state"] == "Fulfilled" and done["message"] == "Shop got 2 pizza"
    definition["intents"][0]["fulfillment"] = {"entry_point": "no-such-plugin"}
    missing = train_bot(tmp_path / "missing", definition).predict([{"text": "can i get 2 pizzas at 7pm"}])[0]
    assert missing["dialog_state"] == "Failed" and "no-such-plugin" in missing["fulfillment_error"]
