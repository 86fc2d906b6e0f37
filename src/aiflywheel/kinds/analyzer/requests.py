"""The analyzer's request and answer: JSON Schemas and the checks behind ``InvalidInput``."""

from __future__ import annotations

from typing import Any

from aiflywheel.errors import InvalidInput

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "The text to analyse."},
        "language": {"type": "string", "description": "ISO 639-1 code; detected when absent or 'auto'."},
    },
    "required": ["text"],
}
_SCORES = {"type": "object", "additionalProperties": {"type": "number"}}
_SPAN = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "type": {"type": "string"},
        "start": {"type": "integer"},
        "end": {"type": "integer", "description": "Character offset after the span (Python slicing)."},
    },
}
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "language": {"type": "string"},
        "language_confidence": {"type": "number"},
        "sentiment": {"type": "object", "properties": {"label": {"type": "string"}, "scores": _SCORES}},
        "entities": {"type": "array", "items": _SPAN},
        "key_phrases": {"type": "array", "items": {"type": "string"}},
        "pii": {"type": "array", "items": _SPAN},
        "redacted": {"type": "string", "description": "The text with each PII span replaced by [EMAIL], [PHONE]..."},
        "category": {
            "type": "object",
            "description": "The custom classifier's label and scores (when the model was trained on labelled texts).",
            "properties": {"label": {"type": "string"}, "scores": _SCORES},
        },
    },
}


def parse(batch: Any, max_chars: int) -> list[tuple[str, str | None]]:
    """(text, language or None) per request; a 4xx names the request and the field."""
    if not isinstance(batch, list):
        raise InvalidInput(f"a batch must be a list of requests (got {type(batch).__name__})")
    return [_one(position, item, max_chars) for position, item in enumerate(batch)]


def _one(position: int, item: Any, max_chars: int) -> tuple[str, str | None]:
    where = f"request {position}"
    if not isinstance(item, dict):
        raise InvalidInput(f'{where} must be an object like {{"text": "..."}} (got {item!r})')
    unknown = set(item) - set(INPUT_SCHEMA["properties"])
    if unknown:
        raise InvalidInput(f"{where} has unknown fields {sorted(unknown)}; known: {sorted(INPUT_SCHEMA['properties'])}")
    text = item.get("text")
    if not isinstance(text, str):
        raise InvalidInput(f"{where}: 'text' must be a string (got {text!r})")
    if not text.strip():
        raise InvalidInput(f"{where}: 'text' is empty")
    if len(text) > max_chars:
        raise InvalidInput(
            f"{where}: 'text' has {len(text):,} characters, over the limit of {max_chars:,} (the model's max_chars)"
        )
    language = item.get("language")
    if language is not None and not isinstance(language, str):
        raise InvalidInput(f"{where}: 'language' must be a string such as 'en' (got {language!r})")
    return text, None if language in (None, "", "auto") else language.lower()
