"""A bot's definition: parsed from YAML or JSON, validated by ``bot.schema.json``, then checked for meaning.

Every error names the path of the bad field (``intents[2].slots[0].type``) so a user
can find it in their file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from aiflywheel.errors import InvalidInput

BUILT_IN_TYPES = ("number", "date", "time", "duration", "currency", "email", "phone", "country", "city")
CANCEL_INTENT = "cancel"
FALLBACK_INTENT = "fallback"
PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")

DEFAULT_CANCEL_SAMPLES = (
    "cancel",
    "cancel that",
    "never mind",
    "forget it",
    "stop",
    "i changed my mind",
    "i don't want that anymore",
    "abort",
    "nevermind, cancel the request",
    "no thanks, cancel everything",
)
DEFAULT_CANCEL_RESPONSE = "Okay, I've cancelled that."
DEFAULT_FALLBACK_RESPONSE = "Sorry, I didn't understand that. Could you say it another way?"


@dataclass(frozen=True)
class Slot:
    name: str
    type: str
    required: bool = True
    prompt: str | None = None
    reprompt: str | None = None


@dataclass(frozen=True)
class Intent:
    name: str
    samples: tuple[str, ...]
    slots: tuple[Slot, ...] = ()
    confirmation: str | None = None
    declined: str | None = None
    response: str | None = None
    fulfillment: dict[str, Any] | None = None
    input_contexts: tuple[str, ...] = ()
    output_contexts: tuple[tuple[str, int], ...] = ()
    set_attributes: dict[str, Any] = field(default_factory=dict)

    def slot(self, name: str) -> Slot:
        return next(slot for slot in self.slots if slot.name == name)


@dataclass(frozen=True)
class SlotType:
    name: str
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # canonical value -> synonyms
    pattern: str | None = None


@dataclass(frozen=True)
class BotDefinition:
    intents: dict[str, Intent]
    slot_types: dict[str, SlotType]
    fallback_response: str
    cancel_samples: tuple[str, ...]
    cancel_response: str
    session_attributes: dict[str, Any]
    region: str = "US"
    fallback_samples: tuple[str, ...] = ()  # out-of-scope utterances: they place the rejection threshold
    max_attempts: int = 2
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of a bot definition (shipped as ``bot.schema.json``)."""
    return json.loads(files(__package__).joinpath("bot.schema.json").read_text(encoding="utf-8"))


def parse_text(text: str, source: str = "definition") -> dict[str, Any]:
    """YAML or JSON text to a document (JSON is YAML, so one parser reads both)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not valid YAML or JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"{source} must be a mapping with 'intents' at the top")
    return document


def load_definition(document: dict[str, Any]) -> BotDefinition:
    """Validate ``document`` against the schema and its cross-references.

    Raises
    ------
    InvalidInput
        Naming the path of the first bad field and what is wrong with it.
    """
    error = best_match(Draft202012Validator(schema()).iter_errors(document))
    if error is not None:
        raise InvalidInput(f"bot definition {_path(error.absolute_path)}: {error.message}")
    slot_types = {item["name"]: _slot_type(item, index) for index, item in enumerate(document.get("slot_types", []))}
    _unique([item["name"] for item in document.get("slot_types", [])], "slot_types", "slot type")
    clash = set(slot_types) & set(BUILT_IN_TYPES)
    if clash:
        raise InvalidInput(f"bot definition slot_types: {sorted(clash)[0]!r} is a built-in type; pick another name")
    intents = {}
    attributes = set(document.get("session_attributes", {}))
    for item in document["intents"]:
        attributes.update(item.get("set_attributes", {}))
    names = [item["name"] for item in document["intents"]]
    _unique(names, "intents", "intent")
    for index, item in enumerate(document["intents"]):
        if item["name"] in (CANCEL_INTENT, FALLBACK_INTENT):
            raise InvalidInput(
                f"bot definition intents[{index}].name: {item['name']!r} is built in; "
                f"configure it under '{item['name']}'"
            )
        intents[item["name"]] = _intent(item, index, slot_types, attributes)
    cancel = document.get("cancel", {})
    return BotDefinition(
        intents=intents,
        slot_types=slot_types,
        fallback_response=document.get("fallback", {}).get("response", DEFAULT_FALLBACK_RESPONSE),
        cancel_samples=tuple(cancel.get("samples") or DEFAULT_CANCEL_SAMPLES),
        cancel_response=cancel.get("response", DEFAULT_CANCEL_RESPONSE),
        session_attributes=dict(document.get("session_attributes", {})),
        region=document.get("region", "US"),
        max_attempts=document.get("max_attempts", 2),
        fallback_samples=tuple(document.get("fallback", {}).get("samples", ())),
        raw=document,
    )


def _intent(item: dict[str, Any], index: int, slot_types: dict[str, SlotType], attributes: set[str]) -> Intent:
    where = f"intents[{index}]"
    slots = []
    _unique([slot["name"] for slot in item.get("slots", [])], f"{where}.slots", "slot")
    for position, slot in enumerate(item.get("slots", [])):
        if slot["type"] not in BUILT_IN_TYPES and slot["type"] not in slot_types:
            known = ", ".join([*BUILT_IN_TYPES, *slot_types])
            raise InvalidInput(
                f"bot definition {where}.slots[{position}].type: unknown slot type {slot['type']!r}; known: {known}"
            )
        slots.append(
            Slot(**{key: slot[key] for key in ("name", "type", "required", "prompt", "reprompt") if key in slot})
        )
    slot_names = {slot.name for slot in slots}
    for position, sample in enumerate(item["samples"]):
        for name in PLACEHOLDER.findall(sample):
            if name not in slot_names:
                raise InvalidInput(
                    f"bot definition {where}.samples[{position}]: {{{name}}} is not a slot of this intent"
                )
    for key in ("confirmation", "declined", "response"):
        for name in PLACEHOLDER.findall(item.get(key, "")):
            if name not in slot_names and name not in attributes:
                raise InvalidInput(
                    f"bot definition {where}.{key}: {{{name}}} is neither a slot of this intent nor a session attribute"
                )
    return Intent(
        name=item["name"],
        samples=tuple(item["samples"]),
        slots=tuple(slots),
        confirmation=item.get("confirmation"),
        declined=item.get("declined"),
        response=item.get("response"),
        fulfillment=item.get("fulfillment"),
        input_contexts=tuple(item.get("input_contexts", [])),
        output_contexts=tuple(
            (context["name"], context.get("turns", 5)) for context in item.get("output_contexts", [])
        ),
        set_attributes=dict(item.get("set_attributes", {})),
    )


def _slot_type(item: dict[str, Any], index: int) -> SlotType:
    if "pattern" in item:
        try:
            re.compile(item["pattern"])
        except re.error as exc:
            raise InvalidInput(
                f"bot definition slot_types[{index}].pattern: not a valid regular expression: {exc}"
            ) from exc
        return SlotType(item["name"], pattern=item["pattern"])
    values = {}
    for value in item["values"]:
        if isinstance(value, str):
            values[value] = ()
        else:
            values[value["value"]] = tuple(value.get("synonyms", []))
    return SlotType(item["name"], values=values)


def _unique(names: list[str], where: str, what: str) -> None:
    seen = set()
    for index, name in enumerate(names):
        if name in seen:
            raise InvalidInput(f"bot definition {where}[{index}].name: {what} {name!r} is defined twice")
        seen.add(name)


def _path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"
