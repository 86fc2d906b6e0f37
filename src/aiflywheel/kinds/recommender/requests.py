"""One prediction request of a recommender, parsed and checked: what is asked, for whom, with which filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiflywheel.errors import InvalidInput

MAX_N = 1000
MAX_LIST = 10_000
_KEYS = {
    "user_id",
    "item_id",
    "candidates",
    "recent_items",
    "n",
    "exclude_seen",
    "exclude_items",
    "include_categories",
    "exclude_categories",
    "available_only",
}

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Top-n for a user ({user_id}), related items ({item_id}), re-ranking ({user_id, candidates}); "
    "recent_items are new events of the user, folded in at once and remembered by the serving process.",
    "properties": {
        "user_id": {"type": ["string", "integer"]},
        "item_id": {"type": ["string", "integer"], "description": "Items related to this one."},
        "candidates": {"type": "array", "items": {"type": ["string", "integer"]}, "description": "Re-rank these."},
        "recent_items": {
            "type": "array",
            "description": "The user's newest events, oldest first: item ids, or objects "
            "{item_id, event_type?, event_value?}.",
        },
        "n": {"type": "integer", "minimum": 1, "maximum": MAX_N, "default": 10},
        "exclude_seen": {"type": "boolean", "default": True},
        "exclude_items": {"type": "array", "items": {"type": ["string", "integer"]}},
        "include_categories": {"type": "array", "items": {"type": "string"}},
        "exclude_categories": {"type": "array", "items": {"type": "string"}},
        "available_only": {"type": "boolean", "default": True},
    },
    "additionalProperties": False,
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "item_id": {"type": "string"},
                    "score": {"type": ["number", "null"], "description": "null: a candidate the model does not know"},
                    "source": {"enum": ["collaborative", "content", "popularity", "unknown"]},
                },
            },
        }
    },
}


@dataclass
class Event:
    item: str
    event_type: str | None = None
    value: float | None = None


@dataclass
class Request:
    user: str | None = None
    item: str | None = None
    candidates: list[str] | None = None
    recent: list[Event] = field(default_factory=list)
    n: int | None = None  # None: 10, or every candidate when re-ranking
    exclude_seen: bool = True
    exclude_items: list[str] = field(default_factory=list)
    include_categories: list[str] | None = None
    exclude_categories: list[str] = field(default_factory=list)
    available_only: bool = True

    @property
    def count(self) -> int:
        return 10 if self.n is None else self.n

    @property
    def mode(self) -> str:
        if self.item is not None:
            return "related"
        return "rerank" if self.candidates is not None else "user"


def parse(row: Any, position: int) -> Request:
    """Check one input; ``InvalidInput`` names the row and the field."""
    where = f"row {position}"
    if not isinstance(row, dict):
        raise InvalidInput(f"{where}: each input must be an object, got {type(row).__name__}")
    unknown = sorted(set(row) - _KEYS)
    if unknown:
        raise InvalidInput(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(_KEYS))}"
        )
    request = Request(
        user=_id(row.get("user_id"), where, "user_id"),
        item=_id(row.get("item_id"), where, "item_id"),
        n=None if row.get("n") is None else _int(row["n"], where, "n"),
        exclude_seen=_bool(row.get("exclude_seen", True), where, "exclude_seen"),
        available_only=_bool(row.get("available_only", True), where, "available_only"),
    )
    if "candidates" in row:
        request.candidates = _ids(row["candidates"], where, "candidates")
    request.recent = [_event(value, where) for value in _list(row.get("recent_items", []), where, "recent_items")]
    request.exclude_items = _ids(row.get("exclude_items", []), where, "exclude_items")
    if "include_categories" in row:
        request.include_categories = _strings(row["include_categories"], where, "include_categories")
    request.exclude_categories = _strings(row.get("exclude_categories", []), where, "exclude_categories")
    if request.item is not None and (request.user is not None or request.candidates is not None or request.recent):
        raise InvalidInput(
            f"{where}: item_id (related items) cannot be combined with user_id, candidates or recent_items"
        )
    if request.item is None and request.user is None and not request.recent:
        raise InvalidInput(f"{where}: give user_id (recommendations), item_id (related items) or recent_items")
    if request.candidates is not None and request.user is None and not request.recent:
        raise InvalidInput(f"{where}: candidates are re-ranked for a user; give user_id or recent_items")
    return request


def _id(value: Any, where: str, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(f"{where}: {name} must be a string or an integer, got {value!r}")
    text = str(value)
    if not text.strip():
        raise InvalidInput(f"{where}: {name} is empty")
    return text


def _list(value: Any, where: str, name: str) -> list:
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: {name} must be a list, got {type(value).__name__}")
    if len(value) > MAX_LIST:
        raise InvalidInput(f"{where}: {name} has {len(value)} entries; at most {MAX_LIST} are allowed")
    return value


def _ids(value: Any, where: str, name: str) -> list[str]:
    return [_id(item, where, name) or "" for item in _list(value, where, name)]


def _strings(value: Any, where: str, name: str) -> list[str]:
    values = _list(value, where, name)
    if not all(isinstance(item, str) for item in values):
        raise InvalidInput(f"{where}: {name} must be a list of strings")
    return values


def _int(value: Any, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_N:
        raise InvalidInput(f"{where}: {name} must be an integer from 1 to {MAX_N}, got {value!r}")
    return value


def _bool(value: Any, where: str, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}: {name} must be true or false, got {value!r}")
    return value


def _event(value: Any, where: str) -> Event:
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"item_id", "event_type", "event_value"})
        if unknown:
            raise InvalidInput(f"{where}: recent_items entries take item_id, event_type, event_value; got {unknown}")
        item = _id(value.get("item_id"), where, "recent_items[].item_id")
        if item is None:
            raise InvalidInput(f"{where}: each recent_items object needs an item_id")
        kind = value.get("event_type")
        if kind is not None and not isinstance(kind, str):
            raise InvalidInput(f"{where}: recent_items[].event_type must be a string, got {kind!r}")
        number = value.get("event_value")
        if number is not None and (isinstance(number, bool) or not isinstance(number, int | float) or number < 0):
            raise InvalidInput(f"{where}: recent_items[].event_value must be a number of 0 or more, got {number!r}")
        return Event(item, kind, None if number is None else float(number))
    return Event(_id(value, where, "recent_items[]") or "")
