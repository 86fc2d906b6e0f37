"""Bots for the CLI and REST alike: a definition in, a trained bot served at an endpoint of its name out."""

from __future__ import annotations

from typing import Any

from aiflywheel.kernel.conversations import recent_turns
from aiflywheel.kernel.definitions import run_here, serve, submit_service
from aiflywheel.kernel.endpoints import Endpoint
from aiflywheel.kernel.platform import Platform
from aiflywheel.kernel.registry import ModelVersion
from aiflywheel.kinds.bot.definition import load_definition
from aiflywheel.kinds.bot.kind import utterances
from aiflywheel.kinds.bot.report import Suggestion, suggest_intents
from aiflywheel.kinds.components.embeddings import text_embedder

KIND = "bot"


def create_bot(platform: Platform, name: str, document: dict[str, Any]) -> tuple[ModelVersion, Endpoint]:
    """Validate ``document``, train the bot's NLU on its utterances and serve it at endpoint ``name``.

    The utterances become dataset ``name`` (feedback adds to it); the model and endpoint are
    also named ``name``. Updating a bot trains a new version and makes it the champion.
    """
    texts, intents = utterances(load_definition(document))
    rows = [{"text": text, "intent": intent} for text, intent in zip(texts, intents, strict=True)]
    job = submit_service(platform, KIND, name, rows, {"definition": document})
    return serve(platform, run_here(platform, job))


def unrecognised(platform: Platform, name: str, turns: int = 5000, min_count: int = 2) -> tuple[int, list[Suggestion]]:
    """The bot's newest ``turns`` turns that fell back, grouped into suggested intents; and how many fell back."""
    texts = [
        row.get("text", "")
        for _, row, output in recent_turns(platform.engine, platform.project_id, name, turns)
        if isinstance(row, dict) and isinstance(output, dict) and output.get("intent") == "fallback"
    ]
    return len(texts), suggest_intents(texts, text_embedder().embed, min_count=min_count)
