import pytest

from aiflywheel.kinds.bot.definition import SlotType
from aiflywheel.kinds.bot.slots import extractor


@pytest.mark.parametrize(
    ("type_name", "text", "value"),
    [
        ("number", "i want twenty one cokes", 21),
        ("number", "2 pizzas", 2),
        ("time", "deliver it at 7pm", "19:00"),
        ("time", "8:30", "08:30"),
        ("duration", "for 2 hours", 7200),
        ("currency", "send 25.50 euros to bob", {"amount": 25.5, "currency": "EUR"}),
        ("currency", "it costs $12", {"amount": 12.0, "currency": "USD"}),
        ("email", "mail me at Bob@Example.com", "bob@example.com"),
        ("phone", "call me on (415) 555-2671", "+14155552671"),
        ("country", "i live in france", "France"),
        ("city", "a flight to new york", "New York City"),
    ],
)
def test_built_in_types_use_the_fields_parsers(type_name, text, value):
    spans = extractor(type_name, {})(text)
    assert spans and spans[0].value == value


def test_a_date_is_an_iso_date_and_a_bare_number_is_not_a_date():
    assert len(extractor("date", {})("deliver it tomorrow")[0].value) == 10
    assert extractor("date", {})("2 pizzas") == []


def test_custom_types_match_values_synonyms_and_plurals_or_a_pattern():
    types = {
        "dish": SlotType("dish", values={"pizza": ("margherita",), "burger": ("cheeseburger",)}),
        "code": SlotType("code", pattern=r"\b[A-Z]{2}\d{4}\b"),
    }
    dishes = extractor("dish", types)("two Margheritas and a cheeseburger")
    assert [span.value for span in dishes] == ["pizza", "burger"]
    assert extractor("dish", types)("sushi") == []
    assert extractor("code", types)("where is AB1234?")[0].value == "AB1234"
