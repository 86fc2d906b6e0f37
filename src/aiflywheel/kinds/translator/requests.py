"""The translator's request and answer: JSON Schemas and the checks behind ``InvalidInput``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.components.text_requests import checked_object, checked_text, requests_of

LANGUAGE = re.compile(r"^[a-z]{2,3}$")
INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "Text to translate; line breaks, HTML tags and Markdown are kept."},
        "source": {"type": "string", "default": "auto", "description": "ISO 639-1 code, or 'auto' to detect it."},
        "target": {"type": "string", "description": "ISO 639-1 code; the model's default_target when absent."},
    },
    "required": ["text"],
}
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "source": {"type": "string", "description": "The source language, detected when the request said 'auto'."},
        "target": {"type": "string"},
        "engine": {"type": "string", "description": "neural, apertium, or memory when every sentence was remembered."},
        "terms": {"type": "array", "description": "Each terminology entry used, and whether it is in the output."},
        "memory": {"type": "array", "description": "Sentences taken from the translation memory, with similarity."},
    },
}


@dataclass(frozen=True)
class Request:
    text: str
    source: str | None  # None: detect
    target: str


def parse(batch: Any, max_chars: int, default_target: str) -> list[Request]:
    return [_one(position, item, max_chars, default_target) for position, item in enumerate(requests_of(batch))]


def _one(position: int, item: Any, max_chars: int, default_target: str) -> Request:
    where = f"request {position}"
    item = checked_object(position, item, INPUT_SCHEMA, '{"text": "...", "target": "pt"}')
    advice = "; translate long documents as a batch job, a paragraph per row"
    text = checked_text(position, item, max_chars, advice)
    # None is "not given": rows of a dataset (a document job) have every column, some empty.
    source = _language(item.get("source"), f"{where}: 'source'", allow_auto=True)
    target = _language(item.get("target") or default_target, f"{where}: 'target'", allow_auto=False)
    return Request(text, source, target)


def _language(value: Any, where: str, allow_auto: bool) -> str | None:
    if allow_auto and value in (None, "", "auto"):
        return None
    if not isinstance(value, str) or not LANGUAGE.match(value.lower().split("-")[0]):
        raise InvalidInput(f"{where} must be a language code such as 'en' or 'pt' (got {value!r})")
    return value.lower().split("-")[0]  # "pt-BR" -> "pt": the models are per language
