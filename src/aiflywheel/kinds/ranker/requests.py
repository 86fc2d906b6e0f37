"""The ranker's request and answer: JSON Schemas and the checks behind ``InvalidInput``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiflywheel.errors import InvalidInput

MAX_K = 1000

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "What the person typed."},
        "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10},
        "filters": {
            "type": "object",
            "description": 'Per attribute: a value, a list of values, or a range {"gte": 1, "lt": 9}.',
        },
        "facets": {"type": "array", "items": {"type": "string"}, "description": "Attributes to count values of."},
    },
    "required": ["query"],
}
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"doc_id": {"type": "string"}, "score": {"type": "number"}},
            },
        },
        "note": {"type": "string", "description": "Why the results are empty (empty or unmatched query)."},
        "corrected": {"type": "object", "description": "Words read as another indexed word (typos)."},
        "facets": {"type": "object", "description": "attribute -> value -> count among the matches."},
    },
}


@dataclass
class Request:
    query: str
    k: int
    filters: Any
    facets: Any


def parse(batch: Any) -> list[Request]:
    if not isinstance(batch, list):
        raise InvalidInput(f"a batch must be a list of requests (got {type(batch).__name__})")
    return [_one(position, item) for position, item in enumerate(batch)]


def _one(position: int, item: Any) -> Request:
    where = f"request {position}"
    if not isinstance(item, dict):
        raise InvalidInput(f'{where} must be an object like {{"query": "...", "k": 10}} (got {item!r})')
    unknown = set(item) - set(INPUT_SCHEMA["properties"])
    if unknown:
        raise InvalidInput(f"{where} has unknown fields {sorted(unknown)}; known: {sorted(INPUT_SCHEMA['properties'])}")
    query = item.get("query")
    if query is None:
        query = ""
    if not isinstance(query, str):
        raise InvalidInput(f"{where}: 'query' must be a string (got {query!r})")
    k = item.get("k", 10)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"{where}: 'k' must be an integer from 1 to {MAX_K} (got {k!r})")
    return Request(query, k, item.get("filters"), item.get("facets"))
