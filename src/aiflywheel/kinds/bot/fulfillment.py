"""Fulfilment: an HTTP webhook or a Python callable registered under the entry-point group below.

Both receive one JSON-able request and may answer with a mapping that overrides the
reply::

    {"intent": "order_food", "slots": {...}, "session_attributes": {...}, "text": "...", "session_id": "..."}
    -> {"message": "...", "session_attributes": {...}, "slots": {...}, "failed": false}

A callable is declared by a plug-in package::

    [project.entry-points."aiflywheel.bot_fulfillment"]
    place-order = "my_shop.bot:place_order"

A failing fulfilment never fails the turn: the dialog state becomes ``Failed`` and the
error is the turn's ``fulfillment_error``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

import httpx

ENTRY_POINT_GROUP = "aiflywheel.bot_fulfillment"


@dataclass(frozen=True)
class Fulfilled:
    answer: dict[str, Any]
    error: str | None = None


def fulfil(config: dict[str, Any], request: dict[str, Any]) -> Fulfilled:
    """Call the webhook or entry point named in ``config``; errors are returned, not raised."""
    try:
        if "webhook" in config:
            response = httpx.post(config["webhook"], json=request, timeout=config.get("timeout_seconds", 5))
            response.raise_for_status()
            answer = response.json() if response.content else {}
        else:
            answer = entry_point(config["entry_point"])(request) or {}
    except (httpx.HTTPError, ValueError) as exc:
        return Fulfilled({}, f"fulfilment failed: {exc}")
    except Exception as exc:  # a user's callable may raise anything: the conversation must go on
        return Fulfilled({}, f"fulfilment {config.get('entry_point')!r} raised {type(exc).__name__}: {exc}")
    if not isinstance(answer, dict):
        return Fulfilled({}, f"fulfilment answered {type(answer).__name__}, expected a JSON object")
    return Fulfilled(answer)


@lru_cache(maxsize=64)
def entry_point(name: str) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """The callable registered as ``name`` in group ``aiflywheel.bot_fulfillment``."""
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            return entry.load()
    known = ", ".join(sorted(entry.name for entry in entry_points(group=ENTRY_POINT_GROUP))) or "none"
    raise ValueError(f"no fulfilment entry point named {name!r} in group {ENTRY_POINT_GROUP}; installed: {known}")


def available(name: str) -> bool:
    return any(entry.name == name for entry in entry_points(group=ENTRY_POINT_GROUP))
