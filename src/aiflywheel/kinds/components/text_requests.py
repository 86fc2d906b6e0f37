"""Checks shared by the kinds whose requests carry a ``text``: the batch, each object, and the text itself.

Every failure is ``InvalidInput`` (a 400) naming the request's position and the field.
"""

from __future__ import annotations

from typing import Any

from aiflywheel.errors import InvalidInput


def requests_of(batch: Any) -> list[Any]:
    if not isinstance(batch, list):
        raise InvalidInput(f"a batch must be a list of requests (got {type(batch).__name__})")
    return batch


def checked_object(position: int, item: Any, schema: dict[str, Any], example: str) -> dict[str, Any]:
    """The request as a dict with only the schema's fields; ``example`` shows a valid one in the error."""
    if not isinstance(item, dict):
        raise InvalidInput(f"request {position} must be an object like {example} (got {item!r})")
    known = sorted(schema["properties"])
    unknown = set(item) - set(known)
    if unknown:
        raise InvalidInput(f"request {position} has unknown fields {sorted(unknown)}; known: {known}")
    return item


def checked_text(position: int, item: dict[str, Any], max_chars: int, advice: str = "") -> str:
    """The request's non-empty ``text`` of at most ``max_chars`` characters."""
    where = f"request {position}"
    text = item.get("text")
    if not isinstance(text, str):
        raise InvalidInput(f"{where}: 'text' must be a string (got {text!r})")
    if not text.strip():
        raise InvalidInput(f"{where}: 'text' is empty")
    if len(text) > max_chars:
        raise InvalidInput(
            f"{where}: 'text' has {len(text):,} characters, over the limit of {max_chars:,} (the model's max_chars)"
            + advice
        )
    return text
