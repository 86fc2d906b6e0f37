"""The analyzer's request and answer: JSON Schemas and the checks behind ``InvalidInput``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.text_requests import checked_object, checked_text, requests_of

# What an answer can hold beside the language; "pii" includes the redacted text, "category" needs a trained model.
FEATURES = ("sentiment", "entities", "key_phrases", "pii", "category")

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "The text to analyse."},
        "language": {"type": "string", "description": "ISO 639-1 code; detected when absent or 'auto'."},
        "features": {
            "type": "array",
            "items": {"enum": list(FEATURES)},
            "description": "Only these parts of the analysis (default: all); the others are not computed.",
        },
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


@dataclass(frozen=True)
class Request:
    text: str
    language: str | None  # None: detect
    features: frozenset[str] | None  # None: everything this model does


def parse(batch: Any, max_chars: int) -> list[Request]:
    """The requests, checked; a 4xx names the request and the field."""
    return [_one(position, item, max_chars) for position, item in enumerate(requests_of(batch))]


def _one(position: int, item: Any, max_chars: int) -> Request:
    item = checked_object(position, item, INPUT_SCHEMA, '{"text": "..."}')
    text = checked_text(position, item, max_chars)
    language = item.get("language")
    if language is not None and not isinstance(language, str):
        raise InvalidInput(f"request {position}: 'language' must be a string such as 'en' (got {language!r})")
    features = item.get("features")
    if features is not None and (
        not isinstance(features, list) or not features or not all(f in FEATURES for f in features)
    ):
        raise InvalidInput(
            f"request {position}: 'features' must be a non-empty list of {list(FEATURES)} (got {features!r})"
        )
    language = None if language in (None, "", "auto") else language.lower()
    return Request(text, language, None if features is None else frozenset(features))
