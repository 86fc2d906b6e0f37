"""The bot's predictor: one text turn per row, NLU for the whole batch at once, then the dialog per row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiflywheel.errors import InvalidInput
from aiflywheel.kinds.bot.definition import BotDefinition, load_definition
from aiflywheel.kinds.bot.dialog import Dialog, allowed_intents, new_session
from aiflywheel.kinds.bot.nlu import IntentClassifier
from aiflywheel.kinds.bot.slots import extractor
from aiflywheel.kinds.components.embeddings import text_embedder

MAX_TEXT = 1000


class BotPredictor:
    """``predict([{"text", "session"?, "session_id"?}])`` → one reply (intent, slots, dialog state, message) each."""

    def __init__(self, definition: BotDefinition, classifier: IntentClassifier):
        self.definition = definition
        self.classifier = classifier
        types = {slot.type for intent in definition.intents.values() for slot in intent.slots}
        self.extractors = {name: extractor(name, definition.slot_types, definition.region) for name in types}
        self.dialog = Dialog(definition, self.extractors)

    def warm(self) -> None:
        """Run every extractor once: the parsers load their tables on first use (seconds), not on a user's turn."""
        for find in self.extractors.values():
            find("tomorrow at 7pm, 2 pizzas for 10 dollars to Paris, France")

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not batch:
            return []
        texts, sessions = [], []
        for row, item in enumerate(batch):
            text, session = _parse(row, item)
            texts.append(text)
            sessions.append(session or new_session(self.definition))
        allowed = [allowed_intents(self.definition, session) | {"fallback"} for session in sessions]
        ranked = self.classifier.rank(texts, allowed=allowed)
        replies = []
        for item, text, answer, session in zip(batch, texts, ranked, sessions, strict=True):
            if answer.intent == "fallback":  # a trained "fallback" class (from feedback) means out of scope
                answer = type(answer)(None, answer.confidence, answer.score, answer.ranking)
            turn = self.dialog.turn(text, answer, session, item.get("session_id"))
            replies.append(turn.as_output())
        return replies

    def save(self, folder: Path) -> None:
        (folder / "definition.json").write_text(json.dumps(self.definition.raw, indent=1), encoding="utf-8")
        self.classifier.save(folder)  # the shared embedding model is never copied

    @classmethod
    def load(cls, folder: Path) -> BotPredictor:
        definition = load_definition(json.loads((folder / "definition.json").read_text(encoding="utf-8")))
        classifier = IntentClassifier.load(folder, text_embedder().embed)
        predictor = cls(definition, classifier)
        predictor.warm()
        return predictor


def _parse(row: int, item: Any) -> tuple[str, dict[str, Any] | None]:
    if not isinstance(item, dict):
        raise InvalidInput(f"instances[{row}]: expected an object with 'text', got {type(item).__name__}")
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"instances[{row}].text: a non-empty string is required")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"instances[{row}].text: at most {MAX_TEXT} characters (got {len(text)})")
    session = item.get("session")
    if session is not None and not isinstance(session, dict):
        raise InvalidInput(f"instances[{row}].session: expected an object, got {type(session).__name__}")
    session_id = item.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise InvalidInput(f"instances[{row}].session_id: expected a string")
    return text.strip(), session
