"""The translator's request and answer: JSON Schemas and the checks behind ``InvalidInput``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiflywheel.errors import InvalidInput

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
    if not isinstance(batch, list):
        raise InvalidInput(f"a batch must be a list of requests (got {type(batch).__name__})")
    return [_one(position, item, max_chars, default_target) for position, item in enumerate(batch)]


def _one(position: int, item: Any, max_chars: int, default_target: str) -> Request:
    where = f"request {position}"
    if not isinstance(item, dict):
        raise InvalidInput(f'{where} must be an object like {{"text": "...", "target": "pt"}} (got {item!r})')
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
            f"{where}: 'text' has {len(text):,} characters, over the limit of {max_chars:,} (the model's max_chars); "
            "translate long documents as a batch job, a paragraph per row"
        )
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
