import copy

import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.kernel.kinds import parse_params
from aiflywheel.kinds.bot import BotKind
from aiflywheel.kinds.bot.definition import load_definition, parse_text
from aiflywheel.kinds.bot.example import demo_definition


def broken(change) -> dict:
    document = copy.deepcopy(demo_definition())
    change(document)
    return document


def test_the_demo_definition_is_valid():
    definition = load_definition(demo_definition())
    assert set(definition.intents) == {"order_food", "order_status", "opening_hours", "greet"}
    assert definition.intents["order_food"].slot("dish").type == "dish"
    assert definition.slot_types["order_id"].pattern


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("intents"), "(top level): 'intents' is a required property"),
        (lambda d: d["intents"][0]["slots"][1].update(type="colour"), "intents[0].slots[1].type: unknown slot type"),
        (lambda d: d["intents"][2].update(samples=[]), "intents[2].samples: [] should be non-empty"),
        (lambda d: d["intents"][1].update(name="order_food"), "intents[1].name: intent 'order_food' is defined twice"),
        (lambda d: d["intents"][3]["samples"].append("hi {who}"), "intents[3].samples[5]: {who} is not a slot"),
        (lambda d: d["slot_types"][1].update(pattern="([a-z"), "slot_types[1].pattern: not a valid regular"),
        (lambda d: d["intents"][0].update(fulfillment={"webhook": "ftp://x"}), "intents[0].fulfillment"),
        (lambda d: d["intents"][0].update(colour="red"), "intents[0]: Additional properties are not allowed"),
        (lambda d: d["intents"][0].update(name="cancel"), "intents[0].name: 'cancel' is built in"),
        (lambda d: d["fallback"].update(samples="the weather"), "fallback.samples: 'the weather' is not of type"),
        (lambda d: d["fallback"].update(samples=["ok", ""]), "fallback.samples[1]: '' should be non-empty"),
    ],
)
def test_an_invalid_definition_names_the_path_of_the_bad_field(change, message):
    with pytest.raises(InvalidInput) as error:
        load_definition(broken(change))
    assert message in str(error.value)


def test_kind_params_reject_a_bad_definition_with_its_path():
    with pytest.raises(InvalidInput, match=r"definition: .*intents\[0\]\.slots\[0\]\.type"):
        parse_params(BotKind(), {"definition": broken(lambda d: d["intents"][0]["slots"][0].update(type="x"))})


def test_yaml_and_json_text_both_parse_and_garbage_is_rejected():
    assert parse_text('{"intents": []}') == {"intents": []}
    assert parse_text("intents:\n  - name: a\n") == {"intents": [{"name": "a"}]}
    with pytest.raises(InvalidInput, match="not valid YAML or JSON"):
        parse_text("intents: [a, b")
    with pytest.raises(InvalidInput, match="must be a mapping"):
        parse_text("- just a list")
